/**
 * Satterthwaite's degrees of freedom for linear mixed models, as lmerTest computes them
 * (Kuznetsova, Brockhoff & Christensen 2017): the asymptotic covariance A of the variance
 * parameters varpar = (theta, sigma) is twice the (pseudo-)inverse of the Hessian of the
 * deviance in varpar (lmerTest's devfun_vp), the gradient of vcov(beta) in varpar is its
 * numerical Jacobian, and a contrast l has df = 2 (l'Vl)^2 / (g'Ag) with g_i = l' dV/dvarpar_i l.
 *
 * Everything here needs only a model-like object (the fitted LinearMixedModel, or one voxel of
 * the whole-brain engine): its blocked system, theta, sigma, REML, n, p and beta. The varpar
 * covariance and Jacobian are computed once per object and cached.
 */
import type { BlockedSystem, Evaluation } from './blocked';
import type { ColumnMap } from './scaling';
import { varparDeviance } from './objective';
import { richardsonHessian, richardsonJacobian } from '../stats/numderiv';
import { quadraticForm, symmetricEigen } from '../stats/small-dense';

/** What Satterthwaite's method needs from a fitted model. */
export interface VarparModel {
  readonly system: BlockedSystem;
  readonly theta: ArrayLike<number>;
  readonly sigma: number;
  readonly REML: boolean;
  readonly n: number;
  readonly p: number;
  readonly beta: ArrayLike<number>;
  /**
   * Forward instead of central differences of the gradient: ntheta factorizations instead of
   * 2 ntheta, the derivatives accurate to about 1e-6 relative rather than 1e-9 (the whole-brain
   * engine's choice: its maps are compared with lmerTest to 1e-3)
   */
  readonly forwardDifferences?: boolean;
  /** the same model fitted on mapped columns, X = X~ T (see scaling.ts), where the inference is computed */
  readonly rescaling?: { fit: VarparModel; scaling: { fixed: ColumnMap } };
}

/**
 * A model that computes its own variance-parameter quantities: nlme's lme() fits, whose variance
 * parameters include the residual structure's.
 */
export interface OwnVarparModel {
  readonly p: number;
  readonly beta: ArrayLike<number>;
  readonly sigma: number;
  varparInference(): VarparInference;
}

/** A mixed model Satterthwaite's df apply to. */
export type SatterthwaiteModel = VarparModel | OwnVarparModel;

/** The variance-parameter quantities of lmerTest's lmerModLmerTest class. */
export interface VarparInference {
  /** (theta..., sigma) at the optimum */
  varpar: Float64Array;
  /** Hessian of the deviance in varpar, k x k column-major */
  hessian: Float64Array;
  /** asymptotic covariance of varpar, 2 H^+ (Moore-Penrose inverse over positive eigenvalues) */
  covariance: Float64Array;
  /** d vcov(beta) / d varpar_i, one p x p column-major matrix per variance parameter */
  jacobian: Float64Array[];
  /** vcov(beta) = sigma^2 (R_X'R_X)^{-1} at the optimum, p x p */
  vcovBeta: Float64Array;
  /** lmerTest's warnings about negative or near-zero eigenvalues of the Hessian */
  warnings: string[];
}

/** lmerTest's tolerance for classifying the Hessian's eigenvalues */
const EIGEN_TOLERANCE = 1e-8;

const cache = new WeakMap<object, VarparInference>();

/**
 * The asymptotic covariance of the variance parameters and the Jacobian of vcov(beta), computed
 * as lmerTest's as_lmerModLT does (numDeriv's Richardson Hessian and Jacobian), cached per model.
 * Leaves the model's system factorized at its own theta (a voxel's, with `forwardDifferences`,
 * a step away from it).
 */
export function varparInference(model: SatterthwaiteModel): VarparInference {
  if ('varparInference' in model) return model.varparInference();
  let result = cache.get(model);
  if (!result) {
    result = computeVarparInference(model);
    cache.set(model, result);
  }
  return result;
}

