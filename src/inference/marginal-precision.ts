/**
 * S = sigma² V^-1 = (I + Z Lambda Lambda' Z')^-1 of a fitted linear mixed model, and the
 * products and traces of it that Kenward-Roger needs, through the fit's blocked factor
 * (`BlockedSystem`): the first term (most levels) is eliminated level by level and the other
 * terms form the tail, whose Schur complement the fit has factorized. Nothing n x n or q x q is
 * formed; the largest objects are dense in the tail's random effects (t of them: 1,156 for
 * InstEval) or t wide.
 *
 * With S1 = (I + Z1 Sigma1 Z1')^-1 (block-diagonal by the first term's levels) and
 * H = S1 Z2 Lambda2, S = S1 - H G H', where G = (I + Lambda2' Z2' S1 Z2 Lambda2)^-1 is the inverse
 * of the tail's Schur complement. Hence, with E = Z'S1Z (per level, sparse, and dense on the
 * tail) and J = H'Z = Lambda2' Z2' S1 Z, M = Z'SZ = E - J'GJ; no inverse of Lambda is needed,
 * so singular fits are handled as any other. In the relative coordinates of the penalized
 * system, K = (Lambda'Z'Z Lambda + I)^-1 = [D + F G F', -F G; -G F', G] with D the first term's
 * level blocks and F = D Lambda1' Z1'Z2 Lambda2, which gives tr(S²) = n - q + ||K||² and
 * Z'S²Z = M - Y'K²Y for Y = Lambda'Z'Z.
 */
import { ModelError } from '../errors';
import { choleskyInverse, choleskyLower, lowerInverse, symmetrizeFromLower } from '../linalg/dense';
import { KernelMemory } from '../linalg/kernels';
import { observationsByLevel } from '../lmm/first-block';
import type { LinearMixedModel } from '../lmm/model';

/**
 * Sums over the levels l of term r and l' of term s: T[a + kr (b + kr (c + ks d))] =
 * sum M[(l,a),(l',d)] M[(l,b),(l',c)], with M = Z'SZ.
 */
export type PairTensor = Float64Array;

export class MarginalPrecision {
  readonly n: number;
  readonly p: number;
  readonly q: number;
  /** the first random effect of each term (model order, each term level-major) */
  readonly offsets: number[];
  /** tr(S²) */
  readonly traceS2: number;
  private readonly model: LinearMixedModel;
  private readonly k1: number;
  private readonly n1: number;
  private readonly obsStart: Int32Array;
  private readonly obsRows: Int32Array;
  /** per first-term level: Lambda1 D_l Lambda1' (k1 x k1) */
  private readonly levelQ: Float64Array;
  /** CSR by first-term level: its tail rows idx[start[l] .. start[l+1]) and A = Z2'Z1 there (k1 per row) */
  private readonly start: Int32Array;
  private readonly idx: Int32Array;
  private readonly A: Float64Array;
  private readonly t: number;
  /** per tail row: its q index, and for Lambda2 its term and the first row of its level block */
  private readonly tailQ: Int32Array;
  private readonly tailTerm: Int32Array;
  private readonly tailBlock: Int32Array;
  private readonly G: Float64Array;
  /** N = G Lambda2' E22 (t x t) */
  private readonly N: Float64Array;
  /** G J1 (t x n1 k1) */
  private readonly GJ1: Float64Array;
  /** M on the tail's columns, row-major: row u (q order), column j (tail order) at u t + j */
  private readonly Mtail: Float64Array;
  private readonly E11: Float64Array;
  private readonly J1: Float64Array;
  private readonly D: Float64Array;
  private readonly P1: Float64Array;
  /** F G and F N (n1 k1 x t, column-major), for the first-term part of K Y */
  private readonly FG: Float64Array;
  private readonly FN: Float64Array;
  /** per tail row, its entries e of the level lists (rowEntries[rowStart[r] .. rowStart[r+1])) and each entry's level */
  private readonly rowStart: Int32Array;
  private readonly rowEntries: Int32Array;
  private readonly entryLevel: Int32Array;
  /** per first-term level, D_l Lambda1' */
  private readonly DL: Float64Array;

