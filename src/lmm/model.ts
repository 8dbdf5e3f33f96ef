import type { MimeBundle } from '../display/mime';
import { ModelError } from '../errors';
import type { ModelFrame } from '../frame/types';
import { BlockedSystem, Evaluation } from './blocked';
import { satterthwaiteCoefColumns, satterthwaiteTests } from './coeftests';
import { DevianceFunction } from './devfun';
import { CoefficientTable, FixedEffectsFit } from './fixed';
import { profiledDeviance, profiledSigma } from './objective';
import { lambdaCovariance, lambdaIsSingular, orderByLevels, ReTerm } from './reterm';
import { optimizeTheta } from './fit-theta';
import { covariateScaling, scaleWarning, type CovariateScaling } from './scaling';
import { summaryHtml, summaryParts, summaryText } from './summary';

/** One row of lme4's `as.data.frame(VarCorr(fit))`. */
export interface VarCorrRow {
  grp: string;
  var1: string | null;
  var2: string | null;
  vcov: number;
  sdcor: number;
}

export interface OptimizerInfo {
  evaluations: number;
  converged: boolean;
  message: string;
}

/** Conditional modes of one grouping factor: a row per level. */
export type RanefRows = ({ level: string } & Record<string, number | string>)[];

const RANEF_ROWS = Symbol('ranef rows');

/** Whether a table came from ranef() (lme4's class ranef.mer) rather than coef(), which has the same shape. */
export function isRanefRows(rows: unknown): rows is RanefRows {
  return Array.isArray(rows) && (rows as unknown as Record<symbol, unknown>)[RANEF_ROWS] === true;
}

export interface FitOptions {
  /** REML (default) or maximum likelihood */
  REML?: boolean;
  /** starting theta (lme4's `start`) */
  start?: number[];
  maxEvaluations?: number;
  /** name of the data for printed output */
  dataName?: string;
}

/**
 * A fitted linear mixed model (MixedModels.jl's LinearMixedModel; lme4's merMod): the model
 * frame and a snapshot of the optimum (theta, lambda, beta, b, sigma, vcov) from which every
 * result is derived. Evaluating its deviance function elsewhere (`devfun`, `system`) changes
 * none of them.
 */
export type { CoefficientTable };

export class LinearMixedModel extends FixedEffectsFit {
  readonly formula: string;
  readonly REML: boolean;
  /** random-effects terms in lme4's order (decreasing number of levels) */
  readonly terms: ReTerm[];
  /** the deviance function the fit minimized, for Satterthwaite's method, profiles and refits */
  readonly devfun: DevianceFunction;
  readonly theta: number[];
  /** each term's relative covariance factor at the optimum (k x k, column-major copies) */
  readonly lambda: Float64Array[];
  readonly beta: Float64Array;
  readonly sigma: number;
  /** the REML criterion (REML fits) or the deviance -2 log L (ML fits) at the optimum */
  readonly objective: number;
  readonly optimizer: OptimizerInfo;
  readonly warnings: string[];
  /** conditional modes b = Lambda u, per term (level-major) */
  readonly b: Float64Array[];
  readonly dataName?: string;
  protected readonly unscaledCov: Float64Array;

