/**
 * One voxel's fit on a blocked system whose response has been set: the ROI fit's search
 * (`optimizeTheta`, the same profiled deviance and gradient), warm-started from the previous
 * voxel's theta, then sigma, beta and the unscaled covariance of beta at the optimum.
 */
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
export function fitSystem(system: BlockedSystem, REML: boolean, start: number[]): VoxelEstimate | null {
  const { n, p } = system;
  const { theta } = optimizeTheta(system, REML, start);
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
    objective: dev,
    unscaledVcov: system.unscaledVcov(),
  };
}
