import { inverseFromCholesky, symmetrizeFromLower } from '../linalg/dense';
import { SupernodalCholesky, SupernodeWork } from '../linalg/supernodal';
import { factorizationWork } from '../linalg/supernodal-pool';
import { CheapTermProfile, type ProfiledFactorization } from './cheap-terms';
import { groupLevels, levelCrossproducts, noFirstBlock, type FirstBlock, type RowBlock, type TailLayout } from './first-block';
import { GroupedFirstBlock } from './grouped-block';
import { transformLevelBlocks } from './level-blocks';
import { ReTerm } from './reterm';
import { SparseFirstBlock } from './sparse-block';
import { StackedFirstBlock } from './stacked-block';
import { orderTail } from './tail-order';

/** The largest tail over which the first term's levels may be grouped (see `firstBlock`). */
const GROUPED_MAX_TAIL = 128;

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
 * A response given through its cross-products, for swapping y without rebuilding the
 * theta-independent parts (the whole-brain engine fits one y per voxel).
 */
export interface ResponseProducts {
  /** per term (in the system's order), Z_l'y for each level (k per level, level-major) */
  zty: ArrayLike<number>[];
  /** X'y (p values) */
  xty: ArrayLike<number>;
  /** y'y */
  yty: number;
  /** which response of the grouped first block's last batch this is (see `BlockedSystem.batchedFirst`), if batched */
  voxel?: number;
}

export class BlockedSystem implements TailLayout {
  readonly terms: ReTerm[];
  readonly n: number;
  readonly p: number;
  readonly ntheta: number;
  /** dimension of the tail: random effects of terms 2..m, then X, then y */
  readonly tailSize: number;
  /** random-effects rows in the tail */
  readonly tailRe: number;
  /** per term (2..m; entry 0 empty), the tail row of each level's first row */
  readonly levelRows: Int32Array[];
  private readonly factorization: SupernodalCholesky;
  /** theta-independent tail block [Z2..Zm X y]'[Z2..Zm X y], full symmetric, column-major */
  private readonly a22: Float64Array;
  /** tail work matrix; after `evaluate` its lower triangle holds the tail's Cholesky factor */
  readonly tail: Float64Array;
  /** the factorization's buffers, and threads for a wide tail */
  private readonly work: SupernodeWork;
  private readonly first: FirstBlock;
  /**
   * Terms with few rows in a wide tail (see orderTail), whose theta can be searched at the cost
   * of the trailing block alone; undefined when there are none.
   */
  readonly cheap?: CheapTermProfile;
  /** per tail row, the lambda of its scalar term (1 for vector terms, X and y) */
  private tailScale?: Float64Array;
  private readonly thetaOffsets: number[];

  /**
   * `xtx`, X'X when the caller has it (a whole-brain design derives it from the full design's):
   * for a model with one term, whose tail is [X y], it spares the tail's cross-products.
   * `neighbour`: a system over other rows of the same data, with the same terms and levels (a
   * level may have no rows), whose first block is grouped (`derivable`): this system's
   * cross-products are then its neighbour's less the `removed` rows' plus the `added` rows', and
   * X is not read (y gives n).
   */
  constructor(
    terms: ReTerm[],
    X: Float64Array,
    y: Float64Array,
    p: number,
    xtx?: Float64Array,
    neighbour?: { system: BlockedSystem; removed: RowBlock; added: RowBlock },
  ) {
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
    // terms profiled in the search (see orderTail), and the tail row where they start
    let cheapTerms: number[] = [];
    let cheapFrom = 0;
    if (neighbour) {
      // the neighbour's tail order and symbolic factorization: derived systems descend from one
      // over all rows, whose structure covers every subset's
      const { system, removed, added } = neighbour;
      if (!(system.first instanceof GroupedFirstBlock)) throw new Error('only a system with a grouped first block is derived from a neighbour');
      this.levelRows = system.levelRows;
      this.tailRe = system.tailRe;
      this.tailSize = system.tailSize;
      this.factorization = system.factorization;
      this.a22 = system.a22.slice();
      this.addTailCrossproduct(this.a22, removed, -1);
      this.addTailCrossproduct(this.a22, added, 1);
      symmetrizeFromLower(this.a22, this.tailSize);
      this.first = system.first.derive(this, removed, added, terms.length > 1 ? () => this.rowScale() : undefined);
    } else {
      const tail = orderTail(terms, p);
      this.levelRows = tail.levelRows;
      this.tailRe = tail.tailRe;
      this.tailSize = tail.tailRe + p + 1;
      cheapFrom = tail.cheapFrom;
      cheapTerms = terms.map((_, ti) => ti).filter((ti) => ti > 0 && this.levelRows[ti][0] >= cheapFrom);
      this.factorization = new SupernodalCholesky(this.tailSize, tail.structure, cheapTerms.length ? cheapFrom : this.tailSize);
      const xy = new Float64Array(n * (p + 1));
      xy.set(X.subarray(0, n * p));
      xy.set(y, n * p);
      this.a22 = xtx && terms.length === 1 ? this.tailFromGram(xtx, xy) : this.tailCrossproduct(xy);
      this.first = terms.length === 0 ? noFirstBlock : this.firstBlock(xy, cheapTerms.length > 0);
    }
    this.work = factorizationWork(this.factorization, this.first.cliques);
    this.tail = this.work.matrix;
    if (this.work.cliques) this.first.attach?.(this.work.cliques);
    if (cheapTerms.length) this.cheap = new CheapTermProfile(this.profiledFactorization(), cheapTerms, cheapFrom, this.thetaOffsets);
  }