  /**
   * `reuse` (refits): a deviance function of this frame's structure, and for a frame whose columns
   * are mapped (see scaling.ts) the refit of the mapped model; by default new ones.
   */
  constructor(
    readonly frame: ModelFrame,
    options: FitOptions = {},
    reuse?: { devfun: DevianceFunction; rescaled?: LinearMixedModel },
  ) {
    super();
    if (!frame.y) throw new Error('lmer needs a response');
    this.formula = frame.formula;
    this.REML = options.REML ?? true;
    this.dataName = options.dataName;
    this.terms = reuse?.devfun.terms ?? orderByLevels(frame.reTerms.map((t) => new ReTerm(t)));
    this.devfun = reuse?.devfun ?? DevianceFunction.create(this.terms, frame.X, frame.y, this.p, this.REML);
    // badly scaled or far-off covariates: the model is fitted on mapped columns (see scaling.ts)
    const scaling = covariateScaling(frame, this.terms);
    if (scaling) {
      const start = options.start && scaling.thetaForward(options.start);
      const fit = reuse?.rescaled ?? new LinearMixedModel(scaling.frame, { REML: this.REML, start, maxEvaluations: options.maxEvaluations });
      this.rescaling = { fit, scaling };
      this.theta = scaling.thetaBack(fit.theta);
      this.optimizer = fit.optimizer;
      this.objective = fit.objective + (this.REML ? 2 * scaling.fixed.logDet : 0);
      this.sigma = fit.sigma;
      this.lambda = scaling.terms.map((m, t) => m.backLambda(fit.lambda[t]));
      this.beta = scaling.fixed.back(Float64Array.from(fit.beta));
      this.unscaledCov = scaling.fixed.backCovariance(fit.unscaledCov);
      this.b = scaling.terms.map((m, t) => {
        const b = Float64Array.from(fit.b[t]);
        for (let l = 0; l < this.terms[t].nlevels; l++) m.back(b, l * m.k);
        return b;
      });
    } else {
      const start = options.start ?? momentStart(this.terms, frame.X, frame.y, this.p);
      const opt = optimizeTheta(this.system, this.REML, start, { maxEvaluations: options.maxEvaluations });
      this.theta = opt.theta;
      this.optimizer = { evaluations: opt.evaluations, converged: opt.converged, message: opt.message };
      const e = this.evaluateAt(this.theta);
      if (!e) throw new Error('the fitted model is not positive definite at the optimum');
      this.objective = profiledDeviance(e, this.n, this.p, this.REML);
      this.sigma = profiledSigma(e, this.n, this.p, this.REML);
      this.lambda = this.terms.map((t) => t.lambda.slice());
      const { beta, u } = this.system.solve();
      this.beta = beta;
      this.unscaledCov = this.system.unscaledVcov();
      this.b = this.terms.map((t, i) => lambdaTimes(t, u[i], this.lambda[i]));
    }
    this.warnings = [...frame.warnings];
    const scales = scaleWarning(frame);
    if (scales) this.warnings.push(scales);
    if (!this.optimizer.converged) this.warnings.push(`convergence failure: ${this.optimizer.message}`);
    if (this.isSingular()) this.warnings.push("boundary (singular) fit: see help('isSingular')");
  }

  /**
   * For badly scaled or far-off covariates, the same model fitted on mapped columns (see
   * scaling.ts), from which this fit's results are mapped back. Computations that factorize the
   * model again (Satterthwaite's df, Kenward-Roger, conditional variances, leverages) use it,
   * and map their results; this fit's `devfun` is on the user's columns, as lme4's.
   */
  readonly rescaling?: { fit: LinearMixedModel; scaling: CovariateScaling };

  /** The deviance function's blocked system (its factorization is the last evaluation's, not the fit's). */
  get system(): BlockedSystem {
    return this.devfun.system;
  }

  /** Factorizes the deviance function's system at theta (null if not positive definite). */
  evaluateAt(theta: ArrayLike<number>): Evaluation | null {
    return this.devfun.evaluate(theta);
  }

  /** The profiled deviance / REML criterion at theta. */
  objectiveAt(theta: ArrayLike<number>): number {
    return this.devfun.objective(theta);
  }

  /**
   * The deviance at (theta, sigma) (lmerTest's devfun_vp) in this fit's parametrization; for
   * mapped columns (see scaling.ts) evaluated on the mapped model, where it does not lose digits.
   */
  varparDeviance(theta: ArrayLike<number>, sigma: number): number {
    if (!this.rescaling) return this.devfun.varparDeviance(theta, sigma);
    const { fit, scaling } = this.rescaling;
    return fit.devfun.varparDeviance(scaling.thetaForward(theta), sigma) + (this.REML ? 2 * scaling.fixed.logDet : 0);
  }

  /** lme4's refit(fit, newresp): the same model fitted to another response, reusing the system's structure. */
  refit(y: ArrayLike<number>, options: { REML?: boolean } = {}): LinearMixedModel {
    if (y.length !== this.n) throw new ModelError(`the new response has ${y.length} values for ${this.n} observations`);
    const response = Float64Array.from(y);
    const REML = options.REML ?? this.REML;
    return new LinearMixedModel(
      { ...this.frame, y: response },
      { REML, start: this.theta, dataName: this.dataName },
      { devfun: this.devfun.derive({ y: response, REML }), rescaled: this.rescaling?.fit.refit(response, { REML }) },
    );
  }

