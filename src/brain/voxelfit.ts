/**
 * One voxel's fit on a blocked system whose response has been set: the same profiled deviance
 * as the ROI fit (`profiledDeviance`), minimised by a bracketed Brent search when theta is a
 * single number and by the ROI optimizer (`minimizeBounded`) otherwise, warm-started from the
 * previous voxel.
 */
import type { BlockedSystem } from '../lmm/blocked';
import { profiledDeviance, profiledSigma } from '../lmm/objective';
import { minimizeBounded } from '../lmm/optimize';

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
  evaluations: number;
}

const GOLDEN = 0.3819660112501051;

/**
 * Brent's minimisation (R's optimize / fmin) of f on [a, b], with x0 inside and f(x0) = f0
 * already known. Converges to |x - x*| within 1.5e-8 |x| + 1e-10.
 */
function brent(f: (x: number) => number, a: number, b: number, x0: number, f0: number): { x: number; fx: number } {
  const eps = 1.5e-8;
  const tol = 1e-10;
  let x = x0;
  let w = x0;
  let v = x0;
  let fx = f0;
  let fw = f0;
  let fv = f0;
  let d = 0;
  let e = 0;
  for (let iter = 0; iter < 200; iter++) {
    const xm = 0.5 * (a + b);
    const tol1 = eps * Math.abs(x) + tol / 3;
    const tol2 = 2 * tol1;
    if (Math.abs(x - xm) <= tol2 - 0.5 * (b - a)) break;
    let golden = true;
    if (Math.abs(e) > tol1) {
      // parabola through x, w, v
      let r = (x - w) * (fx - fv);
      let q = (x - v) * (fx - fw);
      let pp = (x - v) * q - (x - w) * r;
      q = 2 * (q - r);
      if (q > 0) pp = -pp;
      else q = -q;
      r = e;
      e = d;
      if (Math.abs(pp) < Math.abs(0.5 * q * r) && pp > q * (a - x) && pp < q * (b - x)) {
        d = pp / q;
        const u = x + d;
        if (u - a < tol2 || b - u < tol2) d = xm >= x ? tol1 : -tol1;
        golden = false;
      }
    }
    if (golden) {
      e = x >= xm ? a - x : b - x;
      d = GOLDEN * e;
    }
    const u = Math.abs(d) >= tol1 ? x + d : x + (d > 0 ? tol1 : -tol1);
    const fu = f(u);
    if (fu <= fx) {
      if (u >= x) a = x;
      else b = x;
      v = w;
      fv = fw;
      w = x;
      fw = fx;
      x = u;
      fx = fu;
    } else {
      if (u < x) a = u;
      else b = u;
      if (fu <= fw || w === x) {
        v = w;
        fv = fw;
        w = u;
        fw = fu;
      } else if (fu <= fv || v === x || v === w) {
        v = u;
        fv = fu;
      }
    }
  }
  return { x, fx };
}

/** Minimum of f over [0, inf): a bracket grown from x0 by golden steps, then Brent; the bound 0 is kept when it is best. */
export function minimizeNonNegative(f: (x: number) => number, x0: number): { x: number; fx: number } {
  const start = Math.max(x0, 1e-3);
  const h = 0.05 * Math.max(start, 0.1);
  const f0 = f(start);
  const right = start + h;
  const fRight = f(right);
  // a bracket a < x < b with f(x) <= f(a), f(b)
  let a: number;
  let b: number;
  let x: number;
  let fx: number;
  if (fRight < f0) {
    let prev = start;
    let cur = right;
    let fCur = fRight;
    for (;;) {
      const next = cur + 1.618 * (cur - prev);
      const fNext = f(next);
      if (!(fNext < fCur)) {
        [a, x, fx, b] = [prev, cur, fCur, next];
        break;
      }
      [prev, cur, fCur] = [cur, next, fNext];
      if (cur > 1e8) return { x: cur, fx: fCur };
    }
  } else {
    let hi = right;
    let cur = start;
    let fCur = f0;
    for (;;) {
      const next = Math.max(0, cur - 1.618 * (hi - cur));
      const fNext = f(next);
      if (!(fNext < fCur)) {
        [a, x, fx, b] = [next, cur, fCur, hi];
        break;
      }
      [hi, cur, fCur] = [cur, next, fNext];
      if (cur === 0) {
        // the bound is the lowest point seen: the minimum is there unless f still falls just inside
        const eps = 1e-7 * hi;
        const fEps = f(eps);
        if (!(fEps < fCur)) return { x: 0, fx: fCur };
        [a, x, fx, b] = [0, eps, fEps, hi];
        break;
      }
    }
  }
  const best = brent(f, a, b, x, fx);
  if (best.x < 1e-6) {
    const fZero = f(0);
    if (fZero <= best.fx) return { x: 0, fx: fZero };
  }
  return best;
}

/**
 * Fits the system's current response: theta by the one-dimensional search or the ROI optimizer,
 * then sigma, beta and the unscaled covariance of beta at the optimum. Null when the deviance is
 * not finite there (a degenerate response).
 */
export function fitSystem(system: BlockedSystem, lower: number[], REML: boolean, start: number[]): VoxelEstimate | null {
  const { n, p } = system;
  let evaluations = 0;
  const objective = (theta: ArrayLike<number>): number => {
    evaluations++;
    const e = system.evaluate(theta);
    if (!e) return Infinity;
    const d = profiledDeviance(e, n, p, REML);
    return Number.isNaN(d) ? Infinity : d;
  };
  let theta: number[];
  if (system.ntheta === 1) {
    const one = new Float64Array(1);
    theta = [
      minimizeNonNegative((x) => {
        one[0] = x;
        return objective(one);
      }, start[0]).x,
    ];
  } else {
    // the analytic gradient of the grouped system (minimizeBounded also escapes a diagonal
    // theta stalled at the bound 0, a stationary point of the deviance)
    const opt = minimizeBounded(objective, start, lower, { gradient: () => system.gradient(REML) });
    theta = opt.x.map((v, i) => (lower[i] === 0 && v < 0 ? 0 : v));
  }
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
    evaluations,
  };
}