  constructor(model: LinearMixedModel) {
    if (!model.evaluateAt(model.theta)) throw new ModelError('Kenward-Roger: the random-effects system is not positive definite');
    this.model = model;
    const system = model.system;
    const terms = model.terms;
    const n = (this.n = model.n);
    this.p = model.p;
    this.offsets = [];
    let q = 0;
    for (const term of terms) {
      this.offsets.push(q);
      q += term.nlevels * term.k;
    }
    this.q = q;
    const first = terms[0];
    const k1 = (this.k1 = first.k);
    const n1 = (this.n1 = first.nlevels);
    const kk = k1 * k1;
    const lam1 = model.lambda[0];
    ({ start: this.obsStart, rows: this.obsRows } = observationsByLevel(first));
    const t = (this.t = system.tailRe);
    this.tailQ = new Int32Array(t);
    this.tailTerm = new Int32Array(t);
    this.tailBlock = new Int32Array(t);
    for (let ti = 1; ti < terms.length; ti++) {
      const { k, nlevels } = terms[ti];
      for (let l = 0; l < nlevels; l++)
        for (let c = 0; c < k; c++) {
          const r = system.levelRows[ti][l] + c;
          this.tailQ[r] = this.offsets[ti] + l * k + c;
          this.tailTerm[r] = ti;
          this.tailBlock[r] = system.levelRows[ti][l];
        }
    }

    // per first-term level: Z1l'Z1l, the tail rows it touches (whole level blocks) and Z2'Z1l there
    const marker = new Int32Array(t).fill(-1);
    const start = new Int32Array(n1 + 1);
    const rows: number[] = [];
    for (let l = 0; l < n1; l++) {
      const from = rows.length;
      for (let o = this.obsStart[l]; o < this.obsStart[l + 1]; o++) {
        const i = this.obsRows[o];
        for (let ti = 1; ti < terms.length; ti++) {
          const tt = terms[ti];
          const r0 = system.levelRows[ti][tt.codes[i]];
          if (marker[r0] === l) continue;
          for (let c = 0; c < tt.k; c++) {
            marker[r0 + c] = l;
            rows.push(r0 + c);
          }
        }
      }
      const sorted = rows.slice(from).sort((a, b) => a - b);
      rows.splice(from, sorted.length, ...sorted);
      start[l + 1] = rows.length;
    }
    this.start = start;
    this.idx = Int32Array.from(rows);
    const A = (this.A = new Float64Array(rows.length * k1));
    const P1 = (this.P1 = new Float64Array(n1 * kk));
    const position = new Int32Array(t);
    for (let l = 0; l < n1; l++) {
      for (let e = start[l]; e < start[l + 1]; e++) position[this.idx[e]] = e;
      for (let o = this.obsStart[l]; o < this.obsStart[l + 1]; o++) {
        const i = this.obsRows[o];
        for (let b = 0; b < k1; b++) {
          const zb = first.z[i + b * n];
          for (let a = 0; a < k1; a++) P1[l * kk + a + b * k1] += first.z[i + a * n] * zb;
          for (let ti = 1; ti < terms.length; ti++) {
            const tt = terms[ti];
            const r0 = system.levelRows[ti][tt.codes[i]];
            for (let c = 0; c < tt.k; c++) A[position[r0 + c] * k1 + b] += tt.z[i + c * n] * zb;
          }
        }
      }
    }

    // D_l = (Lambda1' P_l Lambda1 + I)^-1, Q_l = Lambda1 D_l Lambda1', E11_l = P_l - P_l Q_l P_l
    this.D = new Float64Array(n1 * kk);
    this.levelQ = new Float64Array(n1 * kk);
    this.E11 = new Float64Array(n1 * kk);
    for (let l = 0; l < n1; l++) {
      const Pl = P1.subarray(l * kk, (l + 1) * kk);
      const H = matmul(transposed(lam1, k1), matmul(Pl, lam1, k1), k1);
      for (let a = 0; a < k1; a++) H[a + a * k1] += 1;
      if (!choleskyLower(H, k1)) throw new ModelError('Kenward-Roger: the random-effects system is not positive definite');
      const Dl = choleskyInverse(H, k1);
      this.D.set(Dl, l * kk);
      const Ql = matmul(lam1, matmul(Dl, transposed(lam1, k1), k1), k1);
      this.levelQ.set(Ql, l * kk);
      const PQP = matmul(Pl, matmul(Ql, Pl, k1), k1);
      for (let c = 0; c < kk; c++) this.E11[l * kk + c] = Pl[c] - PQP[c];
    }

    // E22 = Z2'Z2 - sum_l A_l Q_l A_l', and E21_l = A_l (I - Q_l P_l)
    const E22 = new Float64Array(t * t);
    for (let i = 0; i < n; i++) {
      for (let ti = 1; ti < terms.length; ti++) {
        const ta = terms[ti];
        for (let ca = 0; ca < ta.k; ca++) {
          const ra = system.levelRows[ti][ta.codes[i]] + ca;
          const za = ta.z[i + ca * n];
          for (let tj = 1; tj < terms.length; tj++) {
            const tb = terms[tj];
            for (let cb = 0; cb < tb.k; cb++) E22[ra + (system.levelRows[tj][tb.codes[i]] + cb) * t] += za * tb.z[i + cb * n];
          }
        }
      }
    }
    const E21 = new Float64Array(A.length);
    const AQ = new Float64Array(k1);
    for (let l = 0; l < n1; l++) {
      const Ql = this.levelQ.subarray(l * kk, (l + 1) * kk);
      const R = matmul(Ql, P1.subarray(l * kk, (l + 1) * kk), k1);
      for (let e = start[l]; e < start[l + 1]; e++) {
        for (let b = 0; b < k1; b++) {
          let s = 0;
          let r = A[e * k1 + b];
          for (let a = 0; a < k1; a++) {
            s += A[e * k1 + a] * Ql[a + b * k1];
            r -= A[e * k1 + a] * R[a + b * k1];
          }
          AQ[b] = s;
          E21[e * k1 + b] = r;
        }
        const re = this.idx[e];
        for (let f = start[l]; f < start[l + 1]; f++) {
          let s = 0;
          for (let b = 0; b < k1; b++) s += AQ[b] * A[f * k1 + b];
          E22[re + this.idx[f] * t] -= s;
        }
      }
    }

    // G = W'W, W = L^-1 for the fit's factor L of the tail (its leading t x t block factorizes the Schur complement)
    const products = new SquareProducts(t);
    const W = new Float64Array(t * t);
    lowerInverse(system.tail, t, 0, system.tailSize, W, 0, t);
    this.G = products.lower(W, W);
    symmetrizeFromLower(this.G, t);

    // Jt = Lambda2' E22 (column by column), N = G Jt; J1 = Lambda2' E21 (sparse columns), G J1
    const Jt = Float64Array.from(E22);
    for (let j = 0; j < t; j++) this.lambdaTailTransposed(Jt, j * t);
    // N = G Jt = G'Jt: its lower triangle from G'Jt, its upper from Jt'G
    const lowerN = products.lower(this.G, Jt);
    const upperN = products.lower(Jt, this.G);
    this.N = new Float64Array(t * t);
    const Nt = new Float64Array(t * t);
    for (let j = 0; j < t; j++)
      for (let i = 0; i < t; i++) {
        const v = i >= j ? lowerN[i + j * t] : upperN[j + i * t];
        this.N[i + j * t] = v;
        Nt[j + i * t] = v;
      }
    this.J1 = this.sparseLambdaTail(E21);
    this.GJ1 = this.denseTimesSparse(this.J1);

    // M on the tail's columns: first-term rows E12 - J1'N, tail rows E22 - Jt'N
    const Mtail = (this.Mtail = new Float64Array(q * t));
    for (let l = 0; l < n1; l++)
      for (let a = 0; a < k1; a++) {
        const row = (l * k1 + a) * t;
        for (let e = start[l]; e < start[l + 1]; e++) {
          Mtail[row + this.idx[e]] += E21[e * k1 + a];
          const w = this.J1[e * k1 + a];
          if (w === 0) continue;
          const from = this.idx[e] * t;
          for (let j = 0; j < t; j++) Mtail[row + j] -= w * Nt[from + j];
        }
      }
    const JtN = products.lower(Jt, this.N);
    for (let i = 0; i < t; i++) {
      const row = this.tailQ[i] * t;
      for (let j = 0; j < t; j++) Mtail[row + j] = E22[i + j * t] - (i >= j ? JtN[i + j * t] : JtN[j + i * t]);
    }

    // tr(S²) = n - q + ||K||², ||K||² = ||D + F G F'||² + 2 ||G F'||² + ||G||²
    const Ft = this.sparseLambdaTail(this.fTransposed());
    const GFt = this.denseTimesSparse(Ft);
    this.FG = transposeRectangular(GFt, t, n1 * k1);
    const TK = this.firstBlockTensor(this.D, Ft, this.FG, 1);
    let normK = 0;
    for (let a = 0; a < k1; a++) for (let d = 0; d < k1; d++) normK += TK[a + k1 * (a + k1 * (d + k1 * d))];
    for (const v of GFt) normK += 2 * v * v;
    for (const v of this.G) normK += v * v;
    this.traceS2 = n - q + normK;

    // F N (n1 k1 x t, column-major) from F's sparse rows and N's rows (the columns of Nt)
    const w = n1 * k1;
    const FNrows = new Float64Array(w * t);
    for (let l = 0; l < n1; l++)
      for (let e = start[l]; e < start[l + 1]; e++) {
        const from = this.idx[e] * t;
        for (let a = 0; a < k1; a++) {
          const v = Ft[e * k1 + a];
          if (v === 0) continue;
          const row = (l * k1 + a) * t;
          for (let j = 0; j < t; j++) FNrows[row + j] += v * Nt[from + j];
        }
      }
    this.FN = transposeRectangular(FNrows, t, w);
    // the first-term entries of each tail row (CSC view of the level lists), and D_l Lambda1'
    this.rowStart = new Int32Array(t + 1);
    for (const r of this.idx) this.rowStart[r + 1]++;
    for (let r = 0; r < t; r++) this.rowStart[r + 1] += this.rowStart[r];
    this.rowEntries = new Int32Array(this.idx.length);
    this.entryLevel = new Int32Array(this.idx.length);
    const fill = this.rowStart.slice(0, t);
    for (let l = 0; l < n1; l++)
      for (let e = start[l]; e < start[l + 1]; e++) {
        this.rowEntries[fill[this.idx[e]]++] = e;
        this.entryLevel[e] = l;
      }
    this.DL = new Float64Array(n1 * kk);
    for (let l = 0; l < n1; l++) this.DL.set(matmul(this.D.subarray(l * kk, (l + 1) * kk), transposed(lam1, k1), k1), l * kk);
  }

