/**
 * lme4's confint(model, method = "Wald" | "profile" | "boot"): rows .sig01, .sig02, ... (the
 * standard deviations and correlations of each random-effects term, lower triangle by columns
 * as theta), .sigma, then the fixed effects.
 *
 * - Wald: fixed effects only, beta +- z SE (variance components NaN, as lme4 gives NA).
 * - profile: likelihood-profile intervals from the ML deviance (lme4 refits REML fits with ML
 *   to profile), zeta(x) = sign(x - x_hat) sqrt(dev(x) - dev_min) = +-z solved by bracketing;
 *   variance components are profiled on the sd/correlation scale with the other parameters
 *   re-optimized, fixed effects by ML refits with the coefficient held fixed. lme4 interpolates
 *   a profile on a grid by splines; here the crossing points are solved for, so the two agree
 *   to lme4's interpolation error.
 * - boot: parametric bootstrap (nsim simulations, refits with the model's criterion), percentile
 *   intervals as boot.ci(type = "perc") computes them.
 */
import { formatColumn } from '../display/format';
import { htmlTable, textTable, type TableSpec } from '../display/html';
import type { MimeBundle } from '../display/mime';
import { ModelError } from '../errors';
import { LinearModel } from '../lmm/lm';
import { LinearMixedModel } from '../lmm/model';
import { minimizeBounded } from '../lmm/optimize';
import { lambdaCovariance } from '../lmm/reterm';
import { normalQuantile } from '../stats/distributions';
import { randomSeed } from '../stats/rng';
import { refit, simulate } from './simulate';

export interface ConfintOptions {
  method?: 'Wald' | 'profile' | 'boot';
  /** confidence level (default 0.95) */
  level?: number;
  /** bootstrap simulations (default 500) */
  nsim?: number;
  /** bootstrap seed (R's set.seed) */
  seed?: number;
}

export class ConfintTable {
  constructor(
    readonly names: string[],
    readonly lower: number[],
    readonly upper: number[],
    readonly level: number,
    readonly method: string,
  ) {}

  /** R's column names: "2.5 %", "97.5 %" */
  get columns(): [string, string] {
    const pct = (a: number) => `${formatColumn([100 * a], 3)[0]} %`;
    return [pct((1 - this.level) / 2), pct((1 + this.level) / 2)];
  }

  private spec(): TableSpec {
    const lower = formatColumn(this.lower, 7).map((s, i) => (Number.isNaN(this.lower[i]) ? 'NA' : s));
    const upper = formatColumn(this.upper, 7).map((s, i) => (Number.isNaN(this.upper[i]) ? 'NA' : s));
    return { columns: [...this.columns], rows: this.names.map((_, i) => [lower[i], upper[i]]), rowLabels: this.names, align: ['right', 'right'] };
  }

  toString(): string {
    return textTable(this.spec());
  }

  toMimeBundle(): MimeBundle {
    return { 'text/plain': this.toString(), 'text/html': htmlTable(this.spec()) };
  }

  toJSON() {
    return { method: this.method, level: this.level, names: this.names, lower: this.lower, upper: this.upper };
  }
}

/** lme4's names of the variance parameters: .sig01, .sig02, ... then .sigma. */
export function varianceParameterNames(model: LinearMixedModel): string[] {
  const count = model.terms.reduce((s, t) => s + (t.k * (t.k + 1)) / 2, 0);
  const width = Math.max(2, String(count).length);
  return [...Array.from({ length: count }, (_, i) => `.sig${String(i + 1).padStart(width, '0')}`), '.sigma'];
}

/**
 * The variance parameters on lme4's profile scale: per term the lower triangle (by columns) of
 * the matrix with standard deviations on the diagonal and correlations below, then sigma.
 */
export function sdcorParameters(model: LinearMixedModel, theta: ArrayLike<number> = model.theta, sigma = model.sigma): number[] {
  const out: number[] = [];
  let offset = 0;
  for (const term of model.terms) {
    const k = term.k;
    const lam = new Float64Array(k * k);
    for (let j = 0; j < k; j++) for (let i = j; i < k; i++) lam[i + j * k] = theta[offset++];
    const cov = lambdaCovariance(lam, k, sigma);
    const sd = Array.from({ length: k }, (_, i) => Math.sqrt(cov[i + i * k]));
    for (let j = 0; j < k; j++) for (let i = j; i < k; i++) out.push(i === j ? sd[i] : sd[i] > 0 && sd[j] > 0 ? cov[i + j * k] / (sd[i] * sd[j]) : 0);
  }
  out.push(sigma);
  return out;
}