  /** lme4's refitML(fit): a REML fit refitted by maximum likelihood (an ML fit is returned as it is). */
  refitML(): LinearMixedModel {
    if (!this.REML) return this;
    return new LinearMixedModel(
      this.frame,
      { REML: false, start: this.theta, dataName: this.dataName },
      { devfun: this.devfun.derive({ REML: false }), rescaled: this.rescaling?.fit.refitML() },
    );
  }

  /** number of parameters: fixed effects, theta and sigma */
  get dof(): number {
    return this.p + this.theta.length + 1;
  }

  isSingular(tol = 1e-4): boolean {
    // lme4's rule compares lambda's diagonal with tol, which depends on the covariates' units: a
    // fit whose search ran on scaled columns is judged there
    if (this.rescaling) return this.rescaling.fit.isSingular(tol);
    return this.terms.some((t, i) => lambdaIsSingular(this.lambda[i], t.k, tol));
  }

  /** The covariance matrix of term t's random effects at the optimum (k x k, column-major). */
  termCovariance(t: number): Float64Array {
    return lambdaCovariance(this.lambda[t], this.terms[t].k, this.sigma);
  }

  /** lme4's `as.data.frame(VarCorr(fit))`: variances then correlations per term, residual last */
  varCorr(): VarCorrRow[] {
    const rows: VarCorrRow[] = [];
    for (const [grp, term, t] of this.uniqueGroupNames()) {
      const k = term.k;
      const cov = this.termCovariance(t);
      const sd = term.names.map((_, i) => Math.sqrt(cov[i + i * k]));
      term.names.forEach((name, i) => rows.push({ grp, var1: name, var2: null, vcov: cov[i + i * k], sdcor: sd[i] }));
      for (let i = 0; i < k; i++)
        for (let j = i + 1; j < k; j++)
          rows.push({ grp, var1: term.names[i], var2: term.names[j], vcov: cov[i + j * k], sdcor: cov[i + j * k] / (sd[i] * sd[j]) });
    }
    rows.push({ grp: 'Residual', var1: null, var2: null, vcov: this.sigma * this.sigma, sdcor: this.sigma });
    return rows;
  }

  /** lme4 names a second term on the same grouping factor "Subject.1" in VarCorr */
  uniqueGroupNames(): [string, ReTerm, number][] {
    const seen = new Map<string, number>();
    return this.terms.map((t, i) => {
      const count = seen.get(t.group) ?? 0;
      seen.set(t.group, count + 1);
      return [count === 0 ? t.group : `${t.group}.${count}`, t, i];
    });
  }

  /**
   * Conditional modes per grouping factor; terms on the same factor are merged into one table like
   * lme4. Each table is marked as ranef's (see isRanefRows): coef() has the same shape.
   */
  ranef(): Record<string, RanefRows> {
    const out: Record<string, RanefRows> = {};
    this.terms.forEach((term, ti) => {
      const rows = (out[term.group] ??= []);
      const byLevel = new Map(rows.map((r) => [r.level, r]));
      const b = this.b[ti];
      term.levels.forEach((level, l) => {
        let row = byLevel.get(level);
        if (!row) rows.push((row = { level } as RanefRows[number]));
        term.names.forEach((name, a) => (row![name] = b[l * term.k + a]));
      });
    });
    for (const rows of Object.values(out)) Object.defineProperty(rows, RANEF_ROWS, { value: true });
    return out;
  }

  /** X beta + Z b */
  fitted(): Float64Array {
    const n = this.n;
    const out = this.fixedPart();
    this.terms.forEach((term, ti) => {
      const b = this.b[ti];
      for (let r = 0; r < n; r++) {
        const base = term.codes[r] * term.k;
        for (let a = 0; a < term.k; a++) out[r] += term.z[r + a * n] * b[base + a];
      }
    });
    return out;
  }