  /** v <- Lambda2' v on a tail vector at offset `at` (level blocks of the tail's terms). */
  private lambdaTailTransposed(v: Float64Array, at: number): void {
    const terms = this.model.terms;
    for (let r = 0; r < this.t; r++) {
      const ti = this.tailTerm[r];
      const { k } = terms[ti];
      const lam = this.model.lambda[ti];
      const a = r - this.tailBlock[r];
      let s = 0;
      for (let b = a; b < k; b++) s += lam[b + a * k] * v[at + this.tailBlock[r] + b];
      v[at + r] = s;
    }
  }

  /** v <- Lambda2 v on a tail vector. */
  private lambdaTail(v: Float64Array): void {
    const terms = this.model.terms;
    for (let r = this.t - 1; r >= 0; r--) {
      const ti = this.tailTerm[r];
      const { k } = terms[ti];
      const lam = this.model.lambda[ti];
      const a = r - this.tailBlock[r];
      let s = 0;
      for (let b = 0; b <= a; b++) s += lam[a + b * k] * v[this.tailBlock[r] + b];
      v[r] = s;
    }
  }

  /** Lambda2' applied to sparse columns on the first term's level rows (k1 per touched row), as a new array. */
  private sparseLambdaTail(S: Float64Array): Float64Array {
    const k1 = this.k1;
    const out = new Float64Array(S.length);
    const dense = new Float64Array(this.t);
    for (let l = 0; l < this.n1; l++)
      for (let a = 0; a < k1; a++) {
        for (let e = this.start[l]; e < this.start[l + 1]; e++) dense[this.idx[e]] = S[e * k1 + a];
        for (let e = this.start[l]; e < this.start[l + 1]; e++) {
          const r = this.idx[e];
          const ti = this.tailTerm[r];
          const { k } = this.model.terms[ti];
          const lam = this.model.lambda[ti];
          const c = r - this.tailBlock[r];
          let s = 0;
          for (let b = c; b < k; b++) s += lam[b + c * k] * dense[this.tailBlock[r] + b];
          out[e * k1 + a] = s;
        }
        for (let e = this.start[l]; e < this.start[l + 1]; e++) dense[this.idx[e]] = 0;
      }
    return out;
  }

