import { choleskyInverse, choleskyLower, solveLower, solveLowerTransposed, symmetrizeFromLower } from '../linalg/dense';
import { cliqueColumns, CliqueRunner, FirstTermCliques } from '../linalg/cliques';
import { minimumDegree, range } from '../linalg/ordering';
import { SupernodalCholesky, SupernodeWork } from '../linalg/supernodal';
import { supernodalPool } from '../linalg/supernodal-pool';
import { ReTerm } from './reterm';

/** Tails whose factorization takes fewer multiply-adds than this run on one thread. */
const PARALLEL_MIN_FLOPS = 5e6;

/**
 * The blocked penalized least-squares system of a linear mixed model (Bates et al. 2015;
 * MixedModels.jl's BlockedSparse/L blocks). With Lambda(theta) the relative covariance factor,
 * the lower Cholesky factor L of
 *
 *   [ Lambda'Z'Z Lambda + I   Lambda'Z'X   Lambda'Z'y ]
 *   [ X'Z Lambda              X'X          X'y        ]
 *   [ y'Z Lambda              y'X          y'y        ]
 *
 * gives everything the profiled deviance needs: log|L_Z|^2, log|R_X|^2 and the penalized
 * residual sum of squares (the square of L's last diagonal element).
 *
 * Structure: the first term (most levels) has a block-diagonal Z'Z block (k x k per level); it
 * is eliminated level by level into a "tail" holding the other terms, X and y. The tail is
 * held densely but factorized sparsely (`SupernodalCholesky`), its levels in a minimum-degree
 * order so that crossed factors (InstEval) fill in as little as possible. When the
 * model has a single term, levels with identical Z_l'Z_l share one k x k factorisation
 * (sleepstudy: all 18 subjects; a random intercept: one group per visit count), which is what
 * makes per-voxel fits cheap: the cost per evaluation no longer depends on n or on the number
 * of levels. Without random effects (lm) the system is its tail alone.
 */
export interface Evaluation {
  /** log-determinant of L_Z L_Z' (2 sum log diag over the random-effects rows) */
  logdetZ: number;
  /** log-determinant of R_X' R_X */
  logdetX: number;
  /** penalized residual sum of squares */
  pwrss: number;
}

/**
 * The response-dependent cross-products of a single-term system, for swapping y without
 * rebuilding the theta-independent parts (the whole-brain engine fits one y per voxel).
 */
export interface ResponseProducts {
  /** X'y (p values) */
  xty: ArrayLike<number>;
  /** y'y */
  yty: number;
  /**
   * The y row of each group's S_c[a][b]: at ((c*k + a)*k + b)*P + j, the sum over the group's
   * levels of (Z_l'y)[a] (Z_l'X)[b, j] for j < p and (Z_l'y)[a] (Z_l'y)[b] for j = p (P = p + 1).
   */
  groupY: ArrayLike<number>;
  /** Z_l'y per level (k each, level-major); needed only for the conditional modes (`solve`) */
  zty?: ArrayLike<number>;
}

/** What the response enters a single-term system through: levels, their groups and Z_l'X. */
export interface GroupedStructure {
  k: number;
  /** p + 1 */
  P: number;
  ngroups: number;
  /** group of each level */
  groupOf: Int32Array;
  /** per level l and a < k: (Z_l'[X y])[a, j] at (l*k + a)*P + j; the entries j < p are Z_l'X */
  levelCross: Float64Array;
}

export class BlockedSystem {
  readonly terms: ReTerm[];
  readonly n: number;
  readonly p: number;
  readonly ntheta: number;
  /** dimension of the tail: random effects of terms 2..m, then X, then y */
  readonly tailSize: number;
  /** random-effects rows in the tail */
  readonly tailRe: number;
  /** per term (2..m; entry 0 empty), the tail row of each level's first row */
  private readonly levelRows: Int32Array[];
  private readonly factorization: SupernodalCholesky;
  /** theta-independent tail block [Z2..Zm X y]'[Z2..Zm X y], full symmetric, column-major */
  private readonly a22: Float64Array;
  /** tail work matrix; after `evaluate` its lower triangle holds the tail's Cholesky factor */
  readonly tail: Float64Array;
  /** the factorization's buffers, and threads for a wide tail */
  private readonly work: SupernodeWork;
  private readonly first: FirstBlock;
  /** scratch for L_X^{-1} in unscaledVcov */
  private inverseWork?: Float64Array;
  /**
   * Terms with few rows in a wide tail (see orderTail), whose rows start at tail row cheapFrom:
   * `profileCheap` lets their theta be searched at the cost of the trailing block alone.
   */
  readonly cheapTerms: number[];
  private readonly cheapFrom: number;
  /** after `profileCheap`: the trailing block's Schur complement at unit lambda of the cheap terms, minus I on their rows (full symmetric) */
  private trailing?: Float64Array;
  private trailingWork?: Float64Array;
  private trailingScale?: Float64Array;
  /** per cheap term, its levels' first rows within the trailing block */
  private readonly cheapLevelRows: Int32Array[];
  private leadingLogdet = 0;
  /** per tail row, the lambda of its scalar term (1 for vector terms, X and y) */
  private tailScale?: Float64Array;
  private readonly thetaOffsets: number[];

