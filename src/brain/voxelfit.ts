/**
 * One voxel's fit on a blocked system whose response has been set: the ROI fit's search
 * (`optimizeTheta`, the same profiled deviance and gradient), warm-started from the previous
 * voxel's theta, then sigma, beta and the unscaled covariance of beta at the optimum.
 */
import { varparInference } from '../lmm/satterthwaite';
import { choleskyInverse, choleskyLower } from '../linalg/dense';
import type { BlockedSystem } from '../lmm/blocked';
import { optimizeTheta } from '../lmm/fit-theta';
import { profiledDeviance, profiledSigma } from '../lmm/objective';

/** The model-like view of a voxel's fit that the inference functions take. */
export interface VoxelModel {
  system: BlockedSystem;
  theta: number[];
  sigma: number;
  REML: boolean;
  n: number;
  p: number;
  beta: Float64Array;
  /** Satterthwaite's derivatives by forward differences: half the factorizations, to 1e-6 */
  forwardDifferences: true;
}

export interface VoxelEstimate extends VoxelModel {
  /** REML criterion or ML deviance at the optimum */
  objective: number;
  /** unscaled covariance of the fixed effects (p x p) */
  unscaledVcov: Float64Array;
}

/**
 * Fits the system's current response from theta `start`. Null when the deviance is not finite
 * at the optimum (a degenerate response).
 */
export function fitSystem(system: BlockedSystem, REML: boolean, start: number[], inverseHessian?: Float64Array): VoxelEstimate | null {
  const { n, p } = system;
  const { theta } = optimizeTheta(system, REML, start, { inverseHessian });
  const e = system.evaluate(theta);
  if (!e) return null;
  const dev = profiledDeviance(e, n, p, REML);
  if (!Number.isFinite(dev) || !(e.pwrss > 0)) return null;
  return {
    system,
    theta,
    sigma: profiledSigma(e, n, p, REML),
    REML,
    n,
    p,
    beta: system.fixedEffects(),
    forwardDifferences: true,
    objective: dev,
    unscaledVcov: system.unscaledVcov(),
  };
}

/**
 * After the voxel's contrasts (which differentiate its deviance in (theta, sigma) for
 * Satterthwaite's df): the inverse Hessian of the profiled deviance in theta, the Schur
 * complement of sigma's row, to start the next voxel's search with. Undefined at a bound or
 * where it is not positive definite.
 */
export function thetaInverseHessian(e: VoxelEstimate): Float64Array | undefined {
  const nt = e.theta.length;
  const lower = e.system.terms.flatMap((t) => t.thetaLowerBounds());
  if (e.theta.some((t, i) => lower[i] === 0 && t < 1e-3)) return undefined;
  const H = varparInference(e).hessian;
  const k = nt + 1;
  const ss = H[k * k - 1];
  const profiled = new Float64Array(nt * nt);
  for (let j = 0; j < nt; j++) for (let i = 0; i < nt; i++) profiled[i + j * nt] = H[i + j * k] - (H[i + nt * k] * H[nt + j * k]) / ss;
  if (!(ss > 0) || !choleskyLower(profiled, nt)) return undefined;
  const inverse = new Float64Array(nt * nt);
  choleskyInverse(profiled, nt, inverse);
  return inverse;
}