  /** The parts of the factorization the cheap terms' profile drives. */
  private profiledFactorization(): ProfiledFactorization {
    return {
      terms: this.terms,
      levelRows: this.levelRows,
      tailRe: this.tailRe,
      tailSize: this.tailSize,
      tail: this.tail,
      setTheta: (theta) => this.setTheta(theta),
      eliminateFirst: () => this.eliminateFirst(),
      factorColumns: (from, to) => this.factorization.factor(this.work, from, to),
      refreshL21: (row) => this.first.refreshL21(row),
      factorChanged: (counted) => {
        this.factoredAt = undefined;
        this.factorVersion++;
        if (counted) this.evaluations++;
      },
    };
  }

  /**
   * How the first term is eliminated, whichever costs less per evaluation: grouped by identical
   * Z_l'Z_l where that leaves few groups over a small tail (a random intercept, with scalar terms
   * beside it such as a site intercept), stacked level by level on the columns each level
   * touches (one term whose levels all differ), or sparse rank updates on the tail rows each
   * level touches (several terms, crossed or nested, any tail).
   */
  private firstBlock(xy: Float64Array, cheapTerms: boolean): FirstBlock {
    const [term] = this.terms;
    const { k, nlevels } = term;
    const m = this.tailSize;
    const single = this.terms.length === 1;
    const scalarTail = this.terms.every((t, ti) => ti === 0 || t.k === 1);
    // the grouped block keeps k^2 m x m sums per group: only for small tails without profiled terms
    const groupable = single || (scalarTail && !cheapTerms && m <= GROUPED_MAX_TAIL);
    const cross = groupable ? levelCrossproducts(this, this.ownRows(xy)) : undefined;
    const groups = cross && groupLevels(cross.M, k, nlevels);
    // multiply-adds per evaluation: the grouped sums, against a level's touched columns (its own
    // levels of the other terms, and X and y) one level at a time
    const grouped = groups ? (groups.size.length * k * k * m * m) / 2 : Infinity;
    const touched = this.p + 1 + this.terms.reduce((sum, t, ti) => sum + (ti > 0 ? t.k : 0), 0);
    if (single) {
      // every level touches at least one column, so stacking costs at least nlevels (k^2 + k/2)
      const groupedWins = grouped <= nlevels * (k * k + k / 2) || grouped <= StackedFirstBlock.cost(cross!, k, m, nlevels);
      return groupedWins ? new GroupedFirstBlock(term, cross!, groups!, m) : new StackedFirstBlock(term, cross!, m);
    }
    if (grouped <= (nlevels * k * touched * touched) / 2) return new GroupedFirstBlock(term, cross!, groups!, m, () => this.rowScale());
    return new SparseFirstBlock(this, xy);
  }

  /** The lambda of each tail row's scalar term (1 on X and y), as `assembleTail` last set it. */
  private rowScale(): Float64Array {
    return (this.tailScale ??= new Float64Array(this.tailSize).fill(1));
  }

  setTheta(theta: ArrayLike<number>): void {
    this.terms.forEach((t, i) => t.setTheta(theta, this.thetaOffsets[i]));
  }

  /** Factorizations so far (`evaluate` and the cheap terms' `evaluate`), for reports of the work a fit took. */
  evaluations = 0;
  /** the theta the factor is at, and its evaluation (undefined once anything else changed the factor) */
  private factoredAt?: Float64Array;
  private factored: Evaluation | null = null;
  /**
   * Counts the changes of the factor (a factorization, the cheap terms' partial ones, a new
   * response): what was derived from the factor is reused while this has not moved. A search's
   * last gradient is at its optimum, where the fit's covariance and Satterthwaite's derivatives
   * ask for it again.
   */
  private factorVersion = 0;
  private gradientAt?: { version: number; reml: boolean; parts: { logdet: Float64Array; pwrss: Float64Array } | null };
  private vcovAt?: { version: number; vcov: Float64Array };
  /** `tailSolution`'s buffer */
  private solution?: Float64Array;
  /** the rows the work's selected inverse covers, and the factor it was computed from */
  private inverseAt?: { version: number; include: number };

