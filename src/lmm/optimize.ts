/**
 * Bound-constrained minimisation of a smooth function of a few variables (the profiled
 * deviance in theta): projected quasi-Newton (BFGS on the free variables, an active set at
 * the lower bounds) with the caller's analytic gradient where it has one, central differences
 * (~1e-8, their second differences seeding the inverse Hessian) where it has not. Convergence
 * is declared when the quadratic model predicts less than `ftol` further decrease.
 */
export interface OptimizeOptions {
  maxEvaluations?: number;
  /**
   * The gradient at x, called right after f(x); null where it is not available (the search
   * then differentiates numerically).
   */
  gradient?: (x: Float64Array) => ArrayLike<number> | null;
  /** stop when the predicted further decrease of f is below this (absolute) */
  ftol?: number;
  /**
   * A starting inverse Hessian (n x n), e.g. from a similar problem just solved (the previous
   * voxel): the first steps are then Newton-like instead of scaled gradient steps.
   */
  inverseHessian?: Float64Array;
}

export interface OptimizeResult {
  x: number[];
  fx: number;
  evaluations: number;
  converged: boolean;
  message: string;
}

/**
 * Minimises f over x >= lower. The deviance is even in each diagonal element of lambda, so a
 * diagonal theta at its bound 0 is a stationary point where a gradient search can stall while
 * the optimum lies inside; such coordinates are probed inside and the search restarted from a
 * lower point (a genuinely singular fit keeps its zero).
 */
export function minimizeBounded(
  f: (x: Float64Array) => number,
  x0: ArrayLike<number>,
  lower: ArrayLike<number>,
  options: OptimizeOptions = {},
): OptimizeResult {
  let result = projectedBfgs(f, x0, lower, options);
  for (let restart = 0; restart < x0.length; restart++) {
    const probe = Float64Array.from(result.x);
    let best: Float64Array | null = null;
    let bestValue = result.fx - 1e-9 * (1 + Math.abs(result.fx));
    let probes = 0;
    result.x.forEach((xi, i) => {
      // at or near the bound: searches were seen to stall up to 0.05 above it
      if (!(lower[i] > -Infinity) || xi - lower[i] > 0.05) return;
      for (const inside of [0.02, 0.1, 0.5]) {
        probe.set(result.x);
        probe[i] = lower[i] + inside;
        const value = f(probe);
        probes++;
        if (value < bestValue) {
          bestValue = value;
          best = probe.slice();
        }
      }
    });
    result.evaluations += probes;
    if (!best) break;
    const next = projectedBfgs(f, best, lower, { ...options, inverseHessian: undefined });
    next.evaluations += result.evaluations;
    if (!(next.fx < result.fx)) {
      result.evaluations = next.evaluations;
      break;
    }
    result = next;
  }
  return result;
}

/** length (largest coordinate) of a scaled gradient step taken without curvature information */
const FIRST_STEP = 0.1;

