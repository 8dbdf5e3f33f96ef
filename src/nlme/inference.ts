/**
 * Inference on lme()/gls() fits as nlme computes it: intervals() from the approximate covariance
 * of the variance parameters (apVar: the inverse negative Hessian of the log-likelihood in
 * log-SDs, Fisher's z of correlations, the structures' unconstrained parameters and log sigma),
 * Wald F tests per term (anova.lme, sequential or marginal) and likelihood-ratio comparisons.
 */
import { formatColumn } from '../display/format';
import { html } from '../display/html';
import type { MimeBundle } from '../display/mime';
import { ModelError } from '../errors';
import { chisqQuantile, chisqUpper, fUpper, normalQuantile, tQuantile } from '../stats/distributions';
import { richardsonHessian } from '../stats/numderiv';
import { symmetricEigen } from '../stats/small-dense';
import { choleskyInverse, choleskyLower } from '../linalg/dense';
import { termColumns } from './fixdf';
import type { ReTerm } from '../lmm/reterm';
import { fTestDdf } from '../lmm/satterthwaite';
import type { NlmeDdf, NlmeModel } from './lme';
import { printMatrix, zapsmall } from './summary';

export interface IntervalRow {
  name: string;
  lower: number;
  est: number;
  upper: number;
}

export interface NlmeIntervals {
  kind: 'lme' | 'gls';
  level: number;
  /** fixed effects (gls: coefficients), t quantiles on the fixed effects' df */
  fixed: IntervalRow[];
  /** lme: per grouping factor, sd(...) and cor(...,...) rows */
  reStruct?: Record<string, IntervalRow[]>;
  corStruct?: IntervalRow[];
  varStruct?: IntervalRow[];
  sigma: { lower: number; est: number; upper: number };
  toString(): string;
  toMimeBundle(): MimeBundle;
}

/** The variance parameters in nlme's "natural" parametrization and their map back to the fit's. */
interface NaturalParameters {
  names: { block: 'reStruct' | 'corStruct' | 'varStruct' | 'sigma'; group?: string; name: string }[];
  values: number[];
  /** log-likelihood at natural parameters x, beta profiled */
  logLik(x: ArrayLike<number>): number;
}

function naturalParameters(model: NlmeModel): NaturalParameters {
  const names: NaturalParameters['names'] = [];
  const values: number[] = [];
  // nlme's order and labels: outermost level first, a nested level by its own factor (Variety, not Variety:Block)
  const terms = model.groupings.flatMap((g) => model.terms.filter((t) => t.group === g.name));
  for (const t of terms) {
    const cov = t.covariance(model.sigma);
    const k = t.k;
    const sd = t.names.map((_, i) => Math.sqrt(cov[i + i * k]));
    t.names.forEach((n, i) => {
      names.push({ block: 'reStruct', group: t.group.split(':')[0], name: `sd(${n})` });
      values.push(Math.log(sd[i]));
    });
    for (let j = 0; j < k; j++)
      for (let i = j + 1; i < k; i++) {
        const r = cov[i + j * k] / (sd[i] * sd[j]);
        names.push({ block: 'reStruct', group: t.group.split(':')[0], name: `cor(${t.names[j]},${t.names[i]})` });
        values.push(Math.log((1 + r) / (1 - r)));
      }
  }
  const rs = model.residualStructure;
  rs.correlation?.names.forEach((name) => names.push({ block: 'corStruct', name }));
  rs.variance?.names.forEach((name) => names.push({ block: 'varStruct', name }));
  values.push(...model.structureParameters);
  names.push({ block: 'sigma', name: 'sigma' });
  values.push(Math.log(model.sigma));
  const nre = values.length - model.structureParameters.length - 1;
  const logLik = (x: ArrayLike<number>): number => {
    const sigma = Math.exp(x[x.length - 1]);
    let at = 0;
    const theta = new Map<ReTerm, number[]>();
    for (const t of terms) {
      const k = t.k;
      const sd = Array.from({ length: k }, (_, i) => Math.exp(x[at + i]));
      at += k;
      const cov = new Float64Array(k * k);
      for (let i = 0; i < k; i++) cov[i + i * k] = (sd[i] / sigma) ** 2;
      for (let j = 0; j < k; j++)
        for (let i = j + 1; i < k; i++) {
          const r = Math.tanh(x[at++] / 2);
          cov[i + j * k] = cov[j + i * k] = (r * sd[i] * sd[j]) / sigma ** 2;
        }
      if (!choleskyLower(cov, k)) return -Infinity;
      const lower: number[] = [];
      for (let j = 0; j < k; j++) for (let i = j; i < k; i++) lower.push(cov[i + j * k]);
      theta.set(t, lower);
    }
    // theta in the model's term order
    return model.logLikAt(
      model.terms.flatMap((t) => theta.get(t)!),
      Array.from(x).slice(nre, x.length - 1),
      sigma,
    );
  };
  return { names, values, logLik };
}