  constructor(terms: ReTerm[], X: Float64Array, y: Float64Array, p: number) {
    this.terms = terms;
    const n = y.length;
    this.n = n;
    this.p = p;
    this.thetaOffsets = [];
    let nt = 0;
    for (const t of terms) {
      this.thetaOffsets.push(nt);
      nt += t.ntheta;
    }
    this.ntheta = nt;
    const tail = orderTail(terms, p);
    this.levelRows = tail.levelRows;
    this.tailRe = tail.tailRe;
    this.tailSize = tail.tailRe + p + 1;
    this.cheapFrom = tail.cheapFrom;
    this.cheapTerms = terms.map((_, ti) => ti).filter((ti) => ti > 0 && this.levelRows[ti][0] >= tail.cheapFrom);
    this.cheapLevelRows = this.cheapTerms.map((ti) => this.levelRows[ti].map((r) => r - tail.cheapFrom));
    this.factorization = new SupernodalCholesky(this.tailSize, tail.structure, this.cheapTerms.length ? tail.cheapFrom : this.tailSize);
    const xy = new Float64Array(n * (p + 1));
    xy.set(X.subarray(0, n * p));
    xy.set(y, n * p);
    this.a22 = this.buildTailCrossproduct(xy);
    // a big tail (crossed factors with many levels) is factorized on all cores, in shared memory
    const pool = this.factorization.flops >= PARALLEL_MIN_FLOPS ? supernodalPool() : null;
    const sparseFirst = terms.length > 1 ? new SparseFirstBlock(this, xy) : null;
    this.first = sparseFirst ?? (terms.length === 1 ? new GroupedFirstBlock(terms[0], xy, p + 1) : noFirstBlock);
    const cliques = sparseFirst?.cliques;
    this.work = pool ? pool.work(this.factorization, cliques) : this.factorization.work(cliques);
    this.tail = this.work.matrix;
    sparseFirst?.attach(this.work.cliques!);
  }

  /** the tail row of the first row of `level` of term `term` (>= 1) */
  tailRow(term: number, level: number): number {
    return this.levelRows[term][level];
  }

  setTheta(theta: ArrayLike<number>): void {
    this.terms.forEach((t, i) => t.setTheta(theta, this.thetaOffsets[i]));
  }

  /** Factorizes the system at theta; null when it is not numerically positive definite. */
  evaluate(theta: ArrayLike<number>): Evaluation | null {
    this.setTheta(theta);
    const m = this.tailSize;
    const t = this.tail;
    const logdetFirst = this.eliminateFirst();
    if (!Number.isFinite(logdetFirst)) return null;
    if (!this.factorization.factor(this.work)) return null;
    let logdetZ = logdetFirst;
    for (let i = 0; i < this.tailRe; i++) logdetZ += 2 * Math.log(t[i + i * m]);
    let logdetX = 0;
    for (let i = this.tailRe; i < m - 1; i++) logdetX += 2 * Math.log(t[i + i * m]);
    const last = t[m * m - 1];
    return { logdetZ, logdetX, pwrss: last * last };
  }

  /**
   * The tail at the terms' current lambda (Lambda' A22 Lambda + I on its random effects) with the
   * first term eliminated into it; returns that term's log-determinant (Infinity if not positive definite).
   */
  private eliminateFirst(): number {
    const m = this.tailSize;
    this.assembleTail(this.tail);
    for (let i = 0; i < this.tailRe; i++) this.tail[i + i * m] += 1;
    return this.first.eliminate(this.tail, m);
  }

  /** Positions in theta of the cheap terms' elements, in order. */
  cheapThetaIndices(): number[] {
    return this.cheapTerms.flatMap((ti) => Array.from({ length: this.terms[ti].ntheta }, (_, i) => this.thetaOffsets[ti] + i));
  }

  /**
   * Factorizes the system at theta up to the trailing block of the cheap terms, X and y, with
   * the cheap terms' lambda at the identity: their rows of the tail are then linear in their
   * lambda, so the trailing block at any theta of theirs is Lambda_c' S Lambda_c + I from the one
   * kept here. False where not positive definite.
   */
  profileCheap(theta: ArrayLike<number>): boolean {
    const unit = Array.from(theta);
    for (const ti of this.cheapTerms) this.terms[ti].initialTheta().forEach((v, i) => (unit[this.thetaOffsets[ti] + i] = v));
    this.setTheta(unit);
    const m = this.tailSize;
    const c0 = this.cheapFrom;
    const t = this.tail;
    const logdetFirst = this.eliminateFirst();
    if (!Number.isFinite(logdetFirst) || !this.factorization.factor(this.work, 0, c0)) return false;
    this.leadingLogdet = logdetFirst;
    for (let i = 0; i < c0; i++) this.leadingLogdet += 2 * Math.log(t[i + i * m]);
    const tc = m - c0;
    const S = (this.trailing ??= new Float64Array(tc * tc));
    this.trailingWork ??= new Float64Array(tc * tc);
    for (let j = 0; j < tc; j++)
      for (let i = j; i < tc; i++) {
        const v = t[c0 + i + (c0 + j) * m] - (i === j && c0 + i < this.tailRe ? 1 : 0);
        S[i + j * tc] = v;
        S[j + i * tc] = v;
      }
    return true;
  }

  /**
   * After `profileCheap`: the evaluation at the cheap terms' theta `thetaCheap` (their elements
   * in order) with the rest as profiled, from the trailing block alone; null if not positive
   * definite. Leaves the cheap terms' lambda at thetaCheap.
   */
  evaluateCheap(thetaCheap: ArrayLike<number>): Evaluation | null {
    const c0 = this.cheapFrom;
    const tc = this.tailSize - c0;
    const T = this.trailingWork!;
    this.trailingBlock(thetaCheap, T, tc, 0);
    if (!choleskyLower(T, tc)) return null;
    let logdetZ = this.leadingLogdet;
    for (let i = 0; i < this.tailRe - c0; i++) logdetZ += 2 * Math.log(T[i + i * tc]);
    let logdetX = 0;
    for (let i = this.tailRe - c0; i < tc - 1; i++) logdetX += 2 * Math.log(T[i + i * tc]);
    const last = T[tc * tc - 1];
    return { logdetZ, logdetX, pwrss: last * last };
  }

