/**
 * nlme's lme() and gls(): linear (mixed) models whose residuals have a variance function and a
 * within-group correlation structure. As nlme does, each group's rows of [Z X y] are whitened by
 * the inverse Cholesky factor of its residual covariance block, and the whitened data go through
 * the ordinary mixed-model system (BlockedSystem) and the one profiled objective, which gains
 * log|Lambda|. The structure's unconstrained parameters are optimized together with theta.
 */
import type { MimeBundle } from '../display/mime';
import { DataError, ModelError } from '../errors';
import { modelFrame } from '../frame/modelframe';
import { toTable, type DataInput } from '../frame/table';
import type { Factor, ModelFrame, Table } from '../frame/types';
import { BlockedSystem, type Evaluation } from '../lmm/blocked';
import { FixedEffectsFit, type CoefficientTable } from '../lmm/fixed';
import { predict } from '../lmm/predict';
import { tTwoSided } from '../stats/distributions';
import { lambdaTimes, type OptimizerInfo, type RanefRows } from '../lmm/model';
import { profiledDeviance, profiledSigma, varparDeviance } from '../lmm/objective';
import { minimizeBounded } from '../lmm/optimize';
import { orderByLevels, ReTerm } from '../lmm/reterm';
import { CorStruct } from './corstruct';
import { fixedEffectsDf, type FixedEffectsDf } from './fixdf';
import { GroupedCriterion } from './grouped';
import { nlmeVarparInference } from './satterthwaite';
import { coefficientDf, type VarparInference } from '../lmm/satterthwaite';
import { ResidualStructure } from './residual';
import { summaryHtml, summaryText } from './summary';
import type { VarComb, VarFunc } from './varfunc';

export interface NlmeOptions {
  /** REML (default) or maximum likelihood; `method` is nlme's spelling of the same choice */
  REML?: boolean;
  method?: 'REML' | 'ML';
  /** residual correlation within groups: corAR1(...), corARMA(...), corCompSymm(...) */
  correlation?: CorStruct;
  /** residual variance function: varIdent(...), varPower(...), varExp(...), varComb(...) */
  weights?: VarFunc | VarComb;
  /** lme only: nlme's random formula, `'~ 1 | Subject'`, instead of (or besides) bars in `formula` */
  random?: string;
  /** the data's name for printed summaries */
  dataName?: string;
  maxEvaluations?: number;
}

export interface NlmeCoefficientTable extends CoefficientTable {
  df: number[];
  p: number[];
}

export type NlmeKind = 'lme' | 'gls';

/** Denominator df of the fixed effects' tests: nlme's (getFixDF) or Satterthwaite's */
export type NlmeDdf = 'nlme' | 'Satterthwaite';

export type ResidualType = 'response' | 'pearson' | 'normalized';

/** A grouping factor of an lme fit, outermost first. */
export interface Grouping {
  name: string;
  factor: Factor;
}

/**
 * Fits a linear mixed-effects model with nlme's residual structures, nlme's
 * `lme(fixed, data, random, correlation, weights, method)`. Random effects are written in the
 * formula as in lmer (`y ~ x + (1 | g)`) or given as `options.random` (`'~ 1 | g'`); grouping
 * factors must be nested, as in nlme.
 */
export function lme(formula: string, data: DataInput, options: NlmeOptions = {}): NlmeModel {
  const full = lmeFormula(formula, options.random);
  const table = toTable(data);
  const frame = modelFrame(full, table);
  if (frame.reTerms.length === 0) throw new ModelError('lme() needs random effects, (1 | group) in the formula or options.random; without them use gls()');
  return new NlmeModel('lme', frame, table, options);
}

/** Generalized least squares with nlme's residual structures, nlme's `gls(model, data, correlation, weights, method)`. */
export function gls(formula: string, data: DataInput, options: Omit<NlmeOptions, 'random'> = {}): NlmeModel {
  const table = toTable(data);
  const frame = modelFrame(formula, table);
  if (frame.reTerms.length) throw new ModelError('gls() takes no random-effects terms; use lme()');
  return new NlmeModel('gls', frame, table, options);
}