  /** F' = Lambda2' A Lambda1 D before Lambda2' (sparse columns, per level A_l Lambda1 D_l). */
  private fTransposed(): Float64Array {
    const k1 = this.k1;
    const kk = k1 * k1;
    const lam1 = this.model.lambda[0];
    const out = new Float64Array(this.A.length);
    for (let l = 0; l < this.n1; l++) {
      const LD = matmul(lam1, this.D.subarray(l * kk, (l + 1) * kk), k1);
      for (let e = this.start[l]; e < this.start[l + 1]; e++)
        for (let b = 0; b < k1; b++) {
          let s = 0;
          for (let a = 0; a < k1; a++) s += this.A[e * k1 + a] * LD[a + b * k1];
          out[e * k1 + b] = s;
        }
    }
    return out;
  }

  /** G S for sparse columns S on the first term's level rows: t x n1 k1, column-major. */
  private denseTimesSparse(S: Float64Array): Float64Array {
    const { t, k1 } = this;
    const out = new Float64Array(t * this.n1 * k1);
    for (let l = 0; l < this.n1; l++)
      for (let a = 0; a < k1; a++) {
        const col = (l * k1 + a) * t;
        for (let e = this.start[l]; e < this.start[l + 1]; e++) {
          const w = S[e * k1 + a];
          if (w === 0) continue;
          const g = this.idx[e] * t;
          for (let i = 0; i < t; i++) out[col + i] += w * this.G[g + i];
        }
      }
    return out;
  }