  /**
   * After `profileCheap`: completes the factorization at theta (whose cheap elements are the
   * ones to finish with), as `evaluate(theta)` would leave it for `gradient` and `solve`.
   */
  finishCheap(theta: ArrayLike<number>): boolean {
    const thetaCheap = this.cheapThetaIndices().map((i) => theta[i]);
    this.setTheta(theta);
    // the first term's L21 and the leading columns of the factor at the cheap rows were made at
    // their unit lambda, and are linear in it
    if (this.first instanceof SparseFirstBlock) this.first.refreshL21(this.cheapFrom);
    const m = this.tailSize;
    for (const ti of this.cheapTerms) transformLevelRows(this.tail, m, this.terms[ti].lambda, this.terms[ti].k, this.levelRows[ti], this.cheapFrom);
    this.trailingBlock(thetaCheap, this.tail, m, this.cheapFrom);
    return this.factorization.factor(this.work, this.cheapFrom, m);
  }

  /** Lambda_c' S Lambda_c + I on the cheap rows, into `out` (leading dimension ld) at (at, at) */
  private trailingBlock(thetaCheap: ArrayLike<number>, out: Float64Array, ld: number, at: number): void {
    const c0 = this.cheapFrom;
    const tc = this.tailSize - c0;
    const S = this.trailing!;
    const scale = (this.trailingScale ??= new Float64Array(tc).fill(1));
    let offset = 0;
    for (const ti of this.cheapTerms) {
      const term = this.terms[ti];
      term.setTheta(thetaCheap, offset);
      offset += term.ntheta;
    }
    const T = this.trailingWork!;
    T.set(S);
    this.cheapTerms.forEach((ti, c) => {
      const term = this.terms[ti];
      const rows = this.cheapLevelRows[c];
      if (term.k === 1) for (const r of rows) scale[r] = term.lambda[0];
      else transformLevelBlocks(T, tc, term.lambda, term.k, rows);
    });
    for (let j = 0; j < tc; j++)
      for (let i = j; i < tc; i++) out[at + i + (at + j) * ld] = T[i + j * tc] * scale[i] * scale[j] + (i === j && c0 + i < this.tailRe ? 1 : 0);
  }

  /** The structure a swapped response enters through; undefined unless the model has exactly one term. */
  groupedStructure(): GroupedStructure | undefined {
    return this.first instanceof GroupedFirstBlock ? this.first.structure() : undefined;
  }

  /**
   * Replaces the response by one given through its cross-products (single-term systems): the
   * y row and column of the tail and of each group's S_c. X'X, Z'X, Z'Z and the grouping stay.
   */
  setResponse(products: ResponseProducts): void {
    if (!(this.first instanceof GroupedFirstBlock)) throw new Error('setResponse needs a system with exactly one random-effects term');
    const m = this.tailSize;
    const yi = m - 1;
    for (let j = 0; j < this.p; j++) {
      const v = products.xty[j];
      this.a22[yi + (this.tailRe + j) * m] = v;
      this.a22[this.tailRe + j + yi * m] = v;
    }
    this.a22[yi + yi * m] = products.yty;
    this.first.setResponse(products);
  }

  /** After `evaluate(theta)`: the fixed effects alone, from the trailing p x p block of L'. */
  fixedEffects(): Float64Array {
    const m = this.tailSize;
    const p = this.p;
    const r0 = this.tailRe;
    const beta = new Float64Array(p);
    for (let j = p - 1; j >= 0; j--) {
      const cj = (r0 + j) * m;
      let s = this.tail[m - 1 + cj];
      for (let i = j + 1; i < p; i++) s -= this.tail[r0 + i + cj] * beta[i];
      beta[j] = s / this.tail[r0 + j + cj];
    }
    return beta;
  }

  /**
   * After `evaluate(theta)`: the fixed effects and the spherical random effects u (in the
   * model's term order, each term level-major), from back-substitution in L'.
   */
  solve(): { beta: Float64Array; u: Float64Array[] } {
    const v = this.tailSolution();
    const q = this.tailSize - 1;
    const beta = v.slice(this.tailRe, q);
    const u: Float64Array[] = this.terms.length ? [this.first.solve(this.tail, this.tailSize, v, this)] : [];
    for (let i = 1; i < this.terms.length; i++) u.push(this.tailModes(v, i));
    return { beta, u };
  }

  /** The tail unknowns (u of terms 2..m, then beta): back-substitution in the tail's L'. */
  private tailSolution(): Float64Array {
    const m = this.tailSize;
    const q = m - 1;
    const v = new Float64Array(q);
    for (let j = 0; j < q; j++) v[j] = this.tail[q + j * m];
    this.factorization.solveTransposed(this.tail, v, q);
    return v;
  }

  private tailModes(v: Float64Array, term: number): Float64Array {
    const { k, nlevels } = this.terms[term];
    const u = new Float64Array(nlevels * k);
    for (let l = 0; l < nlevels; l++) u.set(v.subarray(this.levelRows[term][l], this.levelRows[term][l] + k), l * k);
    return u;
  }

