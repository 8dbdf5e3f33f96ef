import type { RandomTerm } from '../frame/types';

/**
 * A random-effects term `(z | g)` (MixedModels.jl's ReMat): the grouping factor, the term's
 * model matrix and its relative covariance factor lambda, a k x k lower-triangular matrix whose
 * lower triangle, column by column, is this term's slice of theta (lme4's parametrisation).
 */
export class ReTerm {
  readonly group: string;
  readonly names: string[];
  readonly levels: string[];
  readonly codes: Int32Array;
  /** columns of the term's model matrix */
  readonly k: number;
  readonly nlevels: number;
  /** n x k model matrix, column-major */
  readonly z: Float64Array;
  readonly n: number;
  /** k x k lower-triangular relative covariance factor, column-major */
  readonly lambda: Float64Array;
  readonly ntheta: number;
  /** position in `lambda` of each theta element */
  private readonly thetaPositions: Int32Array;

  constructor(term: RandomTerm) {
    this.group = term.group;
    this.names = term.names;
    this.levels = term.factor.levels;
    this.codes = term.factor.codes;
    this.k = term.names.length;
    this.nlevels = this.levels.length;
    this.z = term.z;
    this.n = this.codes.length;
    const k = this.k;
    this.lambda = new Float64Array(k * k);
    this.ntheta = (k * (k + 1)) / 2;
    this.thetaPositions = new Int32Array(this.ntheta);
    let t = 0;
    for (let j = 0; j < k; j++) for (let i = j; i < k; i++) this.thetaPositions[t++] = i + j * k;
    this.setTheta(this.initialTheta(), 0);
  }

  /** lme4's starting value: identity lambda */
  initialTheta(): number[] {
    const out: number[] = [];
    for (let j = 0; j < this.k; j++) for (let i = j; i < this.k; i++) out.push(i === j ? 1 : 0);
    return out;
  }

  /** diagonal elements of lambda are bounded below by 0, off-diagonals are free */
  thetaLowerBounds(): number[] {
    const out: number[] = [];
    for (let j = 0; j < this.k; j++) for (let i = j; i < this.k; i++) out.push(i === j ? 0 : -Infinity);
    return out;
  }

  setTheta(theta: ArrayLike<number>, offset: number): void {
    for (let t = 0; t < this.ntheta; t++) this.lambda[this.thetaPositions[t]] = theta[offset + t];
  }

  /** covariance matrix of this term's random effects at the current lambda (see lambdaCovariance) */
  covariance(sigma: number): Float64Array {
    return lambdaCovariance(this.lambda, this.k, sigma);
  }

  /** Whether the current lambda is singular (see lambdaIsSingular). */
  isSingular(tol = 1e-4): boolean {
    return lambdaIsSingular(this.lambda, this.k, tol);
  }
}

/** Each term's lambda from theta (lme4's layout: each lower triangle, column by column), k x k column-major. */
export function lambdasOf(terms: { k: number }[], theta: ArrayLike<number>): Float64Array[] {
  let offset = 0;
  return terms.map(({ k }) => {
    const lambda = new Float64Array(k * k);
    for (let j = 0; j < k; j++) for (let i = j; i < k; i++) lambda[i + j * k] = theta[offset++];
    return lambda;
  });
}

/** The covariance of a term's random effects, sigma^2 * lambda lambda' (k x k, column-major). */
export function lambdaCovariance(lambda: Float64Array, k: number, sigma: number): Float64Array {
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let m = 0; m <= Math.min(i, j); m++) s += lambda[i + m * k] * lambda[j + m * k];
      out[i + j * k] = sigma * sigma * s;
    }
  return out;
}

/** Whether a k x k lambda is singular: a diagonal element below `tol` (lme4's isSingular rule). */
export function lambdaIsSingular(lambda: Float64Array, k: number, tol = 1e-4): boolean {
  for (let j = 0; j < k; j++) if (lambda[j + j * k] < tol) return true;
  return false;
}

/** lme4 orders random-effects terms by decreasing number of levels (stable). */
export function orderByLevels(terms: ReTerm[]): ReTerm[] {
  return terms
    .map((term, index) => ({ term, index }))
    .sort((a, b) => b.term.nlevels - a.term.nlevels || a.index - b.index)
    .map((x) => x.term);
}