/** The formula with nlme's random formula (`'~ 1 | g'`) added as an lmer-style term. */
export function lmeFormula(formula: string, random?: string): string {
  return random ? `${formula} + (${randomTerm(random)})` : formula;
}

function randomTerm(random: string): string {
  const rhs = random.trim().replace(/^~/, '').trim();
  if (!rhs.includes('|')) throw new ModelError(`options.random must name its grouping factor, as in '~ 1 | Subject' (got '${random}')`);
  return rhs;
}

/** The whitened system at the last residual parameters, rebuilt when they change. */
class WhitenedSystem {
  private u: number[] | undefined;
  private system: BlockedSystem | null = null;
  private logdet = NaN;

  constructor(
    private readonly frame: ModelFrame,
    private readonly terms: ReTerm[],
    private readonly residual: ResidualStructure,
  ) {}

  /** The system and log|Lambda| at residual parameters u; null where Lambda is not positive definite. */
  at(u: ArrayLike<number>): { system: BlockedSystem; logdet: number } | null {
    if (!this.u || this.u.some((v, i) => v !== u[i])) {
      this.u = Array.from(u);
      this.logdet = this.residual.setParameters(u);
      this.system = Number.isFinite(this.logdet) ? this.build() : null;
    }
    return this.system && { system: this.system, logdet: this.logdet };
  }

  private build(): BlockedSystem {
    const { frame, residual } = this;
    const p = frame.xNames.length;
    const whitenedTerms = this.terms.map(
      (t) => new ReTerm({ group: t.group, names: t.names, factor: { codes: t.codes, levels: t.levels }, z: residual.whiten({ data: t.z, ncol: t.k }) }),
    );
    return new BlockedSystem(whitenedTerms, residual.whiten({ data: frame.X, ncol: p }), residual.whiten({ data: frame.y!, ncol: 1 }), p);
  }

  /** Evaluation at (theta, u) and log|Lambda|; null if not positive definite. */
  evaluate(theta: ArrayLike<number>, u: ArrayLike<number>): { e: Evaluation; logdet: number; system: BlockedSystem } | null {
    const s = this.at(u);
    const e = s?.system.evaluate(theta);
    return e && s ? { e, logdet: s.logdet, system: s.system } : null;
  }
}

export class NlmeModel extends FixedEffectsFit {
  readonly formula: string;
  readonly REML: boolean;
  readonly dataName?: string;
  /** random-effects terms in lme4's order, lambda at the estimate */
  readonly terms: ReTerm[];
  /** grouping factors, outermost first (lme) */
  readonly groupings: Grouping[];
  readonly residualStructure: ResidualStructure;
  readonly theta: number[];
  /** the residual structure's unconstrained parameters: correlation first, then variance function (nlme's order) */
  readonly structureParameters: number[];
  readonly beta: Float64Array;
  readonly sigma: number;
  /** -2 log-likelihood (ML) or the REML criterion, including log|Lambda| */
  readonly objective: number;
  /** conditional modes b = Lambda u, per term (level-major) */
  readonly b: Float64Array[];
  readonly fixDF: FixedEffectsDf;
  readonly optimizer: OptimizerInfo;
  readonly warnings: string[];
  protected readonly unscaledCov: Float64Array;
  private readonly whitened: WhitenedSystem;
  private varpar?: VarparInference;
  /** the criterion from per-group cross-products, for one grouping level or none */
  private readonly grouped?: GroupedCriterion;

