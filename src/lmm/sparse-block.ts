import { solveLower, solveLowerTransposed } from '../linalg/dense';
import { cliqueColumns, type CliqueRunner, type FirstTermCliques } from '../linalg/cliques';
import { factorLevelBlock, observationsByLevel, type FirstBlock, type TailLayout } from './first-block';

/**
 * Models with several terms: per level l of the first term, the rows of the tail that the
 * level touches (other terms' levels it co-occurs with, then X and y) form a sparse column
 * block A21_l; L21_l = Lambda_tail' A21_l lambda L_l^{-T} and L21_l L21_l' is subtracted from
 * the tail on those rows only.
 */
export class SparseFirstBlock implements FirstBlock {
  private readonly k: number;
  /** per level, M_l = Z_l'Z_l, k x k column-major */
  private readonly M: Float64Array;
  /** CSR-like: level l touches tail rows idx[start[l] .. start[l+1]); and their CSC view */
  private readonly start: Int32Array;
  private readonly idx: Int32Array;
  /** the rank updates of its levels (the kernels that apply them: `attach`) */
  readonly cliques: FirstTermCliques;
  /** values of A21, k per touched row */
  private readonly vals: Float64Array;
  /** the kernels of the rank updates, on the factorization's kernel memory, and L21 (k per touched row) where they read it */
  private runner!: CliqueRunner;
  private l21!: Float64Array;
  private readonly factors: Float64Array;
  /** for each tail row: term index (>= 1) and position within its level block, or -1 */
  private readonly rowTerm: Int32Array;
  private readonly rowPos: Int32Array;
  private readonly h: Float64Array;
  private readonly work: Float64Array;
  /** for the gradient: each row of L21 times its level's L_l^{-T} */
  private l21Transformed!: Float64Array;
  /** whether every term of the tail is scalar, and then each tail row's lambda */
  private readonly scalarTail: boolean;
  private readonly rowScale: Float64Array;

  constructor(
    private readonly layout: TailLayout,
    xy: Float64Array,
  ) {
    const term = layout.terms[0];
    const { k, nlevels, codes, z } = term;
    const n = codes.length;
    const m = layout.tailSize;
    const P = layout.p + 1;
    this.k = k;
    this.M = new Float64Array(nlevels * k * k);
    const { start: count, rows: order } = observationsByLevel(term);

    const marker = new Int32Array(m).fill(-1);
    // at most every tail row of every observation, and X and y per level
    const rowsPerObservation = layout.terms.reduce((sum, t, ti) => sum + (ti > 0 ? t.k : 0), 0);
    const touched = new Int32Array(n * rowsPerObservation + nlevels * P);
    this.start = new Int32Array(nlevels + 1);
    let next = 0;
    for (let l = 0; l < nlevels; l++) {
      for (let q = count[l]; q < count[l + 1]; q++) {
        const r = order[q];
        for (let ti = 1; ti < layout.terms.length; ti++) {
          const t = layout.terms[ti];
          const base = layout.levelRows[ti][t.codes[r]];
          for (let c = 0; c < t.k; c++)
            if (marker[base + c] !== l) {
              marker[base + c] = l;
              touched[next++] = base + c;
            }
        }
      }
      for (let j = 0; j < P; j++) touched[next++] = layout.tailRe + j;
      touched.subarray(this.start[l], next).sort();
      this.start[l + 1] = next;
    }
    this.idx = touched.slice(0, next);
    this.vals = new Float64Array(this.idx.length * k);
    this.cliques = { columns: cliqueColumns(this.idx, this.start, m), k };
    this.scalarTail = layout.terms.every((t, ti) => ti === 0 || t.k === 1);
    this.rowScale = new Float64Array(m).fill(1);
    this.factors = new Float64Array(nlevels * k * k);
    const pos = new Int32Array(m);
    for (let l = 0; l < nlevels; l++) {
      for (let q = this.start[l]; q < this.start[l + 1]; q++) pos[this.idx[q]] = q;
      for (let qq = count[l]; qq < count[l + 1]; qq++) {
        const r = order[qq];
        for (let b = 0; b < k; b++) {
          const zb = z[r + b * n];
          if (zb === 0) continue;
          for (let a = 0; a < k; a++) this.M[l * k * k + a + b * k] += z[r + a * n] * zb;
          for (let ti = 1; ti < layout.terms.length; ti++) {
            const t = layout.terms[ti];
            const base = layout.levelRows[ti][t.codes[r]];
            for (let c = 0; c < t.k; c++) this.vals[pos[base + c] * k + b] += t.z[r + c * n] * zb;
          }
          for (let j = 0; j < P; j++) this.vals[pos[layout.tailRe + j] * k + b] += xy[r + j * n] * zb;
        }
      }
    }
    this.rowTerm = new Int32Array(m).fill(-1);
    this.rowPos = new Int32Array(m);
    for (let ti = 1; ti < layout.terms.length; ti++) {
      const t = layout.terms[ti];
      for (let l = 0; l < t.nlevels; l++)
        for (let c = 0; c < t.k; c++) {
          this.rowTerm[layout.levelRows[ti][l] + c] = ti;
          this.rowPos[layout.levelRows[ti][l] + c] = c;
        }
    }
    this.h = new Float64Array(k * k);
    this.work = new Float64Array(Math.max(k * k, 64));
  }

