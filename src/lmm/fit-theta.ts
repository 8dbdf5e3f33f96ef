/**
 * The search for theta, written once for every fit: an ROI model, and each voxel of a
 * whole-brain fit (the same system with another response swapped in). Bound-constrained
 * quasi-Newton on the profiled deviance with the system's analytic gradient; where the tail is
 * wide and has cheap terms, their elements are profiled out of the search.
 */
import type { BlockedSystem } from './blocked';
import type { CheapTermProfile } from './cheap-terms';
import { profiledDeviance } from './objective';
import { minimizeBounded } from './optimize';

export interface ThetaFit {
  /** the optimum, diagonal elements of lambda clamped at their bound 0 */
  theta: number[];
  /** objective evaluations of the search */
  evaluations: number;
  converged: boolean;
  message: string;
}

export interface ThetaSearchOptions {
  maxEvaluations?: number;
  /** a starting inverse Hessian of the profiled deviance in theta (a similar fit's: the previous voxel's) */
  inverseHessian?: Float64Array;
}

export function optimizeTheta(system: BlockedSystem, REML: boolean, start: ArrayLike<number>, options: ThetaSearchOptions = {}): ThetaFit {
  const lower = system.terms.flatMap((t) => t.thetaLowerBounds());
  const { n, p } = system;
  const opt = system.cheap
    ? optimizeProfilingCheap(system, system.cheap, REML, start, lower, options)
    : minimizeBounded(
        (theta) => {
          const e = system.evaluate(theta);
          return e ? profiledDeviance(e, n, p, REML) : Infinity;
        },
        start,
        lower,
        // the analytic gradient from the factorization just computed at theta
        { maxEvaluations: options.maxEvaluations, inverseHessian: options.inverseHessian, gradient: () => system.gradient(REML) },
      );
  return { theta: opt.x.map((v, i) => (lower[i] === 0 && v < 0 ? 0 : v)), evaluations: opt.evaluations, converged: opt.converged, message: opt.message };
}

/**
 * The search over theta with the cheap terms' elements profiled out (see
 * CheapTermProfile): the outer search moves the others, each of its evaluations
 * minimizing over the cheap ones from the trailing block alone; its gradient is the full
 * gradient's other elements at that minimum (an envelope).
 */
function optimizeProfilingCheap(
  system: BlockedSystem,
  profile: CheapTermProfile,
  REML: boolean,
  start: ArrayLike<number>,
  lower: number[],
  options: { maxEvaluations?: number },
): { x: number[]; evaluations: number; converged: boolean; message: string } {
  const { n, p } = system;
  const cheap = profile.thetaIndices();
  const outer = lower.map((_, i) => i).filter((i) => !cheap.includes(i));
  const theta = Array.from(start);
  const merged = (x: ArrayLike<number>) => {
    outer.forEach((i, j) => (theta[i] = x[j]));
    return theta;
  };
  let innerConverged = true;
  // the lowest point so far and its cheap elements, so that the optimum needs no re-evaluation
  let best = { fx: Infinity, x: [] as number[], cheap: [] as number[] };
  const objective = (x: ArrayLike<number>): number => {
    if (!profile.profile(merged(x))) return Infinity;
    const inner = minimizeBounded(
      (c) => {
        const e = profile.evaluate(c);
        return e ? profiledDeviance(e, n, p, REML) : Infinity;
      },
      cheap.map((i) => theta[i]),
      cheap.map((i) => lower[i]),
    );
    innerConverged &&= inner.converged;
    cheap.forEach((i, j) => (theta[i] = inner.x[j]));
    if (inner.fx < best.fx) best = { fx: inner.fx, x: Array.from(x), cheap: inner.x };
    return inner.fx;
  };
  const opt = minimizeBounded(
    objective,
    outer.map((i) => start[i]),
    outer.map((i) => lower[i]),
    {
      maxEvaluations: options.maxEvaluations,
      gradient: () => {
        if (!profile.finish(theta)) return null;
        const g = system.gradient(REML);
        return g && outer.map((i) => g[i]);
      },
    },
  );
  if (opt.x.every((v, j) => v === best.x[j])) cheap.forEach((i, j) => (theta[i] = best.cheap[j]));
  else objective(opt.x);
  merged(opt.x);
  return { x: theta.slice(), evaluations: opt.evaluations, converged: opt.converged && innerConverged, message: opt.message };
}