function computeVarparInference(model: VarparModel): VarparInference {
  if (model.rescaling) {
    // vcov(beta) = T^-1 vcov(beta~) T^-T, and so its derivatives; varpar is the mapped fit's, on which the df do not depend
    const { fixed } = model.rescaling.scaling;
    const mapped = varparInference(model.rescaling.fit);
    return { ...mapped, vcovBeta: fixed.backCovariance(mapped.vcovBeta), jacobian: mapped.jacobian.map((J) => fixed.backCovariance(J)) };
  }
  const { hessian, jacobian, unscaledAtOptimum } = derivativesFromGradient(model) ?? richardsonDerivatives(model);
  const { system, p, sigma } = model;
  const e = unscaledAtOptimum ? null : system.evaluate(model.theta); // leaves the system at the model's theta
  const unscaled = unscaledAtOptimum ?? (e ? system.unscaledVcov() : new Float64Array(p * p).fill(NaN));
  // plain loops: a typed array's map calls its closure per entry, which a voxel's p x p feels
  // one allocation for both (a typed array of p x p is allocated outside the heap, at a cost)
  const buffer = new Float64Array(2 * p * p);
  const vcovBeta = buffer.subarray(0, p * p);
  const sigmaJacobian = buffer.subarray(p * p);
  for (let e = 0; e < p * p; e++) {
    vcovBeta[e] = unscaled[e] * sigma * sigma;
    // vcov(beta) = sigma^2 U(theta): its derivative in sigma is exactly 2 sigma U
    sigmaJacobian[e] = 2 * sigma * unscaled[e];
  }
  jacobian.push(sigmaJacobian);
  const nt = model.theta.length;
  const varpar = new Float64Array(nt + 1);
  for (let i = 0; i < nt; i++) varpar[i] = model.theta[i];
  varpar[nt] = sigma;
  const { covariance, warnings } = twiceInverseHessian(hessian, varpar.length);
  return { varpar, hessian, covariance, jacobian, vcovBeta, warnings };
}

interface Derivatives {
  hessian: Float64Array;
  jacobian: Float64Array[];
  /** (R_X'R_X)^{-1} at the optimum where the derivatives computed it (forward differences) */
  unscaledAtOptimum?: Float64Array;
}

/** Relative steps of the central and of the forward differences of the analytic gradient */
const GRADIENT_STEP = 1e-4;
const FORWARD_STEP = 1e-6;

/**
 * The Hessian of the deviance in (theta, sigma) and the theta-Jacobian of vcov(beta) by central
 * differences of the analytic gradient: 2 ntheta factorizations where numDeriv's Richardson
 * scheme takes about 20 ntheta^2 (ntheta with `forwardDifferences`, from the gradient at the
 * optimum, which the search leaves factorized). The sigma row is exact (the deviance is explicit
 * in sigma). Both equal lmerTest's Richardson values to far more digits than the df are printed
 * with (the tests check them against lmerTest). Null where the gradient does not exist at a step
 * (a variance at or near its bound 0): numDeriv's scheme is used there.
 */