  /**
   * For B = diag + sign S'(G S) on the first term's rows (diag: its level blocks; S sparse
   * columns; SG = S'G, n1 k1 x t column-major), the tensor sum over level pairs of B[(l,a),(l',d)] B[(l,b),(l',c)]:
   * level l's rows of B at once, from the rows of (G S)' that its columns touch.
   */
  private firstBlockTensor(diag: Float64Array, S: Float64Array, SG: Float64Array, sign: number): PairTensor {
    const { k1, n1 } = this;
    const kk = k1 * k1;
    const w = n1 * k1;
    const T = new Float64Array(kk * kk);
    const rows = Array.from({ length: k1 }, () => new Float64Array(w));
    for (let l = 0; l < n1; l++) {
      // a level that touches no tail row (a model with one term) has B's row at its own block only
      const local = this.start[l] === this.start[l + 1];
      const [from, to] = local ? [l, l + 1] : [0, n1];
      for (let a = 0; a < k1; a++) {
        const row = rows[a];
        row.fill(0, from * k1, to * k1);
        for (let e = this.start[l]; e < this.start[l + 1]; e++) {
          const v = sign * S[e * k1 + a];
          if (v === 0) continue;
          const from = this.idx[e] * w;
          for (let j = 0; j < w; j++) row[j] += v * SG[from + j];
        }
        for (let d = 0; d < k1; d++) row[l * k1 + d] += diag[l * kk + a + d * k1];
      }
      for (let d = 0; d < k1; d++)
        for (let c = 0; c < k1; c++)
          for (let b = 0; b < k1; b++)
            for (let a = 0; a < k1; a++) {
              const ra = rows[a];
              const rb = rows[b];
              let s = 0;
              for (let j = from; j < to; j++) s += ra[j * k1 + d] * rb[j * k1 + c];
              T[a + k1 * (b + k1 * (c + k1 * d))] += s;
            }
    }
    return T;
  }