  /**
   * Factorizes the system at theta; null when it is not numerically positive definite. Asking
   * again for the theta the factor is at costs nothing (a search's optimum is usually its last
   * point, and Satterthwaite's derivatives return there).
   */
  evaluate(theta: ArrayLike<number>): Evaluation | null {
    const at = this.factoredAt;
    if (at && at.length === theta.length && at.every((v, i) => v === theta[i])) {
      this.setTheta(theta);
      return this.factored;
    }
    this.factored = this.factorize(theta);
    this.factoredAt = Float64Array.from(theta);
    return this.factored;
  }

  private factorize(theta: ArrayLike<number>): Evaluation | null {
    this.evaluations++;
    this.factorVersion++;
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

  /**
   * Replaces the response by one given through its cross-products: the y row and column of the
   * tail's cross-products and the first block's Z_l'y. X'X, Z'X, Z'Z and the structure stay.
   */
  setResponse(products: ResponseProducts): void {
    this.factoredAt = undefined;
    this.factorVersion++;
    const m = this.tailSize;
    const a = this.a22;
    const yi = m - 1;
    const set = (row: number, v: number) => {
      a[yi + row * m] = v;
      a[row + yi * m] = v;
    };
    for (let ti = 1; ti < this.terms.length; ti++) {
      const { k, nlevels } = this.terms[ti];
      const zty = products.zty[ti];
      for (let l = 0; l < nlevels; l++) for (let c = 0; c < k; c++) set(this.levelRows[ti][l] + c, zty[l * k + c]);
    }
    for (let j = 0; j < this.p; j++) set(this.tailRe + j, products.xty[j]);
    a[yi + yi * m] = products.yty;
    if (this.terms.length) this.first.setResponse(products.zty[0], products.voxel);
  }

  /** The first block when it takes a block of responses at once (`GroupedFirstBlock.setResponses`). */
  get batchedFirst(): GroupedFirstBlock | undefined {
    return this.first instanceof GroupedFirstBlock && this.first.batchable ? this.first : undefined;
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
    const u: Float64Array[] = this.terms.length ? [this.first.solve(v)] : [];
    for (let i = 1; i < this.terms.length; i++) u.push(this.tailModes(v, i));
    return { beta, u };
  }

  /** The tail unknowns (u of terms 2..m, then beta): back-substitution in the tail's L', into a buffer the next call reuses. */
  private tailSolution(): Float64Array {
    const m = this.tailSize;
    const q = m - 1;
    const v = (this.solution ??= new Float64Array(q));
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
    const parts = this.gradientParts(reml);
    if (!parts) return null;
    const m = this.tailSize;
    const weight = (reml ? this.n - this.p : this.n) / this.tail[m * m - 1] ** 2;
    const g = new Float64Array(this.ntheta);
    for (let i = 0; i < this.ntheta; i++) g[i] = parts.logdet[i] + weight * parts.pwrss[i];
    return g;
  }

  /**
   * After `evaluate(theta)`: the gradient in theta of the log-determinants (log|L_Z|^2, plus
   * log|R_X|^2 for REML) and of the penalized residual sum of squares, separately: the profiled
   * deviance weighs the second by nu / r^2, the deviance at a given sigma (Satterthwaite's) by
   * 1 / sigma^2. Null where lambda is singular.
   */
  gradientParts(reml: boolean): { logdet: Float64Array; pwrss: Float64Array } | null {
    const cached = this.gradientAt;
    if (cached && cached.version === this.factorVersion && cached.reml === reml) return cached.parts;
    const parts = this.computeGradientParts(reml);
    this.gradientAt = { version: this.factorVersion, reml, parts };
    return parts;
  }

  private computeGradientParts(reml: boolean): { logdet: Float64Array; pwrss: Float64Array } | null {
    for (const t of this.terms) for (let i = 0; i < t.k; i++) if (!(t.lambda[i + i * t.k] > 1e-8)) return null;
    const m = this.tailSize;
    const v = this.tailSolution();
    const include = reml ? m - 1 : this.tailRe;
    const g22 = this.selectedInverse(include);
    const logdet = new Float64Array(this.ntheta);
    const pwrss = new Float64Array(this.ntheta);
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
      // lambda^-T X: solve lambda' Y = X column by column (lambda' is upper triangular)
      const lam = term.lambda;
      for (const X of [S, U])
        for (let c = 0; c < k; c++)
          for (let a = k - 1; a >= 0; a--) {
            let x = X[a + c * k];
            for (let r = a + 1; r < k; r++) x -= lam[r + a * k] * X[r + c * k];
            X[a + c * k] = x / lam[a + a * k];
          }
      let t = this.thetaOffsets[ti];
      for (let b = 0; b < k; b++)
        for (let a = b; a < k; a++, t++) {
          logdet[t] = 2 * S[a + b * k];
          pwrss[t] = -2 * U[a + b * k];
        }
    });
    return { logdet, pwrss };
  }

  /**
   * After `evaluate(theta)`: the selected inverse of the tail's random-effects rows with the first
   * term eliminated (the inverse of their Schur complement in Lambda'Z'Z Lambda + I), m x m, valid
   * on the lower triangle of the tail factor's structure; a view that the next call overwrites.
   */
  randomEffectsInverse(): Float64Array {
    return this.selectedInverse(this.tailRe);
  }

  /** The work's selected inverse on the leading `include` rows of the tail, noting what it covers. */
  private selectedInverse(include: number): Float64Array {
    this.factorization.selectedInverse(this.work, include);
    this.inverseAt = { version: this.factorVersion, include };
    return this.work.inverse;
  }

  /**
   * After `evaluate`: (R_X' R_X)^{-1}, the unscaled covariance of the fixed effects (p x p), an
   * array of its own per factor (not to be modified: a second call returns it again). It is the X block of the inverse of the tail without y: read from the selected
   * inverse where the factor's has it (a REML gradient's), otherwise from L_X alone.
   */
  unscaledVcov(): Float64Array {
    const cached = this.vcovAt;
    if (cached?.version !== this.factorVersion) this.vcovAt = { version: this.factorVersion, vcov: this.computeUnscaledVcov() };
    return this.vcovAt!.vcov;
  }

  private computeUnscaledVcov(): Float64Array {
    const p = this.p;
    const m = this.tailSize;
    const r0 = this.tailRe;
    const V = new Float64Array(p * p);
    const inverse = this.inverseAt;
    if (inverse && inverse.version === this.factorVersion && inverse.include >= r0 + p) {
      const Z = this.work.inverse;
      for (let j = 0; j < p; j++) for (let i = 0; i < p; i++) V[i + j * p] = Z[r0 + i + (r0 + j) * m];
    } else inverseFromCholesky(this.tail, p, r0 + r0 * m, m, V, 0, p);
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
    const scale = this.rowScale();
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

  /** [X y]'[X y] of a one-term tail from X'X, with X'y and y'y computed (xy: [X y], n x (p + 1)). */
  private tailFromGram(xtx: Float64Array, xy: Float64Array): Float64Array {
    const { p, n } = this;
    const m = p + 1;
    const a = new Float64Array(m * m);
    for (let j = 0; j < p; j++) a.set(xtx.subarray(j * p, (j + 1) * p), j * m);
    // a whole-brain design's y is zero until each voxel's products are set
    if (xy.subarray(p * n).every((y) => y === 0)) return a;
    for (let j = 0; j <= p; j++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += xy[r + j * n] * xy[r + p * n];
      a[p + j * m] = s;
      a[j + p * m] = s;
    }
    return a;
  }

  /** Whether a system over other rows can be derived from this one (its first block is grouped). */
  get derivable(): boolean {
    return this.first instanceof GroupedFirstBlock;
  }

  /** The system's own rows as a row block: its terms' codes and z, and [X y]. */
  private ownRows(xy: Float64Array): RowBlock {
    return { n: this.n, codes: this.terms.map((t) => t.codes), z: this.terms.map((t) => t.z), xy };
  }

  private tailCrossproduct(xy: Float64Array): Float64Array {
    const a = new Float64Array(this.tailSize * this.tailSize);
    this.addTailCrossproduct(a, this.ownRows(xy), 1);
    symmetrizeFromLower(a, this.tailSize);
    return a;
  }

  /**
   * Adds (sign 1) or removes (sign -1) the rows' products [Z2..Zm X y]'[Z2..Zm X y] to the lower
   * triangle of `a`.
   */
  private addTailCrossproduct(a: Float64Array, rows: RowBlock, sign: 1 | -1): void {
    const m = this.tailSize;
    const { n, xy } = rows;
    const idx = new Int32Array(m);
    const val = new Float64Array(m);
    for (let r = 0; r < n; r++) {
      let nnz = 0;
      for (let ti = 1; ti < this.terms.length; ti++) {
        const base = this.levelRows[ti][rows.codes[ti][r]];
        const z = rows.z[ti];
        for (let c = 0; c < this.terms[ti].k; c++) {
          idx[nnz] = base + c;
          val[nnz++] = z[r + c * n];
        }
      }
      for (let j = 0; j <= this.p; j++) {
        idx[nnz] = this.tailRe + j;
        val[nnz++] = xy[r + j * n];
      }
      for (let s = 0; s < nnz; s++) {
        const vs = sign * val[s];
        if (vs === 0) continue;
        const cs = idx[s] * m;
        for (let q = 0; q < nnz; q++) if (idx[q] >= idx[s]) a[idx[q] + cs] += val[q] * vs;
      }
    }
  }
}