/** nlme's apVar: the inverse of minus the Hessian of the log-likelihood in the natural parameters. */
function approximateCovariance(model: NlmeModel, natural: NaturalParameters): Float64Array {
  const k = natural.values.length;
  if (natural.values.some((v) => !Number.isFinite(v)))
    throw new ModelError('cannot get confidence intervals on var-cov components: a variance component is estimated as 0 (singular fit)');
  const H = richardsonHessian((x) => -natural.logLik(x), natural.values);
  if (!symmetricEigen(H, k).values.every((v) => v > 0))
    throw new ModelError('cannot get confidence intervals on var-cov components: Non-positive definite approximate variance-covariance');
  const L = Float64Array.from(H);
  choleskyLower(L, k);
  return choleskyInverse(L, k);
}

/** nlme's intervals(fit, level): Wald intervals, variance parameters on their natural scale transformed back. */
export function intervals(model: NlmeModel, level = 0.95): NlmeIntervals {
  const c = model.coefTable();
  const v = model.vcovMatrix();
  const fixed = c.term.map((name, i) => {
    const half = tQuantile((1 + level) / 2, c.df[i]) * Math.sqrt(v[i + i * model.p]);
    return { name, lower: c.estimate[i] - half, est: c.estimate[i], upper: c.estimate[i] + half };
  });
  const rs = model.residualStructure;
  const natural = naturalParameters(model);
  if (natural.values.length === 1) {
    // no variance parameters but sigma (gls without structures): the chi-square interval
    const nr = model.n - (model.REML ? model.p : 0);
    const s = model.sigma * Math.sqrt(nr);
    return withText({
      kind: model.kind,
      level,
      fixed,
      sigma: { lower: s / Math.sqrt(chisqQuantile((1 + level) / 2, nr)), est: model.sigma, upper: s / Math.sqrt(chisqQuantile((1 - level) / 2, nr)) },
    });
  }
  const cov = approximateCovariance(model, natural);
  const z = normalQuantile((1 + level) / 2);
  const k = natural.values.length;
  const bounds = natural.values.map((x, i) => {
    const half = z * Math.sqrt(cov[i + i * k]);
    return [x - half, x, x + half];
  });
  const out: IntervalValues = { kind: model.kind, level, fixed, sigma: { lower: NaN, est: NaN, upper: NaN } };
  const corCount = rs.correlation?.npar ?? 0;
  natural.names.forEach((p, i) => {
    const [lo, est, hi] = bounds[i];
    if (p.block === 'reStruct') {
      const back = p.name.startsWith('sd(') ? Math.exp : (x: number) => Math.tanh(x / 2);
      ((out.reStruct ??= {})[p.group!] ??= []).push({ name: p.name, lower: back(lo), est: back(est), upper: back(hi) });
    } else if (p.block === 'sigma') out.sigma = { lower: Math.exp(lo), est: Math.exp(est), upper: Math.exp(hi) };
  });
  // the structures' parameters are transformed back jointly (ARMA's coefficients depend on every partial autocorrelation)
  const first = natural.names.findIndex((p) => p.block === 'corStruct' || p.block === 'varStruct');
  if (first >= 0) {
    const columns = [0, 1, 2].map((b) => bounds.slice(first, first + rs.npar).map((x) => x[b]));
    if (rs.correlation) {
      const [lo, est, hi] = columns.map((u) => rs.correlation!.constrained(u.slice(0, corCount)));
      out.corStruct = rs.correlation.names.map((name, i) => ({ name, lower: lo[i], est: est[i], upper: hi[i] }));
    }
    if (rs.variance) {
      const [lo, est, hi] = columns.map((u) => rs.variance!.constrained(u.slice(corCount)));
      out.varStruct = rs.variance.names.map((name, i) => ({ name, lower: lo[i], est: est[i], upper: hi[i] }));
    }
  }
  return withText(out);
}