  eliminate(_tail: Float64Array, _m: number): number {
    const k = this.k;
    const term0 = this.layout.terms[0];
    const lam = term0.lambda;
    this.updateRowScale();
    let logdet = 0;
    for (let l = 0; l < term0.nlevels; l++) {
      const ld = factorLevelBlock(lam, this.M, l * k * k, k, this.h, this.work);
      if (!Number.isFinite(ld)) return Infinity;
      logdet += ld;
      this.factors.set(this.h, l * k * k);
      this.levelL21(l, this.start[l]);
    }
    // into the factorization's matrix, which is the tail
    this.runner.subtract();
    return logdet;
  }

  /**
   * L21 at the tail rows the level touches from position qFrom on: Lambda_tail' on the rows of
   * each touched level block of terms 2..m, lambda on the right, then L_l^{-1} on each row.
   */
  private levelL21(l: number, qFrom: number): void {
    const k = this.k;
    const terms = this.layout.terms;
    const lam = terms[0].lambda;
    const w = this.l21;
    const q1 = this.start[l + 1];
    if (k === 1 && this.scalarTail) {
      // scalars throughout (crossed random intercepts): each row's lambda times the level's multiplier
      const scale = lam[0] / this.factors[l];
      for (let q = qFrom; q < q1; q++) w[q] = this.rowScale[this.idx[q]] * this.vals[q] * scale;
      return;
    }
    const factor = this.factors.subarray(l * k * k, (l + 1) * k * k);
    for (let q = qFrom; q < q1; q++) {
      const ti = this.rowTerm[this.idx[q]];
      if (ti < 0) {
        for (let b = 0; b < k; b++) w[q * k + b] = this.vals[q * k + b];
        continue;
      }
      if (this.rowPos[this.idx[q]] !== 0) continue;
      const t = terms[ti];
      const kt = t.k;
      const tl = t.lambda;
      for (let a = 0; a < kt; a++)
        for (let b = 0; b < k; b++) {
          let s = 0;
          for (let c = a; c < kt; c++) s += tl[c + a * kt] * this.vals[(q + c) * k + b];
          w[(q + a) * k + b] = s;
        }
    }
    if (k === 1) {
      // a scalar first term (crossed designs): one multiplier for the level's rows
      const scale = lam[0] / factor[0];
      for (let q = qFrom; q < q1; q++) w[q] *= scale;
      return;
    }
    const row = this.work;
    for (let q = qFrom; q < q1; q++) {
      for (let b = 0; b < k; b++) {
        let s = 0;
        for (let a = b; a < k; a++) s += w[q * k + a] * lam[a + b * k];
        row[b] = s;
      }
      solveLower(factor, k, row);
      for (let b = 0; b < k; b++) w[q * k + b] = row[b];
    }
  }

  /** With scalar tail terms: each tail row's lambda (1 for X and y). */
  private updateRowScale(): void {
    if (!this.scalarTail) return;
    this.layout.terms.forEach((t, ti) => {
      for (let l = 0; ti > 0 && l < t.nlevels; l++) this.rowScale[this.layout.levelRows[ti][l]] = t.lambda[0];
    });
  }