/** theta from the sd/correlation parameters (null when a correlation matrix is not positive semidefinite). */
function thetaFromSdcor(model: LinearMixedModel, pars: ArrayLike<number>): Float64Array | null {
  const sigma = pars[pars.length - 1];
  const theta: number[] = [];
  let offset = 0;
  for (const term of model.terms) {
    const k = term.k;
    const sd = new Float64Array(k);
    const cor = new Float64Array(k * k);
    for (let j = 0; j < k; j++)
      for (let i = j; i < k; i++) {
        const v = pars[offset++];
        if (i === j) sd[i] = v;
        else cor[i + j * k] = cor[j + i * k] = v;
      }
    for (let i = 0; i < k; i++) cor[i + i * k] = 1;
    // Cholesky of the covariance, allowing zero pivots (a zero standard deviation)
    const L = new Float64Array(k * k);
    for (let j = 0; j < k; j++) {
      let d = sd[j] * sd[j];
      for (let m = 0; m < j; m++) d -= L[j + m * k] ** 2;
      if (d < -1e-10 * sd[j] * sd[j]) return null;
      const ljj = Math.sqrt(Math.max(d, 0));
      L[j + j * k] = ljj;
      for (let i = j + 1; i < k; i++) {
        let s = sd[i] * sd[j] * cor[i + j * k];
        for (let m = 0; m < j; m++) s -= L[i + m * k] * L[j + m * k];
        if (ljj === 0) {
          if (Math.abs(s) > 1e-10 * (sd[i] * sd[j] + 1e-300)) return null;
          L[i + j * k] = 0;
        } else L[i + j * k] = s / ljj;
      }
    }
    for (let j = 0; j < k; j++) for (let i = j; i < k; i++) theta.push(L[i + j * k] / sigma);
  }
  return Float64Array.from(theta);
}

/** Kinds of the profile-scale parameters, for bounds and step sizes. */
function parameterKinds(model: LinearMixedModel): ('sd' | 'cor' | 'sigma')[] {
  const kinds: ('sd' | 'cor' | 'sigma')[] = [];
  for (const term of model.terms) for (let j = 0; j < term.k; j++) for (let i = j; i < term.k; i++) kinds.push(i === j ? 'sd' : 'cor');
  kinds.push('sigma');
  return kinds;
}

/**
 * Solves zeta(x) = +-z on each side of the estimate (zeta(estimate) = 0, increasing in x), within
 * [lowerBound, upperBound]; a side that never reaches z ends at its bound.
 */
function profileLimits(zeta: (x: number) => number, estimate: number, step: number, z: number, lowerBound: number, upperBound: number): [number, number] {
  const side = (direction: 1 | -1): number => {
    const bound = direction > 0 ? upperBound : lowerBound;
    let inner = estimate;
    let zInner = 0;
    let h = step;
    for (let i = 0; i < 60; i++) {
      let outer = estimate + direction * h;
      if ((direction > 0 && outer >= bound) || (direction < 0 && outer <= bound)) outer = bound;
      const zOuter = direction * zeta(outer);
      if (zOuter >= z) return solveBracket((x) => direction * zeta(x) - z, inner, zInner - z, outer, zOuter - z);
      if (outer === bound) return bound;
      inner = outer;
      zInner = zOuter;
      h *= 2;
    }
    return direction * Infinity;
  };
  return [side(-1), side(1)];
}

/** A root of f in [a, b] with f(a) < 0 < f(b), by the Illinois variant of regula falsi. */
function solveBracket(f: (x: number) => number, a: number, fa: number, b: number, fb: number): number {
  let side = 0;
  for (let i = 0; i < 100; i++) {
    const c = (a * fb - b * fa) / (fb - fa);
    const fc = f(c);
    if (Math.abs(fc) < 1e-9 || Math.abs(b - a) < 1e-10 * (Math.abs(a) + Math.abs(b) + 1e-300)) return c;
    if (fc > 0) {
      b = c;
      fb = fc;
      if (side === 1) fa /= 2;
      side = 1;
    } else {
      a = c;
      fa = fc;
      if (side === -1) fb /= 2;
      side = -1;
    }
  }
  return (a + b) / 2;
}