type IntervalValues = Omit<NlmeIntervals, 'toString' | 'toMimeBundle'>;

function withText(x: IntervalValues): NlmeIntervals {
  return { ...x, toString: () => intervalsText(x), toMimeBundle: () => preformatted(intervalsText(x)) };
}

const preformatted = (text: string): MimeBundle => ({ 'text/plain': text, 'text/html': html`<pre>${text}</pre>`.markup });

function intervalRowsText(rows: IntervalRow[]): string[] {
  const cols = ['lower', 'est', 'upper'] as const;
  const text = cols.map((c) =>
    formatColumn(
      rows.map((r) => r[c]),
      7,
    ),
  );
  return printMatrix(
    rows.map((r) => r.name),
    ['lower', 'est.', 'upper'],
    rows.map((_, i) => text.map((t) => t[i])),
    true,
  );
}

/** print.intervals.lme / print.intervals.gls */
function intervalsText(x: IntervalValues): string {
  const lme = x.kind === 'lme';
  const out = [`Approximate ${Math.round(x.level * 100)}% confidence intervals`, '', lme ? ' Fixed effects:' : ' Coefficients:', ...intervalRowsText(x.fixed)];
  if (x.reStruct) {
    out.push('', ' Random Effects:');
    for (const [group, rows] of Object.entries(x.reStruct)) out.push(`  Level: ${group} `, ...intervalRowsText(rows));
  }
  if (x.corStruct) out.push('', ' Correlation structure:', ...intervalRowsText(x.corStruct));
  if (x.varStruct) out.push('', ' Variance function:', ...intervalRowsText(x.varStruct));
  const s = formatColumn([x.sigma.lower, x.sigma.est, x.sigma.upper], 7);
  out.push(
    '',
    lme ? ' Within-group standard error:' : ' Residual standard error:',
    ...printMatrix([''], ['lower', 'est.', 'upper'], [s], true).map((l) => l.slice(1) + ' '),
  );
  return out.join('\n');
}

/** print.anova.lme's p-values: format(round(p, 4)), "<.0001" for 0, blank where there is no test */
function roundedPValues(p: number[]): string[] {
  const rounded = p.map((v) => Math.round(v * 1e4) / 1e4);
  const text = formatColumn(rounded.filter(Number.isFinite), 7);
  let k = 0;
  return rounded.map((v) => {
    if (!Number.isFinite(v)) return '';
    const t = text[k++];
    return v === 0 ? '<.0001' : t;
  });
}

export interface NlmeAnovaRow {
  term: string;
  numDF: number;
  denDF: number;
  F: number;
  p: number;
}

export interface NlmeAnovaOptions {
  /** "sequential" (nlme's default, Type I) or "marginal" (each term adjusted for all others) */
  type?: 'sequential' | 'marginal';
  /** a contrast matrix (rows of p coefficients, or one row): one F test of L beta = 0 instead of the per-term table */
  L?: number[] | number[][];
  /**
   * the denominator df: nlme's (default) or Satterthwaite's for each term's hypothesis, as
   * lmerTest's contestMD gives them (lme fits only); the F values are nlme's either way
   */
  ddf?: NlmeDdf;
}

/** nlme's anova(fit): Wald F tests with nlme's denominator df. */
export class NlmeAnovaTable {
  constructor(
    readonly rows: NlmeAnovaRow[],
    readonly kind: 'lme' | 'gls',
    readonly label?: string,
  ) {}

