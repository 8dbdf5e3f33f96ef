/**
 * Badly scaled or far-off covariates (`Days * 1e6`, `Days * 1e-6`, `Days + 1e6`). The model is
 * the same as with `Days`, in other coordinates, but lambda's elements must then differ by many
 * orders of magnitude (or nearly cancel the intercept) and the search over theta stops far from
 * the optimum (lme4's does too), while X'X loses the criterion to rounding.
 *
 * So such a model is fitted on columns divided by their standard deviations and, beside an
 * intercept, centred: x_j = s_j x~_j + c_j 1, that is X = X~ T with T the identity but for s_j
 * on the diagonal and c_j in the intercept's row (z = z~ T_t per random-effects term likewise).
 * Then beta~ = T beta, b~ = T_t b and Sigma~ = T_t Sigma T_t', and every result is mapped back:
 * beta = T^-1 beta~, vcov = T^-1 vcov~ T^-T, b = T_t^-1 b~, lambda the lower-triangular factor of
 * T_t^-1 lambda~ (an LQ decomposition: forming Sigma first would lose its small elements), and
 * the REML criterion adds 2 log|det T|, the Jacobian of beta's reparametrization (the deviance
 * is unchanged). A contrast l of beta is l T^-1 of beta~, and Satterthwaite's df, invariant under
 * a reparametrization of the variance parameters, are those of the mapped fit.
 *
 * Centring needs an all-ones column in the same matrix; a term of one column is only rescaled.
 * Whole-brain fits map their voxels' records the same way (src/brain/lmerbrain.ts).
 */
import type { ModelFrame } from '../frame/types';
import { lambdasOf } from './reterm';

/** lme4's checkScaleX tolerance: standard deviations (or their ratios) beyond 1e3 */
const SCALE_TOLERANCE = 1e3;

interface ColumnScale {
  centre: number;
  scale: number;
}

/** Mean and standard deviation of a continuous column (not all 0/1); undefined for 0/1 or constant ones. */
function columnScale(values: Float64Array, from: number, n: number): ColumnScale | undefined {
  let sum = 0;
  let binary = true;
  for (let i = 0; i < n; i++) {
    const v = values[from + i];
    sum += v;
    if (v !== 0 && v !== 1) binary = false;
  }
  if (binary) return undefined;
  const centre = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[from + i] - centre) ** 2;
  const scale = Math.sqrt(ss / (n - 1));
  return scale > 0 ? { centre, scale } : undefined;
}

/** A column's spread is far from 1. */
const badlyScaled = (s: ColumnScale) => s.scale > SCALE_TOLERANCE || s.scale < 1 / SCALE_TOLERANCE;
/** A column sits far from 0 for its spread: beside an intercept, the two nearly coincide. */
const farOff = (s: ColumnScale) => Math.abs(s.centre) > SCALE_TOLERANCE * s.scale;

/**
 * lme4's message when the continuous fixed-effects columns have standard deviations beyond 1e3 or
 * below 1e-3, or ratios beyond 1e3 (lme4's checkScaleX).
 */
export function scaleWarning(frame: ModelFrame): string | undefined {
  const { n, X } = frame;
  const sds = frame.xNames.flatMap((_, j) => columnScale(X, j * n, n)?.scale ?? []);
  const logs = sds.map(Math.log);
  const bad = logs.some((a) => Math.abs(a) > Math.log(SCALE_TOLERANCE)) || logs.some((a) => logs.some((b) => Math.abs(a - b) > Math.log(SCALE_TOLERANCE)));
  return bad ? 'Some predictor variables are on very different scales: consider rescaling' : undefined;
}

/** The affine change x_j = s_j x~_j + c_j (c_j times the intercept column) of a matrix's k columns: X = X~ T. */
export class ColumnMap {
  constructor(
    readonly k: number,
    /** the all-ones column, -1 if none (then every centre is 0) */
    readonly intercept: number,
    readonly centres: Float64Array,
    readonly scales: Float64Array,
  ) {}

  /** Whether some column is far from 0 beside the intercept or badly scaled. */
  get needed(): boolean {
    return this.scales.some(
      (s, j) => badlyScaled({ centre: this.centres[j], scale: s }) || (this.intercept >= 0 && farOff({ centre: this.centres[j], scale: s })),
    );
  }

  /** Whether some column sits far from 0 beside the intercept (the user's covariance parameters are then ill-conditioned). */
  get farOff(): boolean {
    return this.intercept >= 0 && this.scales.some((s, j) => farOff({ centre: this.centres[j], scale: s }));
  }

  /** log |det T| */
  get logDet(): number {
    return this.scales.reduce((sum, s) => sum + Math.log(s), 0);
  }

  /** T^-1 v in place for a coefficient vector v~ (stride apart): the coefficients of the user's columns */
  back(v: Float64Array, from = 0, stride = 1): Float64Array {
    let shift = 0;
    for (let j = 0; j < this.k; j++) {
      if (j === this.intercept) continue;
      v[from + j * stride] /= this.scales[j];
      shift += this.centres[j] * v[from + j * stride];
    }
    if (this.intercept >= 0) v[from + this.intercept * stride] -= shift;
    return v;
  }

  /** T v in place: the mapped columns' coefficients of the user's v */
  forward(v: Float64Array, from = 0, stride = 1): Float64Array {
    if (this.intercept >= 0)
      for (let j = 0; j < this.k; j++) if (j !== this.intercept) v[from + this.intercept * stride] += this.centres[j] * v[from + j * stride];
    for (let j = 0; j < this.k; j++) if (j !== this.intercept) v[from + j * stride] *= this.scales[j];
    return v;
  }