function profileConfint(model: LinearMixedModel, z: number): { names: string[]; lower: number[]; upper: number[] } {
  // lme4 profiles a REML fit's ML refit
  const ml = model.refitML();
  const base = ml.objective;
  const kinds = parameterKinds(ml);
  const optimum = sdcorParameters(ml);
  const deviance = (pars: ArrayLike<number>): number => {
    const theta = thetaFromSdcor(ml, pars);
    return theta && pars[pars.length - 1] > 0 ? ml.varparDeviance(theta, pars[pars.length - 1]) : Infinity;
  };
  // the other parameters on an unbounded scale where possible: log sigma, correlations by z / sqrt(1 + z^2)
  const toFree = (v: number, kind: string) => (kind === 'sigma' ? Math.log(v) : kind === 'cor' ? v / Math.sqrt(Math.max(1e-12, 1 - v * v)) : v);
  const fromFree = (v: number, kind: string) => (kind === 'sigma' ? Math.exp(v) : kind === 'cor' ? v / Math.sqrt(1 + v * v) : v);
  const names = varianceParameterNames(ml);
  const lower: number[] = [];
  const upper: number[] = [];
  kinds.forEach((kind, j) => {
    const others = kinds.map((_, i) => i).filter((i) => i !== j);
    let start = others.map((i) => toFree(optimum[i], kinds[i]));
    const zeta = (x: number): number => {
      const pars = Float64Array.from(optimum);
      pars[j] = x;
      let dev: number;
      if (others.length === 0) dev = deviance(pars);
      else {
        const f = (free: Float64Array) => {
          others.forEach((i, m) => (pars[i] = fromFree(free[m], kinds[i])));
          return deviance(pars);
        };
        const result = minimizeBounded(
          f,
          start,
          others.map((i) => (kinds[i] === 'sd' ? 0 : -Infinity)),
        );
        start = result.x;
        dev = result.fx;
      }
      return Math.sign(x - optimum[j]) * Math.sqrt(Math.max(0, dev - base));
    };
    const estimate = optimum[j];
    const [lo, hi] =
      kind === 'cor'
        ? profileLimits(zeta, estimate, 0.1 * (1 - Math.abs(estimate)) + 1e-3, z, -1, 1)
        : profileLimits(zeta, estimate, kind === 'sigma' ? 0.1 * estimate : Math.max(0.2 * estimate, 0.05 * ml.sigma), z, 0, Infinity);
    lower.push(lo);
    upper.push(hi);
  });
  // fixed effects: ML refits of y - b x_j on the other columns
  const se = ml.coefTable().se;
  ml.xNames.forEach((name, j) => {
    const zeta = (b: number): number => {
      const dev = fixedProfileDeviance(ml, j, b);
      return Math.sign(b - ml.beta[j]) * Math.sqrt(Math.max(0, dev - base));
    };
    const [lo, hi] = profileLimits(zeta, ml.beta[j], se[j], z, -Infinity, Infinity);
    names.push(name);
    lower.push(lo);
    upper.push(hi);
  });
  return { names, lower, upper };
}

/**
 * The ML deviance with coefficient j held at b (the response offset by b x_j, column j removed).
 * The deviance, profiled over the other coefficients, does not change when multiples of their
 * columns are taken off the response: projections on each are, so that y stays small where b x_j
 * is large (1e7 beside Days + 1e6) and y'y would lose the residual sum of squares to rounding.
 */