  private lines(): string[] {
    const pval = roundedPValues(this.rows.map((r) => r.p));
    const F = formatColumn(
      zapsmall(
        this.rows.map((r) => r.F),
        7,
      ),
      7,
    );
    const withDen = this.kind === 'lme' || this.label !== undefined;
    const columns = withDen ? ['numDF', 'denDF', 'F-value', 'p-value'] : ['numDF', 'F-value', 'p-value'];
    // Satterthwaite's df are not whole numbers: printed as a column
    const den = this.rows.every((r) => Number.isInteger(r.denDF))
      ? this.rows.map((r) => String(r.denDF))
      : formatColumn(
          this.rows.map((r) => r.denDF),
          7,
        );
    const cells = this.rows.map((r, i) => (withDen ? [String(r.numDF), den[i], F[i], pval[i]] : [String(r.numDF), F[i], pval[i]]));
    const heading = this.label ? [this.label] : this.kind === 'gls' ? [`Denom. DF: ${this.rows[0]?.denDF} `] : [];
    return [
      ...heading,
      ...printMatrix(
        this.rows.map((r) => r.term),
        columns,
        cells,
        true,
      ),
    ];
  }

  toString(): string {
    return this.lines().join('\n');
  }

  toMimeBundle(): MimeBundle {
    return preformatted(this.toString());
  }

  toJSON() {
    return { kind: this.kind, label: this.label, rows: this.rows };
  }
}

/** The upper Cholesky factor R of the inverse test covariance (R'R = Cov^-1): R beta are nlme's sequential effects. */
function inverseCovarianceFactor(cov: Float64Array, p: number): Float64Array {
  const L = Float64Array.from(cov);
  if (!choleskyLower(L, p)) throw new ModelError('the fixed effects covariance is not positive definite');
  const inv = choleskyInverse(L, p);
  if (!choleskyLower(inv, p)) throw new ModelError('the fixed effects covariance is not positive definite');
  return inv;
}

/** beta_S' (Cov_SS)^-1 beta_S for coefficient set S */
export function waldQuadratic(cov: Float64Array, p: number, rows: Float64Array[], beta: Float64Array): number {
  const m = rows.length;
  const LV = new Float64Array(m * m);
  const Lb = rows.map((l) => l.reduce((a, v, j) => a + v * beta[j], 0));
  for (let a = 0; a < m; a++)
    for (let b = 0; b < m; b++) {
      let s = 0;
      for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) s += rows[a][i] * cov[i + j * p] * rows[b][j];
      LV[a + b * m] = s;
    }
  if (!choleskyLower(LV, m)) throw new ModelError('the rows of L are linearly dependent');
  const w = Float64Array.from(Lb);
  for (let j = 0; j < m; j++) {
    w[j] /= LV[j + j * m];
    for (let i = j + 1; i < m; i++) w[i] -= LV[i + j * m] * w[j];
  }
  return w.reduce((a, v) => a + v * v, 0);
}

/** anova.lme / anova.gls for one model. */
export function nlmeAnova(model: NlmeModel, options: NlmeAnovaOptions = {}): NlmeAnovaTable {
  const p = model.p;
  const cov = model.testCovariance();
  const beta = model.beta;
  const satterthwaite = model.ddf(options.ddf) === 'Satterthwaite';
  const unit = (j: number) => Float64Array.from({ length: p }, (_, i) => (i === j ? 1 : 0));
  if (options.L) {
    const L = (Array.isArray(options.L[0]) ? options.L : [options.L]) as number[][];
    const rows = L.map((r, i) => {
      if (r.length > p) throw new ModelError(`row ${i + 1} of L has ${r.length} values; the model has ${p} coefficients`);
      return Float64Array.from({ length: p }, (_, j) => r[j] ?? 0);
    }).filter((r) => r.some((v) => v !== 0));
    const used = new Set<number>();
    rows.forEach((r) => r.forEach((v, j) => v !== 0 && used.add(model.fixDF.X[j])));
    if (!satterthwaite && used.size > 1) throw new ModelError('L may only involve fixed effects with the same denominator DF');
    const denDF = satterthwaite ? fTestDdf(model, rows) : [...used][0];
    const F = waldQuadratic(cov, p, rows, beta) / rows.length;
    return new NlmeAnovaTable([{ term: '', numDF: rows.length, denDF, F, p: fUpper(F, rows.length, denDF) }], model.kind, 'F-test for linear combination(s)');
  }
  const type = options.type ?? 'sequential';
  if (type !== 'sequential' && type !== 'marginal') throw new ModelError(`anova type must be 'sequential' or 'marginal', not '${String(type)}'`);
  const R = type === 'sequential' ? inverseCovarianceFactor(cov, p) : undefined;
  const rows = termColumns(model.frame).map(({ name, columns }) => {
    // the term's hypothesis: rows j of R (R beta are the sequential effects) or unit rows
    const hypothesis = columns.map((j) => (R ? Float64Array.from({ length: p }, (_, i) => (i >= j ? R[i + j * p] : 0)) : unit(j)));
    const ss = R ? hypothesis.reduce((a, r) => a + r.reduce((e, v, i) => e + v * beta[i], 0) ** 2, 0) : waldQuadratic(cov, p, hypothesis, beta);
    const numDF = columns.length;
    const denDF = satterthwaite ? fTestDdf(model, hypothesis) : model.kind === 'lme' ? model.fixDF.terms.get(name)! : model.n - p;
    const F = ss / numDF;
    return { term: name, numDF, denDF, F, p: fUpper(F, numDF, denDF) };
  });
  return new NlmeAnovaTable(rows, model.kind);
}