  constructor(
    readonly kind: NlmeKind,
    readonly frame: ModelFrame,
    table: Table,
    options: NlmeOptions,
  ) {
    super();
    if (!frame.y) throw new ModelError(`${kind}() needs a response`);
    if (options.method !== undefined && options.method !== 'REML' && options.method !== 'ML')
      throw new ModelError(`options.method must be 'REML' or 'ML', not '${String(options.method)}'`);
    if (options.method !== undefined && options.REML !== undefined && (options.method === 'REML') !== options.REML)
      throw new ModelError(`options.method = '${options.method}' contradicts options.REML = ${options.REML}`);
    this.REML = options.REML ?? (options.method ? options.method === 'REML' : true);
    this.formula = frame.formula;
    this.dataName = options.dataName ?? table.source;
    if (this.n <= this.p) throw new ModelError(`${this.n} observations are too few for ${this.p} coefficients`);
    this.terms = orderByLevels(frame.reTerms.map((t) => new ReTerm(t)));
    this.groupings = nestedGroupings(this.terms);
    const order = nlmeOrder(this.n, this.groupings);
    const innermost = this.groupings.at(-1)?.factor;
    const groupsLabel = this.groupings.map((g) => g.name.split(':')[0]).join('/');
    const correlation = options.correlation?.bind(table, frame.rows, order, innermost && { factor: innermost, label: groupsLabel });
    if (correlation && innermost) checkWithin(correlation.groups, innermost, this.groupings.at(-1)!.name);
    // gls sorts by the correlation's groups: their rows, group after group
    const visit = kind === 'gls' && correlation ? Int32Array.from(correlation.groups.flatMap((g) => Array.from(g))) : order;
    const variance = options.weights?.bind(table, frame.rows, visit);
    this.residualStructure = new ResidualStructure(this.n, correlation, variance);
    this.whitened = new WhitenedSystem(frame, this.terms, this.residualStructure);
    if (GroupedCriterion.applies(this.terms)) this.grouped = new GroupedCriterion(this.terms, frame.X, frame.y, this.p, this.residualStructure);

    const ntheta = this.terms.reduce((a, t) => a + t.ntheta, 0);
    // nlme's log-Cholesky parametrisation: the diagonal of each lambda enters as its logarithm,
    // so that all parameters are free and a step scales a standard deviation rather than adds to it
    const diagonal = this.terms.flatMap((t) => t.thetaLowerBounds().map((b) => b === 0));
    const toTheta = (x: ArrayLike<number>) => {
      const theta = new Array<number>(ntheta);
      for (let i = 0; i < ntheta; i++) theta[i] = diagonal[i] ? Math.exp(x[i]) : x[i];
      return theta;
    };
    const start = [...this.terms.flatMap((t) => t.initialTheta()).map((v, i) => (diagonal[i] ? Math.log(v) : v)), ...this.residualStructure.start];
    const criterion = (x: Float64Array): number => {
      const r = this.evaluateCriterion(toTheta(x), x.subarray(ntheta));
      return r ? profiledDeviance(r.e, this.n, this.p, this.REML) + r.logdet : Infinity;
    };
    const opt = start.length
      ? minimizeBounded(
          criterion,
          start,
          start.map(() => -Infinity),
          { maxEvaluations: options.maxEvaluations, ftol: 1e-13 },
        )
      : { x: [], evaluations: 0, converged: true, message: 'no variance parameters' };
    this.theta = toTheta(opt.x);
    this.structureParameters = opt.x.slice(ntheta);
    this.optimizer = { evaluations: opt.evaluations, converged: opt.converged, message: opt.message };

    const at = this.evaluateCriterion(this.theta, this.structureParameters);
    const solution = at && this.solveAt(this.theta, this.structureParameters);
    if (!at || !solution) throw new ModelError('the fitted model is not positive definite at the optimum');
    this.objective = profiledDeviance(at.e, this.n, this.p, this.REML) + at.logdet;
    this.sigma = profiledSigma(at.e, this.n, this.p, this.REML);
    const { beta, u } = solution;
    this.beta = beta;
    this.unscaledCov = solution.unscaledVcov;
    this.terms.forEach((t, i) => t.setTheta(this.theta, this.thetaOffset(i)));
    this.b = this.terms.map((t, i) => lambdaTimes(t, u[i]));
    this.fixDF = kind === 'lme' ? fixedEffectsDf(frame, this.groupings) : glsDf(frame);
    this.warnings = [...frame.warnings];
    if (!opt.converged) this.warnings.push(`convergence failure: ${opt.message}`);
  }