  /**
   * After `evaluate(theta)`: the gradient in theta of the profiled deviance (REML criterion or
   * -2 log L). With G the inverse of the system without y (of Lambda'Z'Z Lambda + I alone for
   * ML), d log|.| = 2 tr(Lambda^-1 dLambda (I - G_ZZ)) and, as Lambda'Z'e = u at the optimum
   * in (u, beta), d r^2 = -2 u' Lambda^-1 dLambda u. Per term this is
   * 2 [lambda^-T (sum_l (I - G_ll) - nu/r^2 sum_l u_l u_l')]_ab for theta at (a, b) of lambda.
   * G is needed only on the tail factor's structure, which its selected inversion gives at about
   * twice the cost of the factorization. Null where a diagonal of lambda is 0 (lambda singular):
   * differentiate numerically there.
   */
  gradient(reml: boolean): Float64Array | null {
    for (const t of this.terms) for (let i = 0; i < t.k; i++) if (!(t.lambda[i + i * t.k] > 1e-8)) return null;
    const m = this.tailSize;
    const r2 = this.tail[m * m - 1] ** 2;
    const nu = reml ? this.n - this.p : this.n;
    const v = this.tailSolution();
    const include = reml ? m - 1 : this.tailRe;
    this.factorization.selectedInverse(this.work, include);
    const g22 = this.work.inverse;
    const out = new Float64Array(this.ntheta);
    this.terms.forEach((term, ti) => {
      const k = term.k;
      const S = new Float64Array(k * k);
      const U = new Float64Array(k * k);
      if (ti === 0) this.first.addGradientTerms(g22, m, include, v, S, U);
      else {
        const ut = this.tailModes(v, ti);
        for (let l = 0; l < term.nlevels; l++) {
          const r0 = this.levelRows[ti][l];
          for (let b = 0; b < k; b++)
            for (let a = 0; a < k; a++) {
              S[a + b * k] += (a === b ? 1 : 0) - g22[r0 + a + (r0 + b) * m];
              U[a + b * k] += ut[l * k + a] * ut[l * k + b];
            }
        }
      }
      for (let i = 0; i < k * k; i++) S[i] -= (nu / r2) * U[i];
      // lambda^-T S: solve lambda' X = S column by column (lambda' is upper triangular)
      const lam = term.lambda;
      for (let c = 0; c < k; c++)
        for (let a = k - 1; a >= 0; a--) {
          let v = S[a + c * k];
          for (let r = a + 1; r < k; r++) v -= lam[r + a * k] * S[r + c * k];
          S[a + c * k] = v / lam[a + a * k];
        }
      let t = this.thetaOffsets[ti];
      for (let b = 0; b < k; b++) for (let a = b; a < k; a++) out[t++] = 2 * S[a + b * k];
    });
    return out;
  }

  /**
   * After `evaluate`: (R_X' R_X)^{-1}, the unscaled covariance of the fixed effects (p x p), as
   * W'W with W = L_X^{-1} (forward substitution on unit vectors, contiguous columns).
   */
  unscaledVcov(): Float64Array {
    const p = this.p;
    const m = this.tailSize;
    const r0 = this.tailRe;
    const t = this.tail;
    const W = (this.inverseWork ??= new Float64Array(p * p));
    W.fill(0);
    for (let j = 0; j < p; j++) {
      const cw = j * p;
      W[cw + j] = 1;
      for (let c = j; c < p; c++) {
        const cl = r0 + (r0 + c) * m;
        const x = (W[cw + c] /= t[cl + c]);
        if (x === 0) continue;
        for (let i = c + 1; i < p; i++) W[cw + i] -= t[cl + i] * x;
      }
    }
    const V = new Float64Array(p * p);
    for (let j = 0; j < p; j++)
      for (let i = j; i < p; i++) {
        const ci = i * p;
        const cj = j * p;
        let s = 0;
        for (let k = i; k < p; k++) s += W[ci + k] * W[cj + k];
        V[i + j * p] = s;
        V[j + i * p] = s;
      }
    return V;
  }

  /**
   * t = Lambda' A22 Lambda, the tail before the identity is added and the first term eliminated.
   * Scalar terms scale rows and columns as the copy is made, on the lower triangle only (all that
   * is read from here on); vector terms transform each level block of a full copy, rows then columns.
   */
  private assembleTail(t: Float64Array): void {
    const m = this.tailSize;
    const a22 = this.a22;
    const scale = (this.tailScale ??= new Float64Array(m).fill(1));
    let vector = false;
    for (let ti = 1; ti < this.terms.length; ti++) {
      const term = this.terms[ti];
      if (term.k > 1) vector = true;
      else for (const r of this.levelRows[ti]) scale[r] = term.lambda[0];
    }
    if (!vector) {
      for (let j = 0; j < m; j++) {
        const cj = j * m;
        const sj = scale[j];
        for (let i = j; i < m; i++) t[cj + i] = a22[cj + i] * scale[i] * sj;
      }
      return;
    }
    for (let j = 0; j < m; j++) {
      const cj = j * m;
      const sj = scale[j];
      for (let i = 0; i < m; i++) t[cj + i] = a22[cj + i] * scale[i] * sj;
    }
    for (let ti = 1; ti < this.terms.length; ti++) {
      const term = this.terms[ti];
      if (term.k > 1) transformLevelBlocks(t, m, term.lambda, term.k, this.levelRows[ti]);
    }
  }

  private buildTailCrossproduct(xy: Float64Array): Float64Array {
    const m = this.tailSize;
    const n = this.n;
    const a = new Float64Array(m * m);
    const idx = new Int32Array(m);
    const val = new Float64Array(m);
    for (let r = 0; r < n; r++) {
      let nnz = 0;
      for (let ti = 1; ti < this.terms.length; ti++) {
        const term = this.terms[ti];
        const base = this.levelRows[ti][term.codes[r]];
        for (let c = 0; c < term.k; c++) {
          idx[nnz] = base + c;
          val[nnz++] = term.z[r + c * n];
        }
      }
      for (let j = 0; j <= this.p; j++) {
        idx[nnz] = this.tailRe + j;
        val[nnz++] = xy[r + j * n];
      }
      for (let s = 0; s < nnz; s++) {
        const vs = val[s];
        if (vs === 0) continue;
        const cs = idx[s] * m;
        for (let q = 0; q < nnz; q++) if (idx[q] >= idx[s]) a[idx[q] + cs] += val[q] * vs;
      }
    }
    symmetrizeFromLower(a, m);
    return a;
  }
}

