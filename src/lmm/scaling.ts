/**
 * Badly scaled covariates (`Days * 1e6`, `Days * 1e-6`): the model is the same as with `Days` (the
 * fixed effects are rescaled, the random effects' covariance Sigma with them), but lambda's
 * elements must then be 1e-6 or 1e6 times the others and the search over theta stops far from the
 * optimum (lme4 does too). So the search runs on columns divided by their standard deviations and
 * its optimum is mapped back: with z = z~ diag(s), b~ = diag(s) b, so lambda = diag(s)^-1 lambda~.
 * The model is then evaluated at that theta on the user's columns: the deviance is invariant under
 * the rescaling, the REML criterion changes by the log-Jacobian 2 log|det T| of the fixed
 * effects' reparametrization X = X~ T, and that evaluation includes it.
 *
 * Not handled: a covariate far from 0 next to an intercept (`Days + 1e6`). Centring would make the
 * search right, but lambda on the user's columns then nearly cancels the intercept, and the
 * evaluation there loses the criterion to rounding; the fix is to evaluate on centred columns
 * and map every result back.
 */
import type { ModelFrame } from '../frame/types';
import type { ReTerm } from './reterm';

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

/** A column is badly scaled when its spread is far from 1. */
const badlyScaled = (s: ColumnScale) => s.scale > SCALE_TOLERANCE || s.scale < 1 / SCALE_TOLERANCE;

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

/** The columns divided by their standard deviations (0/1 and constant columns as they are) and those scales. */
function rescale(values: Float64Array, n: number, k: number): { values: Float64Array; scales: Float64Array } {
  const out = Float64Array.from(values);
  const scales = new Float64Array(k).fill(1);
  for (let j = 0; j < k; j++) {
    const s = columnScale(values, j * n, n);
    if (!s) continue;
    for (let i = 0; i < n; i++) out[j * n + i] /= s.scale;
    scales[j] = s.scale;
  }
  return { values: out, scales };
}

export interface CovariateScaling {
  /** the frame with scaled columns, on which the search runs */
  frame: ModelFrame;
  /** theta of the rescaled frame's optimum, as theta of the original frame (terms in lme4's order) */
  thetaBack(theta: ArrayLike<number>): number[];
}

/** The rescaling of `frame` when some column of X or Z has a spread far from 1; undefined when none has. */
export function covariateScaling(frame: ModelFrame, terms: ReTerm[]): CovariateScaling | undefined {
  const { n, X } = frame;
  const p = frame.xNames.length;
  const bad = (values: Float64Array, k: number) => Array.from({ length: k }, (_, j) => columnScale(values, j * n, n)).some((s) => s && badlyScaled(s));
  if (!bad(X, p) && !frame.reTerms.some((t) => bad(t.z, t.names.length))) return undefined;
  const termScales = new Map<Float64Array, Float64Array>();
  const reTerms = frame.reTerms.map((t) => {
    const { values, scales } = rescale(t.z, n, t.names.length);
    termScales.set(t.z, scales);
    return { ...t, z: values };
  });
  return {
    frame: { ...frame, X: rescale(X, n, p).values, reTerms },
    thetaBack(theta) {
      // z = z~ diag(s): b~ = diag(s) b, so lambda = diag(s)^-1 lambda~ (still lower-triangular)
      const out: number[] = [];
      let t = 0;
      for (const term of terms) {
        const scales = termScales.get(term.z)!;
        for (let j = 0; j < term.k; j++) for (let i = j; i < term.k; i++) out.push(theta[t++] / scales[i]);
      }
      return out;
    },
  };
}