  /** The system's evaluation at (theta, u) and log|Lambda|, by group cross-products where the model allows. */
  private evaluateCriterion(theta: ArrayLike<number>, u: ArrayLike<number>): { e: Evaluation; logdet: number } | null {
    return this.grouped ? this.grouped.evaluate(theta, u) : this.whitened.evaluate(theta, u);
  }

  /** beta, the spherical random effects and (X'V^-1 X)^-1 / sigma^2 at (theta, u); null if not positive definite. */
  private solveAt(theta: ArrayLike<number>, u: ArrayLike<number>): { beta: Float64Array; u: Float64Array[]; unscaledVcov: Float64Array } | null {
    if (this.grouped) return this.grouped.solve(theta, u);
    const at = this.whitened.evaluate(theta, u);
    return at && { ...at.system.solve(), unscaledVcov: at.system.unscaledVcov() };
  }

  private thetaOffset(term: number): number {
    return this.terms.slice(0, term).reduce((a, t) => a + t.ntheta, 0);
  }

  /** fixed effects, theta, the structure's parameters and sigma (nlme's logLik df) */
  get dof(): number {
    return this.p + this.theta.length + this.structureParameters.length + 1;
  }

  /** nlme's BIC counts N - p observations under REML */
  override BIC(): number {
    return this.objective + this.dof * Math.log(this.REML ? this.n - this.p : this.n);
  }

  /**
   * The fixed effects' covariance: lme's varFix (sigma^2 (X'V^-1 X)^-1); gls's varBeta, whose sigma
   * is the REML-like sqrt(RSS / (N - p)) also under ML.
   */
  override vcovMatrix(): Float64Array {
    const s2 = this.sigma * this.sigma * (this.kind === 'gls' ? this.mlToRemlVariance() : 1);
    return this.unscaledCov.map((v) => v * s2);
  }

  /** N / (N - p) under ML, else 1 */
  mlToRemlVariance(): number {
    return this.REML ? 1 : this.n / (this.n - this.p);
  }

  /**
   * The covariance summary() and anova() test with: under ML, lme's summary and anova use the
   * REML-like sigma (nlme's adjustSigma), gls's varBeta has it already.
   */
  testCovariance(): Float64Array {
    const v = this.vcovMatrix();
    return this.kind === 'lme' ? v.map((x) => x * this.mlToRemlVariance()) : v;
  }

  /**
   * summary()'s t table: Value, Std.Error, DF, t-value, p-value. The df are nlme's (`ddf:
   * 'nlme'`, the default) or Satterthwaite's as lmerTest computes them, over all variance
   * parameters including the residual structure's (lme fits only).
   */
  override coefTable(options: { ddf?: NlmeDdf } = {}): NlmeCoefficientTable {
    const v = this.testCovariance();
    const estimate = Array.from(this.beta);
    const se = estimate.map((_, i) => Math.sqrt(v[i + i * this.p]));
    const t = estimate.map((b, i) => b / se[i]);
    const df = this.ddf(options.ddf) === 'Satterthwaite' ? coefficientDf(this) : [...this.fixDF.X];
    return { term: [...this.xNames], estimate, se, df, t, p: t.map((x, i) => tTwoSided(x, df[i])) };
  }

  /** The denominator-df method asked for, checked: Satterthwaite's needs random effects. */
  ddf(ddf: NlmeDdf = 'nlme'): NlmeDdf {
    if (ddf !== 'nlme' && ddf !== 'Satterthwaite') throw new ModelError(`unknown ddf '${String(ddf)}': use 'nlme' or 'Satterthwaite'`);
    if (ddf === 'Satterthwaite' && this.kind === 'gls') throw new ModelError("Satterthwaite's df are for lme() fits; gls() tests on N - p");
    return ddf;
  }

  /**
   * lmerTest's variance-parameter quantities over (theta, structure parameters, sigma), for
   * Satterthwaite's df (contrast(), coefTable({ ddf: 'Satterthwaite' }), anova).
   */
  varparInference(): VarparInference {
    return (this.varpar ??= nlmeVarparInference(this));
  }

