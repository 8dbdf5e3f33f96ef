/**
 * Satterthwaite's degrees of freedom for lme() fits, lmerTest's method with nlme's variance
 * parameters: varpar = (theta, the residual structure's unconstrained parameters, sigma). The
 * Hessian of the deviance (-2 log-likelihood, or the REML criterion, beta profiled) in varpar gives
 * their asymptotic covariance, the Jacobian of vcov(beta) in varpar the gradient of a contrast's
 * variance; without a residual structure these are lmerTest's own quantities for the same lmer
 * model. Both by Richardson extrapolation, as lmerTest's numDeriv calls.
 */
import { twiceInverseHessian, type VarparInference } from '../lmm/satterthwaite';
import { richardsonHessian, richardsonJacobian } from '../stats/numderiv';
import type { NlmeModel } from './lme';

/** The variance-parameter quantities Satterthwaite's df need (NlmeModel.varparInference keeps them). */
export function nlmeVarparInference(model: NlmeModel): VarparInference {
  const { sigma, p } = model;
  const ntheta = model.theta.length;
  const varpar = Float64Array.from([...model.theta, ...model.structureParameters, sigma]);
  const k = varpar.length;
  const split = (x: ArrayLike<number>) => ({ theta: Array.prototype.slice.call(x, 0, ntheta), u: Array.prototype.slice.call(x, ntheta, k - 1) });
  const deviance = (x: Float64Array): number => {
    const { theta, u } = split(x);
    return -2 * model.logLikAt(theta, u, x[k - 1]);
  };
  const hessian = richardsonHessian(deviance, varpar, { d: 0.1 });
  const unscaled = (x: ArrayLike<number>): Float64Array => {
    const { theta, u } = split(x);
    return model.unscaledVcovAt(theta, u) ?? new Float64Array(p * p).fill(NaN);
  };
  const vcov = (x: Float64Array) => unscaled(x).map((v) => v * sigma * sigma);
  const jacobian = richardsonJacobian(vcov, varpar.subarray(0, k - 1), { d: 1e-4 });
  const atOptimum = unscaled(varpar);
  // vcov(beta) = sigma^2 U: its derivative in sigma is exactly 2 sigma U
  jacobian.push(atOptimum.map((v) => 2 * sigma * v));
  const { covariance, warnings } = twiceInverseHessian(hessian, k);
  return { varpar, hessian, covariance, jacobian, vcovBeta: atOptimum.map((v) => v * sigma * sigma), warnings };
}