  /** The tensor of terms r and s (see `PairTensor`). */
  pairTensor(r: number, s: number): PairTensor {
    const terms = this.model.terms;
    if (s === 0 && r === 0) return this.firstBlockTensor(this.E11, this.J1, transposeRectangular(this.GJ1, this.t, this.n1 * this.k1), -1);
    if (s === 0) throw new Error('pairTensor: the second term must be in the tail');
    const t = this.t;
    const { k: kr, nlevels: nr } = terms[r];
    const { k: ks, nlevels: ns } = terms[s];
    const T = new Float64Array(kr * kr * ks * ks);
    const rowsOf = this.model.system.levelRows[s];
    for (let l = 0; l < nr; l++) {
      const u0 = this.offsets[r] + l * kr;
      for (let l2 = 0; l2 < ns; l2++) {
        const j0 = rowsOf[l2];
        for (let d = 0; d < ks; d++)
          for (let c = 0; c < ks; c++)
            for (let b = 0; b < kr; b++)
              for (let a = 0; a < kr; a++) T[a + kr * (b + kr * (c + ks * d))] += this.Mtail[(u0 + a) * t + j0 + d] * this.Mtail[(u0 + b) * t + j0 + c];
      }
    }
    return T;
  }

  /**
   * Per level of term r summed: the k x k block of Z'S²Z = M - Y'K²Y, where column u of K Y is
   * [f_u; c_u], c_u = G J_u and f_u = D Lambda1' Z1'Z_u - F c_u.
   */
  squareDiagonal(r: number): Float64Array {
    const { k, nlevels } = this.model.terms[r];
    const { t, k1, n1 } = this;
    const kk1 = k1 * k1;
    const w = n1 * k1;
    const out = new Float64Array(k * k);
    const c = Array.from({ length: k }, () => new Float64Array(t));
    const f = Array.from({ length: k }, () => new Float64Array(w));
    for (let l = 0; l < nlevels; l++) {
      const u0 = this.offsets[r] + l * k;
      const rowOf = r === 0 ? -1 : this.model.system.levelRows[r][l];
      // f_u of a first-term level that touches no tail row (a model with one term) is its own block
      const local = r === 0 && this.start[l] === this.start[l + 1];
      const [from, to] = local ? [l * k1, (l + 1) * k1] : [0, w];
      for (let a = 0; a < k; a++) {
        const ca = c[a];
        const fa = f[a];
        if (r === 0) {
          ca.set(this.GJ1.subarray((u0 + a) * t, (u0 + a + 1) * t));
          // F c_u = F G J_u, J_u on the level's tail rows
          fa.fill(0, from, to);
          for (let e = this.start[l]; e < this.start[l + 1]; e++) {
            const v = this.J1[e * k1 + a];
            if (v === 0) continue;
            const at = this.idx[e] * w;
            for (let j = 0; j < w; j++) fa[j] -= v * this.FG[at + j];
          }
          for (let b = 0; b < k1; b++) {
            let s = 0;
            for (let g = 0; g < k1; g++) s += this.DL[l * kk1 + b + g * k1] * this.P1[l * kk1 + g + a * k1];
            fa[l * k1 + b] += s;
          }
        } else {
          const row = rowOf + a;
          ca.set(this.N.subarray(row * t, (row + 1) * t));
          for (let j = 0; j < w; j++) fa[j] = -this.FN[row * w + j];
          // Z1'Z_u: the levels whose lists hold this tail row
          for (let x = this.rowStart[row]; x < this.rowStart[row + 1]; x++) {
            const e = this.rowEntries[x];
            const l1 = this.entryLevel[e];
            for (let b = 0; b < k1; b++) {
              let s = 0;
              for (let g = 0; g < k1; g++) s += this.DL[l1 * kk1 + b + g * k1] * this.A[e * k1 + g];
              fa[l1 * k1 + b] += s;
            }
          }
        }
      }
      for (let b = 0; b < k; b++)
        for (let a = 0; a < k; a++) {
          let m: number;
          if (r === 0) {
            m = this.E11[l * kk1 + a + b * k1];
            for (let e = this.start[l]; e < this.start[l + 1]; e++) m -= this.J1[e * k1 + a] * this.GJ1[(u0 + b) * t + this.idx[e]];
          } else m = this.Mtail[(u0 + a) * t + rowOf + b];
          out[a + b * k] += m - dot(f[a], f[b], from, to) - dot(c[a], c[b]);
        }
    }
    return out;
  }