  /** (X'V^-1 X)^-1 / sigma^2 at (theta, u); null where the model is not positive definite. */
  unscaledVcovAt(theta: ArrayLike<number>, u: ArrayLike<number>): Float64Array | null {
    return this.solveAt(theta, u)?.unscaledVcov ?? null;
  }

  /** The correlation structure's parameters in nlme's constrained form (Phi, Theta1, Rho), by name. */
  corStruct(): Record<string, number> {
    const c = this.residualStructure.correlation;
    if (!c) return {};
    const values = c.constrained(this.residualStructure.correlationPart(this.structureParameters));
    return Object.fromEntries(c.names.map((n, i) => [n, values[i]]));
  }

  /** The variance function's parameters in nlme's constrained form (SD ratios, power), by name. */
  varStruct(): Record<string, number> {
    const v = this.residualStructure.variance;
    if (!v) return {};
    const values = v.constrained(this.residualStructure.variancePart(this.structureParameters));
    return Object.fromEntries(v.names.map((n, i) => [n, values[i]]));
  }

  /** nlme's VarCorr(): the standard deviation of each random effect, outermost grouping first, and the residual */
  varCorr(): { group: string; name: string; variance: number; sd: number; correlations: number[] }[] {
    const rows: { group: string; name: string; variance: number; sd: number; correlations: number[] }[] = [];
    const outerFirst = this.groupings.flatMap((g) => this.terms.filter((t) => t.group === g.name));
    for (const term of outerFirst) {
      const k = term.k;
      const cov = term.covariance(this.sigma);
      const sd = term.names.map((_, i) => Math.sqrt(cov[i + i * k]));
      term.names.forEach((name, i) =>
        rows.push({ group: term.group, name, variance: cov[i + i * k], sd: sd[i], correlations: sd.slice(0, i).map((s, j) => cov[i + j * k] / (sd[i] * s)) }),
      );
    }
    rows.push({ group: 'Residual', name: '', variance: this.sigma * this.sigma, sd: this.sigma, correlations: [] });
    return rows;
  }

  ranef(): Record<string, RanefRows> {
    const out: Record<string, RanefRows> = {};
    this.terms.forEach((term, ti) => {
      const rows = (out[term.group] ??= []);
      const byLevel = new Map(rows.map((r) => [r.level, r]));
      term.levels.forEach((level, l) => {
        let row = byLevel.get(level);
        if (!row) rows.push((row = { level } as RanefRows[number]));
        term.names.forEach((name, a) => (row![name] = this.b[ti][l * term.k + a]));
      });
    });
    return out;
  }

  /**
   * Fitted values: X beta + Z b (lme's innermost level, nlme's default) or X beta (`level: 0`,
   * the population level; always for gls).
   */
  fitted(options: { level?: 0 | 1 } = {}): Float64Array {
    const out = this.fixedPart();
    if (options.level === 0) return out;
    const n = this.n;
    this.terms.forEach((term, ti) => {
      const b = this.b[ti];
      for (let r = 0; r < n; r++) for (let a = 0; a < term.k; a++) out[r] += term.z[r + a * n] * b[term.codes[r] * term.k + a];
    });
    return out;
  }

  /**
   * nlme's predict(fit, newdata, level): with random effects (level 1, lme's default; levels the
   * model has not seen get the population prediction) or X beta alone (level 0, and gls).
   */
  predict(newdata?: DataInput, options: { level?: 0 | 1 } = {}): Float64Array {
    if (newdata === undefined) return this.fitted(options);
    return predict(this, newdata, { re: options.level === 0 ? 'none' : 'all' });
  }

  /**
   * Residuals at the innermost level as nlme's residuals(type =): "response" (y - fitted),
   * "pearson" (divided by sigma times the variance function's SD) or "normalized" (pearson
   * residuals premultiplied by the inverse Cholesky factor of the correlation, independent N(0, 1)
   * under the model).
   */
  override residuals(options: { type?: ResidualType } = {}): Float64Array {
    const type = options.type ?? 'response';
    const y = this.frame.y!;
    const f = this.fitted();
    const r = f.map((v, i) => y[i] - v);
    if (type === 'response') return r;
    this.residualStructure.setParameters(this.structureParameters);
    if (type === 'pearson') {
      const sd = this.residualStructure.relativeSd();
      return r.map((v, i) => v / (this.sigma * sd[i]));
    }
    if (type !== 'normalized') throw new ModelError(`unknown residual type '${type}': use 'response', 'pearson' or 'normalized'`);
    return this.residualStructure.whiten({ data: r, ncol: 1 }).map((v) => v / this.sigma);
  }