export interface NlmeComparisonRow {
  model: string;
  df: number;
  AIC: number;
  BIC: number;
  logLik: number;
  test: string;
  L_Ratio: number;
  p: number;
}

/** nlme's anova(fit1, fit2, ...): the models in the order given, each tested against the previous. */
export class NlmeComparisonTable {
  constructor(
    readonly rows: NlmeComparisonRow[],
    readonly messages: string[],
  ) {}

  toString(): string {
    const fmt = (values: number[]) => {
      const finite = values.map((v) => (Number.isFinite(v) ? v : 0));
      const text = formatColumn(zapsmall(finite, 7), 7);
      return text.map((t, i) => (Number.isFinite(values[i]) ? t : ''));
    };
    const AIC = fmt(this.rows.map((r) => r.AIC));
    const BIC = fmt(this.rows.map((r) => r.BIC));
    const ll = fmt(this.rows.map((r) => r.logLik));
    const lr = fmt(this.rows.map((r) => r.L_Ratio));
    const p = roundedPValues(this.rows.map((r) => r.p));
    const cells = this.rows.map((r, i) => [String(i + 1), String(r.df), AIC[i], BIC[i], ll[i], r.test, lr[i], p[i]]);
    return [
      ...this.messages,
      ...printMatrix(
        this.rows.map((r) => r.model),
        ['Model', 'df', 'AIC', 'BIC', 'logLik', 'Test', 'L.Ratio', 'p-value'],
        cells,
        true,
      ),
    ].join('\n');
  }

  toMimeBundle(): MimeBundle {
    return preformatted(this.toString());
  }

  toJSON() {
    return { messages: this.messages, rows: this.rows };
  }
}

export function nlmeComparison(models: NlmeModel[], names = models.map((_, i) => `fit${i + 1}`)): NlmeComparisonTable {
  if (models.length < 2) throw new ModelError('a likelihood-ratio comparison needs at least two models');
  if (names.length !== models.length) throw new ModelError(`${names.length} model names for ${models.length} models`);
  const reml = models.map((m) => m.REML);
  if (reml.some((r) => r !== reml[0])) throw new ModelError('all fitted objects must have the same estimation method (REML or ML); refit with the same method');
  const n = models[0].n;
  models.forEach((m, i) => {
    if (m.n !== n) throw new ModelError(`models were not all fitted to the same size of dataset: ${names[0]} has ${n} observations, ${names[i]} has ${m.n}`);
  });
  const messages: string[] = [];
  if (reml[0] && models.some((m) => m.xNames.join('\u0000') !== models[0].xNames.join('\u0000')))
    messages.push('Warning: fitted objects with different fixed effects. REML comparisons are not meaningful.');
  const rows = models.map((m, i) => {
    const row: NlmeComparisonRow = { model: names[i], df: m.dof, AIC: m.AIC(), BIC: m.BIC(), logLik: m.logLik(), test: '', L_Ratio: NaN, p: NaN };
    if (i > 0) {
      const prev = models[i - 1];
      const ddf = m.dof - prev.dof;
      if (ddf !== 0) {
        row.test = `${i} vs ${i + 1}`;
        row.L_Ratio = 2 * Math.abs(m.logLik() - prev.logLik());
        row.p = chisqUpper(row.L_Ratio, Math.abs(ddf));
      }
    }
    return row;
  });
  return new NlmeComparisonTable(rows, messages);
}