/**
 * T <- Lambda' T Lambda for the level blocks [r0, r0 + k) (r0 in `levelRows`) of one vector
 * term, in place: output a only needs inputs b >= a, so ascending a never reads an overwritten value.
 */
function transformLevelBlocks(t: Float64Array, m: number, lam: Float64Array, k: number, levelRows: Int32Array): void {
  transformLevelRows(t, m, lam, k, levelRows, m);
  for (let l = 0; l < levelRows.length; l++) {
    const r0 = levelRows[l];
    for (let a = 0; a < k; a++) {
      const ca = (r0 + a) * m;
      for (let i = 0; i < m; i++) {
        let v = 0;
        for (let b = a; b < k; b++) v += t[i + (r0 + b) * m] * lam[b + a * k];
        t[ca + i] = v;
      }
    }
  }
}

/** The rows half of transformLevelBlocks, on the first `columns` columns: T <- Lambda' T. */
function transformLevelRows(t: Float64Array, m: number, lam: Float64Array, k: number, levelRows: Int32Array, columns: number): void {
  for (let j = 0; j < columns; j++) {
    const cj = j * m;
    for (let l = 0; l < levelRows.length; l++) {
      const r0 = levelRows[l];
      for (let a = 0; a < k; a++) {
        let v = 0;
        for (let b = a; b < k; b++) v += lam[b + a * k] * t[r0 + b + cj];
        t[r0 + a + cj] = v;
      }
    }
  }
}

/** Tail terms with at most this many rows are cheap: profiled out where the rest of the tail is wide. */
const CHEAP_ROWS = 64;
/** ... wide meaning at least this many rows of other terms */
const PROFILE_MIN_ROWS = 256;

/**
 * The tail's layout: the levels of terms 2..m in a minimum-degree order of the graph in which
 * two levels are joined when a level of the first term (eliminated before them) co-occurs with
 * both, each level's k rows together; then X and y, which every column reaches. Where the tail
 * is wide, terms with few rows (cheap: InstEval's 28 dept:service) come last, before X and y and
 * like them reached by every column, so that their theta only rescales the trailing block
 * (`profileCheap`). Returns the first row of each level, where the cheap rows start (tailRe if
 * none), and the rows of each column of the tail's Cholesky factor.
 */
function orderTail(terms: ReTerm[], p: number): { levelRows: Int32Array[]; tailRe: number; cheapFrom: number; structure: Int32Array[] } {
  const rowsOf = (ti: number) => terms[ti].nlevels * terms[ti].k;
  const tailTerms = terms.map((_, ti) => ti).slice(1);
  const small = tailTerms.filter((ti) => rowsOf(ti) <= CHEAP_ROWS);
  const wide = tailTerms.filter((ti) => rowsOf(ti) > CHEAP_ROWS).reduce((sum, ti) => sum + rowsOf(ti), 0) >= PROFILE_MIN_ROWS;
  const cheap = new Set(wide ? small : []);
  const nodeBase = terms.map(() => -1);
  let nodes = 0;
  for (const ti of tailTerms)
    if (!cheap.has(ti)) {
      nodeBase[ti] = nodes;
      nodes += terms[ti].nlevels;
    }
  const nodeRows = new Int32Array(nodes);
  for (const ti of tailTerms) if (!cheap.has(ti)) nodeRows.fill(terms[ti].k, nodeBase[ti], nodeBase[ti] + terms[ti].nlevels);
  const { order, structure: nodeStructure } = minimumDegree(nodes, firstLevelCliques(terms, nodeBase, nodes));
  const nodeStart = new Int32Array(nodes);
  let row = 0;
  for (const v of order) {
    nodeStart[v] = row;
    row += nodeRows[v];
  }
  const cheapFrom = row;
  const levelRows: Int32Array[] = terms.map(() => new Int32Array(0));
  for (const ti of tailTerms)
    if (cheap.has(ti)) {
      levelRows[ti] = Int32Array.from({ length: terms[ti].nlevels }, (_, l) => row + l * terms[ti].k);
      row += rowsOf(ti);
    } else levelRows[ti] = nodeStart.slice(nodeBase[ti], nodeBase[ti] + terms[ti].nlevels);
  const tailRe = row;
  const m = tailRe + p + 1;
  const structure: Int32Array[] = new Array(m);
  order.forEach((v, j) => {
    const neighbours = nodeStructure[j];
    let below = 0;
    for (const q of neighbours) below += nodeRows[order[q]];
    const k = nodeRows[v];
    const s = nodeStart[v];
    for (let a = 0; a < k; a++) {
      // the level's own later rows, its neighbours' rows (ascending with their positions), then
      // the cheap terms' rows, X and y
      const rows = new Int32Array(k - a - 1 + below + m - cheapFrom);
      let c = 0;
      for (let b = a + 1; b < k; b++) rows[c++] = s + b;
      for (const q of neighbours) for (let b = 0; b < nodeRows[order[q]]; b++) rows[c++] = nodeStart[order[q]] + b;
      for (let i = cheapFrom; i < m; i++) rows[c++] = i;
      structure[s + a] = rows;
    }
  });
  for (let i = cheapFrom; i < m; i++) structure[i] = range(i + 1, m);
  return { levelRows, tailRe, cheapFrom, structure };
}