  /** The log-likelihood (ML) or REML criterion's log-likelihood at (theta, u, sigma), beta profiled: what nlme's apVar differentiates. */
  logLikAt(theta: ArrayLike<number>, u: ArrayLike<number>, sigma: number): number {
    const r = this.evaluateCriterion(theta, u);
    return r ? -(varparDeviance(r.e, this.n, this.p, this.REML, sigma) + r.logdet) / 2 : -Infinity;
  }

  toJSON() {
    const c = this.coefTable();
    return {
      kind: this.kind,
      formula: this.formula,
      REML: this.REML,
      nobs: this.n,
      coefficients: c,
      sigma: this.sigma,
      varCorr: this.kind === 'lme' ? this.varCorr() : undefined,
      corStruct: this.corStruct(),
      varStruct: this.varStruct(),
      logLik: this.logLik(),
      AIC: this.AIC(),
      BIC: this.BIC(),
      warnings: this.warnings,
    };
  }

  summary(): string {
    return summaryText(this);
  }

  override toString(): string {
    return this.summary();
  }

  toMimeBundle(): MimeBundle {
    return { 'text/plain': this.summary(), 'text/html': summaryHtml(this) };
  }
}

/** gls: every coefficient is tested on N - p degrees of freedom. */
function glsDf(frame: ModelFrame): FixedEffectsDf {
  const df = frame.n - frame.xNames.length;
  return { X: frame.xNames.map(() => df), terms: new Map() };
}

/**
 * The distinct grouping factors of the random-effects terms, outermost (fewest levels) first,
 * checked to be nested as nlme requires.
 */
function nestedGroupings(terms: ReTerm[]): Grouping[] {
  const byName = new Map<string, Factor>();
  for (const t of terms) if (!byName.has(t.group)) byName.set(t.group, { codes: t.codes, levels: t.levels });
  const groupings = [...byName].map(([name, factor]) => ({ name, factor })).sort((a, b) => a.factor.levels.length - b.factor.levels.length);
  for (let i = 1; i < groupings.length; i++) {
    const outer = groupings[i - 1];
    const inner = groupings[i];
    const parent = new Int32Array(inner.factor.levels.length).fill(-1);
    inner.factor.codes.forEach((c, r) => {
      const o = outer.factor.codes[r];
      if (parent[c] >= 0 && parent[c] !== o)
        throw new ModelError(
          `lme() needs nested grouping factors, but level '${inner.factor.levels[c]}' of ${inner.name} occurs in more than one level of ${outer.name}; crossed factors need lmer()`,
        );
      parent[c] = o;
    });
  }
  return groupings;
}

/** nlme's row order: sorted by the grouping factors, outermost first, the data's order within groups. */
function nlmeOrder(n: number, groupings: Grouping[]): Int32Array {
  const rows = Array.from({ length: n }, (_, i) => i);
  rows.sort((a, b) => {
    for (const g of groupings) {
      const d = g.factor.codes[a] - g.factor.codes[b];
      if (d) return d;
    }
    return a - b;
  });
  return Int32Array.from(rows);
}

/** A correlation group must lie within one level of the innermost random-effects grouping. */
function checkWithin(groups: Int32Array[], factor: Factor, name: string): void {
  for (const rows of groups) {
    const level = factor.codes[rows[0]];
    if (rows.some((r) => factor.codes[r] !== level))
      throw new DataError(
        `the correlation structure's groups must be nested within the random-effects groups (${name}): one spans levels '${factor.levels[level]}' and '${factor.levels[factor.codes[rows.find((r) => factor.codes[r] !== level)!]]}'`,
      );
  }
}