  /** S v for an n-vector v. */
  apply(v: Float64Array): Float64Array {
    const s1 = this.applyS1(v);
    if (this.t === 0) return s1;
    const h = this.tailCrossproduct(s1);
    this.lambdaTailTransposed(h, 0);
    const g = new Float64Array(this.t);
    for (let j = 0; j < this.t; j++) {
      const w = h[j];
      if (w === 0) continue;
      for (let i = 0; i < this.t; i++) g[i] += this.G[i + j * this.t] * w;
    }
    this.lambdaTail(g);
    const back = this.applyS1(this.tailTimes(g));
    for (let i = 0; i < this.n; i++) s1[i] -= back[i];
    return s1;
  }

  /** S1 v: per first-term level, v_l - Z1l Q_l Z1l' v_l. */
  private applyS1(v: Float64Array): Float64Array {
    const { n, k1 } = this;
    const kk = k1 * k1;
    const z = this.model.terms[0].z;
    const out = Float64Array.from(v);
    const s = new Float64Array(k1);
    for (let l = 0; l < this.n1; l++) {
      s.fill(0);
      for (let o = this.obsStart[l]; o < this.obsStart[l + 1]; o++) {
        const i = this.obsRows[o];
        for (let a = 0; a < k1; a++) s[a] += z[i + a * n] * v[i];
      }
      for (let o = this.obsStart[l]; o < this.obsStart[l + 1]; o++) {
        const i = this.obsRows[o];
        let y = 0;
        for (let a = 0; a < k1; a++) for (let b = 0; b < k1; b++) y += z[i + a * n] * this.levelQ[l * kk + a + b * k1] * s[b];
        out[i] -= y;
      }
    }
    return out;
  }