/** Per level of the first term, the tail levels (node ids; terms without a node base left out) its observations touch. */
function firstLevelCliques(terms: ReTerm[], nodeBase: number[], nodes: number): Int32Array[] {
  if (terms.length < 2) return [];
  const first = terms[0];
  const touched: number[][] = Array.from({ length: first.nlevels }, () => []);
  const marker = new Int32Array(nodes).fill(-1);
  // level by level, so the marker needs no reset
  const { start, rows } = observationsByLevel(first);
  for (let l = 0; l < first.nlevels; l++)
    for (let q = start[l]; q < start[l + 1]; q++)
      for (let ti = 1; ti < terms.length; ti++) {
        if (nodeBase[ti] < 0) continue;
        const v = nodeBase[ti] + terms[ti].codes[rows[q]];
        if (marker[v] !== l) {
          marker[v] = l;
          touched[l].push(v);
        }
      }
  return touched.map((t) => Int32Array.from(t));
}

/** The observations of a term grouped by level (counting sort): level l's are rows[start[l] .. start[l+1]). */
function observationsByLevel(term: ReTerm): { start: Int32Array; rows: Int32Array } {
  const start = new Int32Array(term.nlevels + 1);
  for (const c of term.codes) start[c + 1]++;
  for (let l = 0; l < term.nlevels; l++) start[l + 1] += start[l];
  const rows = new Int32Array(term.n);
  const fill = start.slice(0, term.nlevels);
  term.codes.forEach((c, r) => (rows[fill[c]++] = r));
  return { start, rows };
}

/** Elimination of the first term's block-diagonal Z'Z block into the tail. */
interface FirstBlock {
  /**
   * Subtracts L21 L21' from the tail (lower triangle) and returns log|L11|^2 (Infinity if not
   * PD); keeps what `solve` needs of L11 and L21.
   */
  eliminate(tail: Float64Array, m: number): number;
  /** u for the first term, given the tail solution v (tail unknowns in tail order). */
  solve(tail: Float64Array, m: number, v: Float64Array, system: BlockedSystem): Float64Array;
  /**
   * After `evaluate`, for the gradient: adds sum_l (I - G_ll) over the first term's levels to
   * `S` and sum_l u_l u_l' to `U` (k x k), G the inverse of the system without y restricted to
   * its first `include` tail rows, whose inverse `g22` (m x m, on the tail factor's structure) is
   * given, and v the tail unknowns.
   */
  addGradientTerms(g22: Float64Array, m: number, include: number, v: Float64Array, S: Float64Array, U: Float64Array): void;
}

/** A linear model (no random effects) is the system reduced to its tail [X y]. */
const noFirstBlock: FirstBlock = { eliminate: () => 0, solve: () => new Float64Array(0), addGradientTerms: () => undefined };

/** out += sign * Hinv lambda' C lambda Hinv (all k x k, column-major; Hinv and C symmetric) */
function addSandwich(hinv: Float64Array, lam: Float64Array, C: Float64Array, k: number, sign: number, out: Float64Array): void {
  // A = lambda Hinv (k x k); out += sign * A' C A
  const A = new Float64Array(k * k);
  for (let j = 0; j < k; j++)
    for (let i = 0; i < k; i++) {
      let v = 0;
      for (let c = 0; c <= i; c++) v += lam[i + c * k] * hinv[c + j * k];
      A[i + j * k] = v;
    }
  for (let b = 0; b < k; b++)
    for (let a = 0; a < k; a++) {
      let v = 0;
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) v += A[i + a * k] * C[i + j * k] * A[j + b * k];
      out[a + b * k] += sign * v;
    }
}

/** Per level l: H_l = lambda' M_l lambda + I, its Cholesky factor in `h` (k x k); log|H_l| returned. */
function factorLevelBlock(lam: Float64Array, M: Float64Array, mOff: number, k: number, h: Float64Array, work: Float64Array): number {
  // work = M lambda
  for (let j = 0; j < k; j++)
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let b = j; b < k; b++) s += M[mOff + i + b * k] * lam[b + j * k];
      work[i + j * k] = s;
    }
  // h = lambda' work + I (lower triangle)
  for (let j = 0; j < k; j++)
    for (let i = j; i < k; i++) {
      let s = i === j ? 1 : 0;
      for (let a = i; a < k; a++) s += lam[a + i * k] * work[a + j * k];
      h[i + j * k] = s;
    }
  if (!choleskyLower(h, k)) return Infinity;
  let ld = 0;
  for (let i = 0; i < k; i++) ld += 2 * Math.log(h[i + i * k]);
  return ld;
}

/**
 * Single-term models: the first block couples only with [X y]. Levels with identical
 * M_l = Z_l'Z_l form a group c with S_c[a][b] = sum_l W_l[a,:]' W_l[b,:], W_l = Z_l'[X y], so
 * sum_l W_l' lambda H_l^{-1} lambda' W_l = sum_c sum_ab K_c[a,b] S_c[a][b], K_c = lambda H_c^{-1} lambda'.
 */
class GroupedFirstBlock implements FirstBlock {
  private readonly k: number;
  private readonly P: number;
  /** per level: W_l = Z_l'[X y], k x P row-major (entry (a, j) at a*P + j) */
  private readonly W: Float64Array;
  private readonly groupOf: Int32Array;
  private readonly groupSize: number[] = [];
  /** per group: M_c, k x k column-major */
  private readonly M: Float64Array;
  /** per group: S_c[a][b] P x P column-major, at ((c*k + a)*k + b)*P*P */
  private readonly S: Float64Array;
  private readonly h: Float64Array;
  private readonly work: Float64Array;
  private readonly K: Float64Array;