function fixedProfileDeviance(ml: LinearMixedModel, j: number, b: number): number {
  const { n, p } = ml;
  const frame = ml.frame;
  const X = new Float64Array(n * (p - 1));
  for (let c = 0, m = 0; c < p; c++) if (c !== j) X.set(frame.X.subarray(c * n, (c + 1) * n), n * m++);
  const y = Float64Array.from(frame.y!, (v, i) => v - b * frame.X[i + j * n]);
  for (let sweep = 0; sweep < 2; sweep++)
    for (let c = 0; c < p - 1; c++) {
      const x = X.subarray(c * n, (c + 1) * n);
      let xy = 0;
      let xx = 0;
      for (let i = 0; i < n; i++) {
        xy += x[i] * y[i];
        xx += x[i] * x[i];
      }
      if (xx > 0) for (let i = 0; i < n; i++) y[i] -= (xy / xx) * x[i];
    }
  const reduced = {
    ...frame,
    y,
    X,
    xNames: frame.xNames.filter((_, c) => c !== j),
    assign: Int32Array.from(Array.from(frame.assign).filter((_, c) => c !== j)),
  };
  return new LinearMixedModel(reduced, { REML: false, start: ml.theta }).objective;
}

/** boot's norm.inter: the alpha quantile of bootstrap replicates, interpolated on the normal scale. */
export function bootPercentile(values: number[], alpha: number): number {
  const t = values.filter(Number.isFinite).sort((a, b) => a - b);
  const R = t.length;
  if (R === 0) return NaN;
  const rk = (R + 1) * alpha;
  const k = Math.trunc(rk);
  if (k === rk) return t[Math.min(Math.max(k, 1), R) - 1];
  if (k === 0) return t[0];
  if (k >= R) return t[R - 1];
  const z = normalQuantile(alpha);
  const z1 = normalQuantile(k / (R + 1));
  const z2 = normalQuantile((k + 1) / (R + 1));
  return t[k - 1] + ((z - z1) / (z2 - z1)) * (t[k] - t[k - 1]);
}

function bootConfint(model: LinearMixedModel | LinearModel, level: number, nsim: number, seed: number) {
  const statistics = (m: LinearMixedModel | LinearModel): number[] =>
    m instanceof LinearMixedModel ? [...sdcorParameters(m), ...Array.from(m.beta)] : [m.sigma, ...Array.from(m.beta)];
  const names = model instanceof LinearMixedModel ? [...varianceParameterNames(model), ...model.xNames] : ['.sigma', ...model.xNames];
  const replicates = simulate(model, { nsim, seed }).map((y) => statistics(refit(model, y)));
  const alpha = [(1 - level) / 2, (1 + level) / 2];
  const lower = names.map((_, i) =>
    bootPercentile(
      replicates.map((r) => r[i]),
      alpha[0],
    ),
  );
  const upper = names.map((_, i) =>
    bootPercentile(
      replicates.map((r) => r[i]),
      alpha[1],
    ),
  );
  return { names, lower, upper };
}

/** lme4's confint(model, method, level, nsim, seed). */
export function confint(model: LinearMixedModel | LinearModel, options: ConfintOptions = {}): ConfintTable {
  const method = options.method ?? 'Wald';
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new ModelError(`confidence level must be between 0 and 1, not ${level}`);
  const z = normalQuantile((1 + level) / 2);
  if (method === 'Wald') {
    const se = model.coefTable().se;
    const varNames = model instanceof LinearMixedModel ? varianceParameterNames(model) : [];
    const beta = Array.from(model.beta);
    return new ConfintTable(
      [...varNames, ...model.xNames],
      [...varNames.map(() => NaN), ...beta.map((b, j) => b - z * se[j])],
      [...varNames.map(() => NaN), ...beta.map((b, j) => b + z * se[j])],
      level,
      'Wald',
    );
  }
  if (method === 'profile') {
    if (!(model instanceof LinearMixedModel)) throw new ModelError("method 'profile' is for lmer fits; use 'Wald' for lm");
    // beside a covariate far from 0, the intercept's SD and its correlation (near -1) are too ill-conditioned to profile
    if (model.rescaling?.scaling.terms.some((m) => m.farOff))
      throw new ModelError("method 'profile' needs random-effects covariates near 0 beside their intercept: centre them, or use method 'boot'");
    const r = profileConfint(model, z);
    return new ConfintTable(r.names, r.lower, r.upper, level, 'profile');
  }
  if (method === 'boot') {
    const r = bootConfint(model, level, options.nsim ?? 500, options.seed ?? randomSeed());
    return new ConfintTable(r.names, r.lower, r.upper, level, 'boot');
  }
  throw new ModelError(`confint method must be 'Wald', 'profile' or 'boot', not '${String(method)}'`);
}