  /** L21 anew at the tail rows from `row` on (the cheap terms' lambda changed; the tail is not touched). */
  refreshL21(row: number): void {
    this.updateRowScale();
    for (let l = 0; l + 1 < this.start.length; l++) {
      let q = this.start[l];
      while (q < this.start[l + 1] && this.idx[q] < row) q++;
      this.levelL21(l, q);
    }
  }

  /** The kernels of the rank updates, with the arrays of L21 and its transformed rows that they read. */
  attach(runner: CliqueRunner): void {
    this.runner = runner;
    this.l21 = runner.w;
    this.l21Transformed = runner.wt;
  }

  /**
   * G_ll = L_l^{-T} (I + W_l' G22 W_l) L_l^{-1}, W_l the level's rows of L21 among the included
   * rows. With each row w of W_l turned into L_l^{-T} w, the sum over levels is that of
   * L_l^{-T} L_l^{-1} plus, over pairs of rows a level touches, g22 times their outer products:
   * accumulated column by column of g22 (the elimination's CSC order), so reads stay in one column.
   */
  addGradientTerms(_g22: Float64Array, _m: number, include: number, v: Float64Array, out: Float64Array, U: Float64Array): void {
    const k = this.k;
    const nlevels = this.layout.terms[0].nlevels;
    const u = this.solve(v);
    for (let l = 0; l < nlevels; l++) for (let b = 0; b < k; b++) for (let a = 0; a < k; a++) U[a + b * k] += u[l * k + a] * u[l * k + b];
    const w = this.l21;
    const wt = this.l21Transformed;
    if (k === 1) {
      // a scalar first term: L_l is the number factors[l]
      for (let l = 0; l < nlevels; l++) {
        const inv = 1 / this.factors[l];
        out[0] += 1 - inv * inv;
        for (let q = this.start[l]; q < this.start[l + 1]; q++) wt[q] = w[q] * inv;
      }
    }
    const Li = new Float64Array(k * k);
    for (let l = 0; k > 1 && l < nlevels; l++) {
      Li.fill(0);
      for (let c = 0; c < k; c++) {
        Li[c + c * k] = 1;
        solveLower(this.factors, k, Li, l * k * k, c * k);
      }
      for (let b = 0; b < k; b++)
        for (let a = 0; a < k; a++) {
          let v = 0;
          for (let c = 0; c < k; c++) v += Li[c + a * k] * Li[c + b * k];
          out[a + b * k] += (a === b ? 1 : 0) - v;
        }
      for (let q = this.start[l]; q < this.start[l + 1]; q++)
        for (let a = 0; a < k; a++) {
          let v = 0;
          for (let c = a; c < k; c++) v += Li[c + a * k] * w[q * k + c];
          wt[q * k + a] = v;
        }
    }
    // from the factorization's inverse, which is g22
    this.runner.trace(include, out);
  }

  solve(v: Float64Array): Float64Array {
    const k = this.k;
    const m = this.layout.tailSize;
    const term0 = this.layout.terms[0];
    // L11 and L21 are those of the last evaluation
    const u = new Float64Array(term0.nlevels * k);
    const rhs = new Float64Array(k);
    const yRow = m - 1;
    if (k === 1) {
      for (let l = 0; l < term0.nlevels; l++) {
        let s = 0;
        for (let q = this.start[l]; q < this.start[l + 1]; q++) {
          const r = this.idx[q];
          s += (r === yRow ? 1 : -v[r]) * this.l21[q];
        }
        u[l] = s / this.factors[l];
      }
      return u;
    }
    for (let l = 0; l < term0.nlevels; l++) {
      rhs.fill(0);
      for (let q = this.start[l]; q < this.start[l + 1]; q++) {
        const r = this.idx[q];
        const coef = r === yRow ? 1 : -v[r];
        for (let b = 0; b < k; b++) rhs[b] += coef * this.l21[q * k + b];
      }
      solveLowerTransposed(this.factors, k, rhs, l * k * k);
      u.set(rhs, l * k);
    }
    return u;
  }

  /** Z_l'y into each level's y row of A21 (the last row each level touches). */
  setResponse(zty: ArrayLike<number>): void {
    const k = this.k;
    for (let l = 0; l + 1 < this.start.length; l++) {
      const q = this.start[l + 1] - 1;
      for (let b = 0; b < k; b++) this.vals[q * k + b] = zty[l * k + b];
    }
  }
}