function projectedBfgs(f: (x: Float64Array) => number, x0: ArrayLike<number>, lower: ArrayLike<number>, options: OptimizeOptions = {}): OptimizeResult {
  const n = x0.length;
  const maxEvaluations = options.maxEvaluations ?? 1000 * (n + 1) ** 2;
  const ftol = options.ftol ?? 1e-11;
  let evaluations = 0;
  const evaluate = (x: Float64Array): number => {
    evaluations++;
    const v = f(x);
    return Number.isNaN(v) ? Infinity : v;
  };
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.max(x0[i], lower[i]);
  let fx = evaluate(x);
  if (!Number.isFinite(fx)) throw new Error('the objective is not finite at the starting values');

  const probe = new Float64Array(n);
  /** second differences from the last central-difference gradient: a free diagonal Hessian */
  const curvature = new Float64Array(n);
  const gradient = (at: Float64Array, fat: number): Float64Array => {
    const analytic = options.gradient?.(at);
    if (analytic) {
      const g = new Float64Array(n);
      for (let i = 0; i < n; i++) g[i] = analytic[i];
      return g;
    }
    const g = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const h = 1e-5 * Math.max(1, Math.abs(at[i]));
      probe.set(at);
      if (at[i] - h >= lower[i]) {
        probe[i] = at[i] + h;
        const fp = evaluate(probe);
        probe[i] = at[i] - h;
        const fm = evaluate(probe);
        g[i] = (fp - fm) / (2 * h);
        curvature[i] = (fp + fm - 2 * fat) / (h * h);
      } else {
        // one-sided second-order difference at or near the bound
        probe[i] = at[i] + h;
        const f1 = evaluate(probe);
        probe[i] = at[i] + 2 * h;
        const f2 = evaluate(probe);
        g[i] = (-3 * fat + 4 * f1 - f2) / (2 * h);
      }
    }
    return g;
  };

  let g = gradient(x, fx);
  const H = new Float64Array(n * n);
  // the inverse Hessian starts as the inverse of the measured diagonal curvature, so the first
  // step is a diagonal Newton step rather than a blind gradient step; without curvature (an
  // analytic gradient, or a restart) it is a short scaled gradient step, and the first step's
  // s'y / y'y then sets the scale (Nocedal & Wright, eq. 6.20)
  let unscaled = false;
  const resetH = (fromCurvature: boolean) => {
    H.fill(0);
    unscaled = false;
    const fallback = FIRST_STEP / Math.max(1e-8, maxAbs(g));
    for (let i = 0; i < n; i++) {
      const measured = fromCurvature && curvature[i] > 0;
      H[i * n + i] = measured ? 1 / curvature[i] : fallback;
      if (!measured) unscaled = true;
    }
  };
  if (options.inverseHessian) H.set(options.inverseHessian);
  else resetH(true);
  const active = new Uint8Array(n);
  const d = new Float64Array(n);
  const xNew = new Float64Array(n);
  let converged = false;
  let message: string;

  while (true) {
    let activeChanged = false;
    for (let i = 0; i < n; i++) {
      const a = x[i] <= lower[i] && g[i] > 0 ? 1 : 0;
      if (a !== active[i]) activeChanged = true;
      active[i] = a;
    }
    if (activeChanged) resetH(false);
    let slope = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      if (!active[i]) for (let j = 0; j < n; j++) if (!active[j]) s -= H[i * n + j] * g[j];
      d[i] = s;
      slope += s * g[i];
    }
    if (slope >= 0) {
      resetH(false);
      slope = 0;
      for (let i = 0; i < n; i++) {
        d[i] = active[i] ? 0 : -H[i * n + i] * g[i];
        slope += d[i] * g[i];
      }
    }
    // rounding in f limits how small a decrease can be resolved, so the tolerance scales with |f|
    if (-slope / 2 < ftol * (1 + 1e-3 * Math.abs(fx))) {
      converged = true;
      message = 'converged: predicted decrease below tolerance';
      break;
    }
    if (evaluations >= maxEvaluations) {
      message = `maximum number of function evaluations (${maxEvaluations}) reached`;
      break;
    }
    // projected backtracking line search (Armijo)
    // a step may move no variable by more than 1/2: projection onto a bound from far away can
    // land in a boundary local minimum (theta_ii = 0) that the interior optimum beats
    let alpha = Math.min(1, 0.5 / Math.max(maxAbs(d), 1e-300));
    let fNew = Infinity;
    let accepted = false;
    for (let tries = 0; tries < 60; tries++) {
      let decrease = 0;
      let moved = 0;
      for (let i = 0; i < n; i++) {
        xNew[i] = Math.max(lower[i], x[i] + alpha * d[i]);
        decrease += g[i] * (xNew[i] - x[i]);
        moved = Math.max(moved, Math.abs(xNew[i] - x[i]) / (1 + Math.abs(x[i])));
      }
      // a step below the resolution of theta cannot change f: the search is over
      if (moved < 1e-10) break;
      fNew = evaluate(xNew);
      if (fNew <= fx + 1e-4 * decrease) {
        accepted = true;
        break;
      }
      alpha *= Number.isFinite(fNew) ? Math.max(0.1, Math.min(0.5, -decrease / (2 * (fNew - fx - decrease)) / alpha)) : 0.1;
    }
    if (!accepted) {
      converged = maxAbsFree(g, active) < 1e-4 * Math.max(1, Math.abs(fx));
      message = converged ? 'converged: no further decrease possible' : 'line search failed';
      break;
    }
    const gNew = gradient(xNew, fNew);
    const s = new Float64Array(n);
    const yv = new Float64Array(n);
    let sy = 0;
    let yy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      yv[i] = active[i] ? 0 : gNew[i] - g[i];
      if (active[i]) s[i] = 0;
      sy += s[i] * yv[i];
      yy += yv[i] * yv[i];
    }
    const fOld = fx;
    x.set(xNew);
    fx = fNew;
    g = gNew;
    if (sy > 1e-14 * Math.sqrt(yy) * norm(s)) {
      if (unscaled) {
        H.fill(0);
        for (let i = 0; i < n; i++) H[i * n + i] = sy / yy;
        unscaled = false;
      }
      bfgsUpdate(H, s, yv, sy, n);
    }
    if (fOld - fx < ftol * 1e-3 && maxAbs(s) < 1e-12) {
      converged = true;
      message = 'converged: steps below tolerance';
      break;
    }
  }
  return { x: Array.from(x), fx, evaluations, converged, message };
}

/** H <- (I - rho s y') H (I - rho y s') + rho s s', rho = 1 / s'y */
function bfgsUpdate(H: Float64Array, s: Float64Array, y: Float64Array, sy: number, n: number): void {
  const rho = 1 / sy;
  const Hy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < n; j++) v += H[i * n + j] * y[j];
    Hy[i] = v;
  }
  let yHy = 0;
  for (let i = 0; i < n; i++) yHy += y[i] * Hy[i];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) H[i * n + j] += -rho * (Hy[i] * s[j] + s[i] * Hy[j]) + (rho * rho * yHy + rho) * s[i] * s[j];
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

function maxAbsFree(v: ArrayLike<number>, active: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) if (!active[i]) m = Math.max(m, Math.abs(v[i]));
  return m;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}