function derivativesFromGradient(model: VarparModel): Derivatives | null {
  const { system, n, p, REML, sigma } = model;
  const nt = model.theta.length;
  const k = nt + 1;
  const s2 = sigma * sigma;
  const dof = REML ? n - p : n;
  const hessian = new Float64Array(k * k);
  const jacobian: Float64Array[] = [];
  const theta = Float64Array.from(model.theta);
  const at = (): { gradient: Float64Array; pwrss: Float64Array; vcov: Float64Array; residual: number } | null => {
    const e = system.evaluate(theta);
    const parts = e && system.gradientParts(REML);
    return parts ? { gradient: parts.logdet.map((g, j) => g + parts.pwrss[j] / s2), pwrss: parts.pwrss, vcov: system.unscaledVcov(), residual: e.pwrss } : null;
  };
  const forward = model.forwardDifferences === true;
  // forward differences start at the model's theta (most often already factorized there)
  const origin = forward ? at() : null;
  if (forward && !origin) return null;
  for (let i = 0; i < nt; i++) {
    const h = (forward ? FORWARD_STEP : GRADIENT_STEP) * Math.max(Math.abs(theta[i]), 0.1);
    theta[i] = model.theta[i] + h;
    const plus = at();
    let minus = origin;
    if (!forward) {
      theta[i] = model.theta[i] - h;
      minus = at();
    }
    theta[i] = model.theta[i];
    if (!plus || !minus) return null;
    const width = forward ? h : 2 * h;
    for (let j = 0; j < nt; j++) hessian[j + i * k] = (plus.gradient[j] - minus.gradient[j]) / width;
    const dVcov = new Float64Array(p * p);
    for (let e = 0; e < p * p; e++) dVcov[e] = (s2 * (plus.vcov[e] - minus.vcov[e])) / width;
    jacobian.push(dVcov);
  }
  // central differences end at the model's theta, where the system is to be left; forward ones
  // (a voxel's, whose system takes the next response next) have it from their start
  const center = origin ? { pwrss: origin.residual } : system.evaluate(model.theta);
  const atCenter = origin ?? (center && system.gradientParts(REML));
  if (!center || !atCenter) return null;
  for (let i = 0; i < nt; i++)
    for (let j = 0; j < i; j++) {
      const mean = (hessian[i + j * k] + hessian[j + i * k]) / 2;
      hessian[i + j * k] = mean;
      hessian[j + i * k] = mean;
    }
  // d^2/dsigma dtheta_i = -2 dpwrss_i / sigma^3; d^2/dsigma^2 = 6 pwrss / sigma^4 - 2 dof / sigma^2
  for (let i = 0; i < nt; i++) {
    const v = (-2 * atCenter.pwrss[i]) / (s2 * sigma);
    hessian[nt + i * k] = v;
    hessian[i + nt * k] = v;
  }
  hessian[k * k - 1] = (6 * center.pwrss) / (s2 * s2) - (2 * dof) / s2;
  return { hessian, jacobian, unscaledAtOptimum: origin?.vcov };
}

/** lmerTest's own scheme (numDeriv's Richardson Hessian and Jacobian), where the gradient is not available. */
function richardsonDerivatives(model: VarparModel): Derivatives {
  const { system, n, p, REML, sigma } = model;
  const ntheta = model.theta.length;
  const varpar = Float64Array.from([...Array.from(model.theta), sigma]);
  // the Hessian's steps revisit each theta with several sigmas: factorize each theta once
  const evaluations = new Map<string, Evaluation | null>();
  const evaluateTheta = (theta: Float64Array): Evaluation | null => {
    const key = theta.join(',');
    if (!evaluations.has(key)) evaluations.set(key, system.evaluate(theta));
    return evaluations.get(key)!;
  };
  const deviance = (vp: Float64Array): number => {
    const e = evaluateTheta(vp.subarray(0, ntheta));
    return e ? varparDeviance(e, n, p, REML, vp[ntheta]) : NaN;
  };
  const hessian = richardsonHessian(deviance, varpar, { d: 0.1 });
  const unscaledAt = (theta: Float64Array): Float64Array => {
    const e = system.evaluate(theta);
    return e ? system.unscaledVcov() : new Float64Array(p * p).fill(NaN);
  };
  const jacobian = richardsonJacobian((theta) => unscaledAt(theta).map((v) => v * sigma * sigma), model.theta, { d: 1e-4 });
  return { hessian, jacobian };
}

/** 2 H^+ from the eigen-decomposition, with lmerTest's warnings for negative and zero eigenvalues. */
export function twiceInverseHessian(hessian: Float64Array, k: number): { covariance: Float64Array; warnings: string[] } {
  const { values, vectors } = symmetricEigen(hessian, k);
  const warnings: string[] = [];
  // a well-determined fit (every voxel's, nearly) has all eigenvalues positive: no lists to build
  if (!values.every((v) => v > EIGEN_TOLERANCE)) {
    const negative = Array.from(values).filter((v) => v < -EIGEN_TOLERANCE);
    const zero = Array.from(values).filter((v) => Math.abs(v) < EIGEN_TOLERANCE);
    const list = (vs: number[]) => vs.map((v) => v.toExponential(1)).join(' ');
    if (negative.length)
      warnings.push(`Model failed to converge with ${negative.length} negative eigenvalue${negative.length > 1 ? 's' : ''}: ${list(negative)}`);
    if (zero.length) warnings.push(`Model may not have converged with ${zero.length} eigenvalue${zero.length > 1 ? 's' : ''} close to zero: ${list(zero)}`);
  }
  const covariance = new Float64Array(k * k);
  for (let m = 0; m < k; m++) {
    if (!(values[m] > EIGEN_TOLERANCE)) continue;
    const w = 2 / values[m];
    for (let j = 0; j < k; j++) for (let i = 0; i < k; i++) covariance[i + j * k] += w * vectors[i + m * k] * vectors[j + m * k];
  }
  return { covariance, warnings };
}