  /** T^-T l: the contrast of the mapped coefficients equal to l of the user's, l beta = (T^-T l)' beta~ */
  contrastForward(l: ArrayLike<number>): Float64Array {
    const out = Float64Array.from(l);
    const atIntercept = this.intercept >= 0 ? out[this.intercept] : 0;
    for (let j = 0; j < this.k; j++) if (j !== this.intercept) out[j] = (out[j] - this.centres[j] * atIntercept) / this.scales[j];
    return out;
  }

  /** T^-1 M T^-T of a k x k (column-major) covariance on the mapped columns */
  backCovariance(m: Float64Array): Float64Array {
    const out = Float64Array.from(m);
    for (let c = 0; c < this.k; c++) this.back(out, c * this.k);
    for (let r = 0; r < this.k; r++) this.back(out, r, this.k);
    return out;
  }

  /** The user's lower-triangular lambda from the mapped one: L with L L' = T^-1 lambda~ lambda~' T^-T */
  backLambda(lambda: Float64Array): Float64Array {
    const m = Float64Array.from(lambda);
    for (let c = 0; c < this.k; c++) this.back(m, c * this.k);
    return lowerFactor(m, this.k);
  }

  /** The mapped lower-triangular lambda from the user's one (a starting value) */
  forwardLambda(lambda: Float64Array): Float64Array {
    const m = Float64Array.from(lambda);
    for (let c = 0; c < this.k; c++) this.forward(m, c * this.k);
    return lowerFactor(m, this.k);
  }

  /** The columns mapped: x~_j = (x_j - c_j) / s_j */
  apply(values: Float64Array, n: number): Float64Array {
    const out = Float64Array.from(values);
    for (let j = 0; j < this.k; j++) for (let i = 0; i < n; i++) out[j * n + i] = (values[j * n + i] - this.centres[j]) / this.scales[j];
    return out;
  }

  /** The map of a matrix's columns: continuous columns are scaled, and centred where there is an intercept. */
  static of(values: Float64Array, n: number, k: number): ColumnMap {
    const isOnes = (j: number) => values.subarray(j * n, (j + 1) * n).every((v) => v === 1);
    const intercept = Array.from({ length: k }, (_, j) => j).find(isOnes) ?? -1;
    const centres = new Float64Array(k);
    const scales = new Float64Array(k).fill(1);
    for (let j = 0; j < k; j++) {
      const s = columnScale(values, j * n, n);
      if (!s) continue;
      scales[j] = s.scale;
      if (intercept >= 0) centres[j] = s.centre;
    }
    return new ColumnMap(k, intercept, centres, scales);
  }
}

/**
 * The lower-triangular L (positive diagonal) with L L' = M M' for a k x k M (column-major), by
 * Givens rotations from the right (an LQ decomposition): accurate where M M' nearly cancels.
 */
function lowerFactor(m: Float64Array, k: number): Float64Array {
  const a = Float64Array.from(m);
  for (let i = 0; i < k; i++)
    for (let j = i + 1; j < k; j++) {
      const x = a[i + i * k];
      const y = a[i + j * k];
      if (y === 0) continue;
      const r = Math.hypot(x, y);
      const c = x / r;
      const s = y / r;
      for (let row = i; row < k; row++) {
        const u = a[row + i * k];
        const v = a[row + j * k];
        a[row + i * k] = c * u + s * v;
        a[row + j * k] = -s * u + c * v;
      }
    }
  for (let j = 0; j < k; j++) if (a[j + j * k] < 0) for (let row = j; row < k; row++) a[row + j * k] = -a[row + j * k];
  return a;
}

/** The columns of a model's X and random-effects terms mapped to a well-scaled, centred frame, and back. */
export interface CovariateScaling {
  /** the frame with mapped columns, on which the model is fitted */
  frame: ModelFrame;
  /** X = X~ T */
  fixed: ColumnMap;
  /** each term's z = z~ T_t, in the order of the terms given */
  terms: ColumnMap[];
  /** theta of the mapped frame as theta of the user's (terms in lme4's order) */
  thetaBack(theta: ArrayLike<number>): number[];
  /** theta of the user's frame as theta of the mapped one (a starting value) */
  thetaForward(theta: ArrayLike<number>): number[];
}

/** The mapping of `frame` when some column of X or Z is badly scaled or far off beside an intercept; undefined when none is. */
export function covariateScaling(frame: ModelFrame, terms: { z: Float64Array; k: number }[]): CovariateScaling | undefined {
  const { n, X } = frame;
  const fixed = ColumnMap.of(X, n, frame.xNames.length);
  const byColumns = new Map(frame.reTerms.map((t) => [t.z, ColumnMap.of(t.z, n, t.names.length)]));
  if (!fixed.needed && ![...byColumns.values()].some((m) => m.needed)) return undefined;
  const termMaps = terms.map((t) => byColumns.get(t.z)!);
  // lambda from theta, mapped, and back to theta (each lower triangle, column by column)
  const mapTheta = (theta: ArrayLike<number>, map: (m: ColumnMap, lambda: Float64Array) => Float64Array) =>
    lambdasOf(terms, theta).flatMap((lambda, t) => {
      const { k } = terms[t];
      const mapped = map(termMaps[t], lambda);
      return Array.from({ length: k }, (_, j) => Array.from({ length: k - j }, (_, i) => mapped[i + j + j * k])).flat();
    });
  return {
    frame: { ...frame, X: fixed.apply(X, n), reTerms: frame.reTerms.map((t) => ({ ...t, z: byColumns.get(t.z)!.apply(t.z, n) })) },
    fixed,
    terms: termMaps,
    thetaBack: (theta) => mapTheta(theta, (m, lambda) => m.backLambda(lambda)),
    thetaForward: (theta) => mapTheta(theta, (m, lambda) => m.forwardLambda(lambda)),
  };
}