  /** Calls visit(i, r, z) for every nonzero of Z2: observation i, tail row r, value z. */
  private forEachTailEntry(visit: (i: number, row: number, z: number) => void): void {
    const { terms, system } = this.model;
    for (let ti = 1; ti < terms.length; ti++) {
      const { k, codes, z } = terms[ti];
      const rows = system.levelRows[ti];
      for (let i = 0; i < this.n; i++) for (let c = 0; c < k; c++) visit(i, rows[codes[i]] + c, z[i + c * this.n]);
    }
  }

  /** Z2'v (tail order). */
  private tailCrossproduct(v: Float64Array): Float64Array {
    const out = new Float64Array(this.t);
    this.forEachTailEntry((i, row, z) => (out[row] += z * v[i]));
    return out;
  }

  /** Z2 w for a tail vector w. */
  private tailTimes(w: Float64Array): Float64Array {
    const out = new Float64Array(this.n);
    this.forEachTailEntry((i, row, z) => (out[i] += z * w[row]));
    return out;
  }

  /** Z'v (q order). */
  zCrossproduct(v: Float64Array): Float64Array {
    const out = new Float64Array(this.q);
    this.model.terms.forEach((term, r) => {
      const { k, codes, z } = term;
      for (let i = 0; i < this.n; i++) for (let c = 0; c < k; c++) out[this.offsets[r] + codes[i] * k + c] += z[i + c * this.n] * v[i];
    });
    return out;
  }

  /** Z b for a q-vector b. */
  zTimes(b: ArrayLike<number>): Float64Array {
    const out = new Float64Array(this.n);
    this.model.terms.forEach((term, r) => {
      const { k, codes, z } = term;
      for (let i = 0; i < this.n; i++) for (let c = 0; c < k; c++) out[i] += z[i + c * this.n] * b[this.offsets[r] + codes[i] * k + c];
    });
    return out;
  }
}

function dot(a: Float64Array, b: Float64Array, from = 0, to = a.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += a[i] * b[i];
  return s;
}

/** A B for k x k matrices. */
function matmul(A: ArrayLike<number>, B: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(k * k);
  for (let j = 0; j < k; j++) for (let l = 0; l < k; l++) for (let i = 0; i < k; i++) out[i + j * k] += A[i + l * k] * B[l + j * k];
  return out;
}

function transposed(A: ArrayLike<number>, k: number): Float64Array {
  const out = new Float64Array(k * k);
  for (let j = 0; j < k; j++) for (let i = 0; i < k; i++) out[j + i * k] = A[i + j * k];
  return out;
}

/** The transpose of an r x c matrix (column-major). */
function transposeRectangular(A: Float64Array, r: number, c: number): Float64Array {
  const out = new Float64Array(r * c);
  for (let j = 0; j < c; j++) for (let i = 0; i < r; i++) out[j + i * c] = A[i + j * r];
  return out;
}

/**
 * Products X'Y of t x t matrices by the factorization's SIMD kernel (`crossprod`, the lower
 * triangle), in a kernel memory of their own: X and Y with an even number of rows and a spare
 * column each, then the product.
 */
class SquareProducts {
  private readonly memory: KernelMemory;
  private readonly rp: number;

  constructor(private readonly t: number) {
    this.rp = t + (t & 1);
    this.memory = KernelMemory.allocate(2 * this.rp * (t + 1) + t * t);
  }

  /** The lower triangle of X'Y (t x t, column-major; the strict upper triangle is 0). */
  lower(X: Float64Array, Y: Float64Array): Float64Array {
    const { t, rp } = this;
    const M = this.memory.f64;
    const y = rp * (t + 1);
    const c = 2 * y;
    M.fill(0, 0, c + t * t);
    for (let j = 0; j < t; j++) {
      M.set(X.subarray(j * t, (j + 1) * t), j * rp);
      M.set(Y.subarray(j * t, (j + 1) * t), y + j * rp);
    }
    this.memory.crossprod(c, 0, y, rp, t);
    return M.slice(c, c + t * t).map((v) => -v);
  }
}
