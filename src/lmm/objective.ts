import type { Evaluation } from './blocked';

/**
 * The profiled deviance (Bates et al. 2015, eqs. 34 and 41): -2 log-likelihood (ML) or the
 * REML criterion, with sigma and beta profiled out. Written once; lmer, the likelihood-ratio
 * tests and the whole-brain engine all call it.
 */
export function profiledDeviance(e: Evaluation, n: number, p: number, reml: boolean): number {
  const dof = reml ? n - p : n;
  return e.logdetZ + (reml ? e.logdetX : 0) + dof * (1 + Math.log((2 * Math.PI * e.pwrss) / dof));
}

/** sigma at the optimum of the profiled deviance */
export function profiledSigma(e: Evaluation, n: number, p: number, reml: boolean): number {
  return Math.sqrt(e.pwrss / (reml ? n - p : n));
}

/**
 * The deviance as a function of theta and sigma (lmerTest's `devfun_vp`), whose Hessian gives
 * the asymptotic covariance of the variance parameters for Satterthwaite's method.
 */
export function varparDeviance(e: Evaluation, n: number, p: number, reml: boolean, sigma: number): number {
  const s2 = sigma * sigma;
  const dof = reml ? n - p : n;
  return e.logdetZ + (reml ? e.logdetX : 0) + e.pwrss / s2 + dof * Math.log(2 * Math.PI * s2);
}