  constructor(private readonly term: ReTerm, xy: Float64Array, P: number) {
    const { k, nlevels, codes, z } = term;
    const n = codes.length;
    this.k = k;
    this.P = P;
    const Ml = new Float64Array(nlevels * k * k);
    this.W = new Float64Array(nlevels * k * P);
    for (let r = 0; r < n; r++) {
      const l = codes[r];
      for (let a = 0; a < k; a++) {
        const za = z[r + a * n];
        if (za === 0) continue;
        for (let b = 0; b < k; b++) Ml[l * k * k + a + b * k] += za * z[r + b * n];
        for (let j = 0; j < P; j++) this.W[(l * k + a) * P + j] += za * xy[r + j * n];
      }
    }
    const keyToGroup = new Map<string, number>();
    this.groupOf = new Int32Array(nlevels);
    const groupM: number[] = [];
    for (let l = 0; l < nlevels; l++) {
      const block = Ml.subarray(l * k * k, (l + 1) * k * k);
      const key = block.join(',');
      let g = keyToGroup.get(key);
      if (g === undefined) {
        g = this.groupSize.length;
        keyToGroup.set(key, g);
        this.groupSize.push(0);
        groupM.push(...block);
      }
      this.groupOf[l] = g;
      this.groupSize[g]++;
    }
    this.M = Float64Array.from(groupM);
    const ng = this.groupSize.length;
    const PP = P * P;
    this.S = new Float64Array(ng * k * k * PP);
    for (let l = 0; l < nlevels; l++) {
      const g = this.groupOf[l];
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          const base = ((g * k + a) * k + b) * PP;
          const wa = (l * k + a) * P;
          const wb = (l * k + b) * P;
          for (let j = 0; j < P; j++) {
            const wbj = this.W[wb + j];
            if (wbj === 0) continue;
            for (let i = 0; i < P; i++) this.S[base + i + j * P] += this.W[wa + i] * wbj;
          }
        }
    }
    this.h = new Float64Array(k * k);
    this.work = new Float64Array(k * k);
    this.K = new Float64Array(k * k);
  }

  /** false after a response swap that gave no Z_l'y: the conditional modes cannot be computed */
  private levelResponseKnown = true;

  structure(): GroupedStructure {
    return { k: this.k, P: this.P, ngroups: this.groupSize.length, groupOf: this.groupOf, levelCross: this.W };
  }

  setResponse(products: ResponseProducts): void {
    const { k, P } = this;
    const PP = P * P;
    const y = P - 1;
    const g = products.groupY;
    for (let c = 0; c < this.groupSize.length; c++)
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          const base = ((c * k + a) * k + b) * PP;
          const src = ((c * k + a) * k + b) * P;
          // row y of S_c[a][b], and column y of S_c[b][a]
          for (let j = 0; j < P; j++) {
            this.S[base + y + j * P] = g[src + j];
            this.S[((c * k + b) * k + a) * PP + j + y * P] = g[src + j];
          }
        }
    const zty = products.zty;
    this.levelResponseKnown = zty !== undefined;
    if (zty) for (let r = 0; r < this.term.nlevels * k; r++) this.W[r * P + y] = zty[r];
  }

  /** K = lambda H^{-1} lambda' = G'G with G = L^{-1} lambda', L the Cholesky factor of H held in this.h */
  private levelK(): Float64Array {
    const { k, h, K, work } = this;
    const lam = this.term.lambda;
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < k; i++) work[i + j * k] = lam[j + i * k];
      solveLower(h, k, work, 0, j * k);
    }
    for (let j = 0; j < k; j++)
      for (let i = j; i < k; i++) {
        let s = 0;
        for (let a = 0; a < k; a++) s += work[a + i * k] * work[a + j * k];
        K[i + j * k] = s;
        K[j + i * k] = s;
      }
    return K;
  }

  eliminate(tail: Float64Array, m: number): number {
    const { k, P } = this;
    const PP = P * P;
    const lam = this.term.lambda;
    let logdet = 0;
    for (let g = 0; g < this.groupSize.length; g++) {
      const ld = factorLevelBlock(lam, this.M, g * k * k, k, this.h, this.work);
      if (!Number.isFinite(ld)) return Infinity;
      logdet += this.groupSize[g] * ld;
      const K = this.levelK();
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          const kab = K[a + b * k];
          if (kab === 0) continue;
          const base = ((g * k + a) * k + b) * PP;
          for (let j = 0; j < P; j++) for (let i = j; i < P; i++) tail[i + j * m] -= kab * this.S[base + i + j * P];
        }
    }
    return logdet;
  }

  /**
   * Grouped, so a voxel's gradient costs nothing in n: with H_c the factor shared by group c,
   * I - G_ll sums to n_c (I - H_c^{-1}) - H_c^{-1} lambda' C_c lambda H_c^{-1} (REML: C_c[a,b] =
   * tr(T^{-1} S_c[a][b]) over X, T the X block) and u_l u_l' to H_c^{-1} lambda' R_c lambda
   * H_c^{-1} with R_c[a,b] = r' S_c[a][b] r, r = (-beta, 1).
   */
  addGradientTerms(g22: Float64Array, m: number, include: number, v: Float64Array, S: Float64Array, U: Float64Array): void {
    const { k, P } = this;
    const PP = P * P;
    const lam = this.term.lambda;
    const hinv = new Float64Array(k * k);
    const C = new Float64Array(k * k);
    const R = new Float64Array(k * k);
    const r = new Float64Array(P);
    for (let j = 0; j < P - 1; j++) r[j] = -v[v.length - (P - 1) + j];
    r[P - 1] = 1;
    this.groupSize.forEach((count, g) => {
      factorLevelBlock(lam, this.M, g * k * k, k, this.h, this.work);
      choleskyInverse(this.h, k, hinv);
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          const base = ((g * k + a) * k + b) * PP;
          let c = 0;
          for (let j = 0; j < include; j++) for (let i = 0; i < include; i++) c += g22[i + j * m] * this.S[base + i + j * P];
          let q = 0;
          for (let j = 0; j < P; j++) for (let i = 0; i < P; i++) q += r[i] * this.S[base + i + j * P] * r[j];
          C[a + b * k] = c;
          R[a + b * k] = q;
        }
      for (let b = 0; b < k; b++) for (let a = 0; a < k; a++) S[a + b * k] += count * ((a === b ? 1 : 0) - hinv[a + b * k]);
      addSandwich(hinv, lam, C, k, -1, S);
      addSandwich(hinv, lam, R, k, 1, U);
    });
  }

  /** b_l = K_l Z_l'(y - X beta); returned as u_l = lambda^{-1} b_l, i.e. H_l^{-1} lambda' Z_l'(y - X beta) */
  solve(_tail: Float64Array, _m: number, v: Float64Array, system: BlockedSystem): Float64Array {
    if (!this.levelResponseKnown) throw new Error("the conditional modes need Z_l'y per level: pass zty to setResponse");
    const { k, P } = this;
    const p = P - 1;
    const beta = v.subarray(system.tailRe, system.tailRe + p);
    const lam = this.term.lambda;
    const u = new Float64Array(this.term.nlevels * k);
    const rhs = new Float64Array(k);
    for (let l = 0; l < this.term.nlevels; l++) {
      factorLevelBlock(lam, this.M, this.groupOf[l] * k * k, k, this.h, this.work);
      for (let a = 0; a < k; a++) {
        // (lambda' Z_l'(y - X beta))_a
        let s = 0;
        for (let c = a; c < k; c++) {
          let zr = this.W[(l * k + c) * P + p];
          for (let j = 0; j < p; j++) zr -= this.W[(l * k + c) * P + j] * beta[j];
          s += lam[c + a * k] * zr;
        }
        rhs[a] = s;
      }
      solveLower(this.h, k, rhs);
      solveLowerTransposed(this.h, k, rhs);
      u.set(rhs, l * k);
    }
    return u;
  }
}