  private summaryParts() {
    const title = `Linear mixed model fit by ${this.REML ? 'REML' : 'maximum likelihood'}. t-tests use Satterthwaite's method ['lmerModLmerTest']`;
    return summaryParts(this, satterthwaiteCoefColumns(this), title, this.dataName);
  }

  /** lmerTest's print(summary(fit)): lme4's layout with Satterthwaite df and p-values */
  summary(): string {
    return summaryText(this.summaryParts());
  }

  override toString(): string {
    return this.summary();
  }

  toMimeBundle(): MimeBundle {
    const parts = this.summaryParts();
    return { 'text/plain': summaryText(parts), 'text/html': summaryHtml(parts) };
  }

  /** The fit in the layout of lme4-fits.json (the CLI's `fit --json`). */
  toJSON(): FitReport {
    const c = { ...this.coefTable(), ...satterthwaiteTests(this) };
    return {
      formula: this.formula,
      REML: this.REML,
      nobs: this.n,
      fixef: this.fixef(),
      coefficients: c,
      varcorr: this.varCorr(),
      sigma: this.sigma,
      logLik: this.logLik(),
      ...(this.REML ? { REMLcrit: this.objective } : { deviance: this.objective }),
      AIC: this.AIC(),
      BIC: this.BIC(),
      theta: this.theta,
      singular: this.isSingular(),
      ranef: this.ranef(),
      warnings: this.warnings,
    };
  }
}

export interface FitReport {
  formula: string;
  REML: boolean;
  nobs: number;
  fixef: Record<string, number>;
  coefficients: CoefficientTable & Partial<Record<'df' | 'p', number[]>>;
  varcorr: VarCorrRow[];
  sigma: number;
  logLik: number;
  REMLcrit?: number;
  deviance?: number;
  AIC: number;
  BIC: number;
  theta: number[];
  singular: boolean;
  ranef: Record<string, RanefRows>;
  warnings: string[];
}

/**
 * Starting theta: lme4's identity lambda, except for variance-components models (random
 * intercepts only), where each term starts from the one-way ANOVA moment estimate of its
 * variance ratio on OLS residuals. Crossed models such as InstEval then need a third of the
 * evaluations; the optimum reached is the same.
 */
function momentStart(terms: ReTerm[], X: Float64Array, y: Float64Array, p: number): number[] {
  const isIntercept = (t: ReTerm) => t.k === 1 && t.z.every((v) => v === 1);
  if (!terms.every(isIntercept)) return terms.flatMap((t) => t.initialTheta());
  const ols = new BlockedSystem([], X, y, p);
  const e = ols.evaluate([]);
  if (!e) return terms.flatMap((t) => t.initialTheta());
  const beta = ols.solve().beta;
  const n = y.length;
  const r = Float64Array.from(y);
  for (let j = 0; j < p; j++) for (let i = 0; i < n; i++) r[i] -= X[i + j * n] * beta[j];
  const totalVariance = e.pwrss / (n - p);
  const between = terms.map((t) => {
    const sums = new Float64Array(t.nlevels);
    const counts = new Float64Array(t.nlevels);
    for (let i = 0; i < n; i++) {
      sums[t.codes[i]] += r[i];
      counts[t.codes[i]]++;
    }
    let msb = 0;
    let sumSq = 0;
    for (let g = 0; g < t.nlevels; g++) {
      msb += (sums[g] * sums[g]) / counts[g];
      sumSq += counts[g] * counts[g];
    }
    msb /= t.nlevels - 1;
    const n0 = (n - sumSq / n) / (t.nlevels - 1);
    return Math.max((msb - totalVariance) / n0, 0.01 * totalVariance);
  });
  const residualVariance = Math.max(totalVariance - between.reduce((a, v) => a + v, 0), 0.1 * totalVariance);
  return between.map((v) => Math.sqrt(v / residualVariance));
}

/** b = Lambda u for one term's spherical random effects u (level-major); lambda defaults to the term's current one */
export function lambdaTimes(term: ReTerm, u: Float64Array, lam: Float64Array = term.lambda): Float64Array {
  const k = term.k;
  const b = new Float64Array(u.length);
  for (let l = 0; l < term.nlevels; l++)
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let j = 0; j <= i; j++) s += lam[i + j * k] * u[l * k + j];
      b[l * k + i] = s;
    }
  return b;
}