/** A contrast's estimate, its variance and Satterthwaite's denominator degrees of freedom. */
export interface SatterthwaiteContrast {
  estimate: number;
  variance: number;
  df: number;
}

/** lmerTest's contest1D for one contrast vector l (length p): var = l'Vl, df = 2 var^2 / (g'Ag). */
export function satterthwaite1D(model: SatterthwaiteModel, l: ArrayLike<number>): SatterthwaiteContrast {
  const vi = varparInference(model);
  const p = model.p;
  let estimate = 0;
  for (let j = 0; j < p; j++) estimate += l[j] * model.beta[j];
  const variance = quadraticForm(l, vi.vcovBeta, p);
  const gradient = vi.jacobian.map((J) => quadraticForm(l, J, p));
  const df = (2 * variance * variance) / quadraticForm(gradient, vi.covariance, gradient.length);
  return { estimate, variance, df };
}

/**
 * lmerTest's get_Fstat_ddf: the denominator df of an F statistic that is the mean of q squared
 * t statistics with df nu_m (the mean of nu when they are all equal).
 */
export function fStatisticDdf(nu: number[], tolerance = 1e-8): number {
  if (nu.length === 1) return nu[0];
  if (nu.every((v, i) => i === 0 || Math.abs(v - nu[i - 1]) < tolerance)) return nu.reduce((a, b) => a + b, 0) / nu.length;
  if (nu.some((v) => v <= 2)) return 2;
  const E = nu.reduce((s, v) => s + v / (v - 2), 0);
  return (2 * E) / (E - nu.length);
}

/**
 * Satterthwaite's denominator df of the joint F test of the rows of L (lmerTest's contestMD):
 * the df of the positive eigen-directions of L vcov(beta) L', combined by get_Fstat_ddf. For
 * models whose F statistic is computed elsewhere (nlme's anova keeps its own F).
 */
export function fTestDdf(model: SatterthwaiteModel, rows: Float64Array[]): number {
  const V = varparInference(model).vcovBeta;
  const p = model.p;
  const q0 = rows.length;
  const VL = new Float64Array(q0 * q0);
  for (let i = 0; i < q0; i++) for (let k = 0; k < q0; k++) VL[i + k * q0] = bilinearForm(rows[i], V, rows[k], p);
  const { values, vectors } = symmetricEigen(VL, q0);
  const tolerance = Math.max(Math.sqrt(2.220446049250313e-16) * values[0], 0);
  const nu: number[] = [];
  for (let m = 0; m < q0 && values[m] > tolerance; m++) {
    const l = new Float64Array(p);
    for (let i = 0; i < q0; i++) for (let j = 0; j < p; j++) l[j] += vectors[i + m * q0] * rows[i][j];
    nu.push(satterthwaite1D(model, l).df);
  }
  return nu.length ? fStatisticDdf(nu) : NaN;
}

/** a'Vb for a p x p column-major V */
function bilinearForm(a: ArrayLike<number>, V: Float64Array, b: ArrayLike<number>, p: number): number {
  let s = 0;
  for (let j = 0; j < p; j++) for (let i = 0; i < p; i++) s += a[i] * V[i + j * p] * b[j];
  return s;
}

/** Denominator df of every fixed effect (lmerTest's summary column "df"). */
export function coefficientDf(model: SatterthwaiteModel): number[] {
  const vi = varparInference(model);
  const p = model.p;
  return Array.from({ length: p }, (_, j) => {
    const variance = vi.vcovBeta[j + j * p];
    const gradient = vi.jacobian.map((J) => J[j + j * p]);
    return (2 * variance * variance) / quadraticForm(gradient, vi.covariance, gradient.length);
  });
}