/**
 * Models with several terms: per level l of the first term, the rows of the tail that the
 * level touches (other terms' levels it co-occurs with, then X and y) form a sparse column
 * block A21_l; L21_l = Lambda_tail' A21_l lambda L_l^{-T} and L21_l L21_l' is subtracted from
 * the tail on those rows only.
 */
class SparseFirstBlock implements FirstBlock {
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

  constructor(private readonly system: BlockedSystem, xy: Float64Array) {
    const term = system.terms[0];
    const { k, nlevels, codes, z } = term;
    const n = codes.length;
    const m = system.tailSize;
    const P = system.p + 1;
    this.k = k;
    this.M = new Float64Array(nlevels * k * k);
    const { start: count, rows: order } = observationsByLevel(term);

    const marker = new Int32Array(m).fill(-1);
    // at most every tail row of every observation, and X and y per level
    const rowsPerObservation = system.terms.reduce((sum, t, ti) => sum + (ti > 0 ? t.k : 0), 0);
    const touched = new Int32Array(n * rowsPerObservation + nlevels * P);
    this.start = new Int32Array(nlevels + 1);
    let next = 0;
    for (let l = 0; l < nlevels; l++) {
      for (let q = count[l]; q < count[l + 1]; q++) {
        const r = order[q];
        for (let ti = 1; ti < system.terms.length; ti++) {
          const t = system.terms[ti];
          const base = system.tailRow(ti, t.codes[r]);
          for (let c = 0; c < t.k; c++)
            if (marker[base + c] !== l) {
              marker[base + c] = l;
              touched[next++] = base + c;
            }
        }
      }
      for (let j = 0; j < P; j++) touched[next++] = system.tailRe + j;
      touched.subarray(this.start[l], next).sort();
      this.start[l + 1] = next;
    }
    this.idx = touched.slice(0, next);
    this.vals = new Float64Array(this.idx.length * k);
    this.cliques = { columns: cliqueColumns(this.idx, this.start, m), k };
    this.scalarTail = system.terms.every((t, ti) => ti === 0 || t.k === 1);
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
          for (let ti = 1; ti < system.terms.length; ti++) {
            const t = system.terms[ti];
            const base = system.tailRow(ti, t.codes[r]);
            for (let c = 0; c < t.k; c++) this.vals[pos[base + c] * k + b] += t.z[r + c * n] * zb;
          }
          for (let j = 0; j < P; j++) this.vals[pos[system.tailRe + j] * k + b] += xy[r + j * n] * zb;
        }
      }
    }
    this.rowTerm = new Int32Array(m).fill(-1);
    this.rowPos = new Int32Array(m);
    for (let ti = 1; ti < system.terms.length; ti++) {
      const t = system.terms[ti];
      for (let l = 0; l < t.nlevels; l++)
        for (let c = 0; c < t.k; c++) {
          this.rowTerm[system.tailRow(ti, l) + c] = ti;
          this.rowPos[system.tailRow(ti, l) + c] = c;
        }
    }
    this.h = new Float64Array(k * k);
    this.work = new Float64Array(Math.max(k * k, 64));
  }

  eliminate(_tail: Float64Array, _m: number): number {
    const k = this.k;
    const term0 = this.system.terms[0];
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
    const terms = this.system.terms;
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
    this.system.terms.forEach((t, ti) => {
      for (let l = 0; ti > 0 && l < t.nlevels; l++) this.rowScale[this.system.tailRow(ti, l)] = t.lambda[0];
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
    const nlevels = this.system.terms[0].nlevels;
    const u = this.solve(this.system.tail, this.system.tailSize, v);
    for (let l = 0; l < nlevels; l++)
      for (let b = 0; b < k; b++) for (let a = 0; a < k; a++) U[a + b * k] += u[l * k + a] * u[l * k + b];
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

  solve(_tail: Float64Array, m: number, v: Float64Array): Float64Array {
    const k = this.k;
    const term0 = this.system.terms[0];
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
}
