/**
 * anova(): lmerTest's F-test tables for one model (Type I or III, Satterthwaite df) and lme4's
 * likelihood-ratio comparison of several models (REML fits refitted with ML first), printed as
 * R prints them (print.anova: printCoefmat with 5 significant digits).
 */
import { coefmatSpec, SIGNIF_LEGEND, zapsmall, type CoefColumn } from '../display/coefmat';
import { html, htmlLines, tableHtml, textTable, type TableSpec } from '../display/html';
import type { MimeBundle } from '../display/mime';
import { ModelError } from '../errors';
import type { LinearModel } from '../lmm/lm';
import { LinearMixedModel } from '../lmm/model';
import { nlmeAnova, nlmeComparison, type NlmeAnovaOptions, type NlmeAnovaTable, type NlmeComparisonTable } from '../nlme/inference';
import { NlmeModel } from '../nlme/lme';
import { type1Hypotheses, type3Hypotheses } from './anova-contrasts';
import { fTest, isMixedModel, type DdfMethod, type FTestResult } from './contrast';
import { chisqUpper, logChisqMixtureUpper, logChisqUpper, negLog10FromLn } from '../stats/distributions';

export type FittedModel = LinearMixedModel | LinearModel;

export interface AnovaOptions {
  /** 1 (sequential) or 3 (marginal, SAS containment); default 3 as in lmerTest */
  type?: 1 | 3;
  /** denominator df of mixed models: Satterthwaite (default) or Kenward-Roger, lmerTest's `ddf` */
  ddf?: DdfMethod;
}

export interface AnovaRow extends FTestResult {
  term: string;
}

/** A table printed like R's print.anova: heading lines, then printCoefmat(digits = 5). */
function anovaText(heading: string[], spec: TableSpec & { stars: boolean }): string {
  const out = [...heading, textTable(spec)];
  if (spec.stars) out.push('---', SIGNIF_LEGEND);
  return out.join('\n');
}

function anovaHtml(heading: string[], spec: TableSpec, notes: string[] = []): string {
  return html`${notes.map((m) => html`<p><i>${m}</i></p>`)}<div class="neurolmm-anova"><p>${htmlLines(heading)}</p>${tableHtml(spec)}</div>`.markup;
}

/**
 * print.anova's columns, each [name, kind, the row field it shows]: test statistics rounded to
 * 4 decimals, other columns zapsmall()ed and formatted alone, NA cells blank.
 */
function anovaSpec<R>(rows: R[], rowNames: string[], fields: [string, CoefColumn['kind'], keyof R][]): TableSpec & { stars: boolean } {
  const digits = 5;
  const columns: CoefColumn[] = fields.map(([name, kind, key]) => ({ name, kind, values: rows.map((r) => r[key] as number) }));
  const prepared = columns.map((c) => (c.kind === 'other' ? { ...c, values: zapsmallFinite(Array.from(c.values), digits) } : c));
  const spec = coefmatSpec(rowNames, prepared, digits);
  spec.rows = spec.rows.map((row, i) => row.map((cell, j) => (j < columns.length && Number.isNaN(columns[j].values[i]) ? '' : cell)));
  return spec;
}

function zapsmallFinite(values: number[], digits: number): number[] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return values;
  const zapped = zapsmall(finite, digits);
  let k = 0;
  return values.map((v) => (Number.isFinite(v) ? zapped[k++] : v));
}

/** lmerTest's anova(model, type): one F test per term. */
export class AnovaTable {
  constructor(
    readonly rows: AnovaRow[],
    readonly type: 1 | 3,
    readonly method: string,
  ) {}

  get heading(): string {
    return `Type ${this.type === 1 ? 'I' : 'III'} Analysis of Variance Table with ${this.method}`;
  }

  private spec(): TableSpec & { stars: boolean } {
    return anovaSpec(
      this.rows,
      this.rows.map((r) => r.term),
      [
        ['Sum Sq', 'other', 'sumSq'],
        ['Mean Sq', 'other', 'meanSq'],
        ['NumDF', 'other', 'numDF'],
        ['DenDF', 'other', 'denDF'],
        ['F value', 'test', 'F'],
        ['Pr(>F)', 'p', 'p'],
      ],
    );
  }

  toString(): string {
    return anovaText([this.heading], this.spec());
  }

  toMimeBundle(): MimeBundle {
    return { 'text/plain': this.toString(), 'text/html': anovaHtml([this.heading], this.spec()) };
  }

  toJSON(): { type: 1 | 3; method: string; rows: AnovaRow[] } {
    return { type: this.type, method: this.method, rows: this.rows };
  }
}

/** One model of a likelihood-ratio comparison. */
export interface LikelihoodRatioRow {
  model: string;
  formula: string;
  npar: number;
  AIC: number;
  BIC: number;
  logLik: number;
  deviance: number;
  /** NaN in the first row */
  Chisq: number;
  Df: number;
  p: number;
  negLog10P: number;
}

export interface LikelihoodRatioOptions {
  /** model names for the table (default MODEL1, MODEL2, ... in argument order) */
  names?: string[];
  /**
   * p-values from the 50:50 mixture of chi-square(Df - 1) and chi-square(Df), the asymptotic law
   * when the larger model adds one variance component (with its covariances) on the boundary
   */
  boundary?: boolean;
  /** refit REML fits with ML first (default true, as lme4); false compares the criteria as fitted */
  refit?: boolean;
}

/** lme4's anova(m1, m2, ...): models ordered by number of parameters, each tested against the previous. */
export class LikelihoodRatioTable {
  constructor(
    readonly rows: LikelihoodRatioRow[],
    readonly dataName: string | undefined,
    readonly messages: string[],
    readonly boundary: boolean,
  ) {}

  get heading(): string[] {
    return [
      ...(this.dataName ? [`Data: ${this.dataName}`] : []),
      'Models:',
      ...this.rows.map((r) => `${r.model}: ${r.formula}`),
      ...(this.boundary ? ['p-values from the 50:50 mixture of chi-square(Df - 1) and chi-square(Df) (boundary)'] : []),
    ];
  }

  private spec(): TableSpec & { stars: boolean } {
    return anovaSpec(
      this.rows,
      this.rows.map((r) => r.model),
      [
        ['npar', 'other', 'npar'],
        ['AIC', 'other', 'AIC'],
        ['BIC', 'other', 'BIC'],
        ['logLik', 'other', 'logLik'],
        ['deviance', 'other', 'deviance'],
        ['Chisq', 'test', 'Chisq'],
        ['Df', 'other', 'Df'],
        ['Pr(>Chisq)', 'p', 'p'],
      ],
    );
  }

  toString(): string {
    return [...this.messages, anovaText(this.heading, this.spec())].join('\n');
  }

  toMimeBundle(): MimeBundle {
    return { 'text/plain': this.toString(), 'text/html': anovaHtml(this.heading, this.spec(), this.messages) };
  }

  toJSON(): { dataName?: string; messages: string[]; boundary: boolean; rows: LikelihoodRatioRow[] } {
    return { dataName: this.dataName, messages: this.messages, boundary: this.boundary, rows: this.rows };
  }
}

/** lmerTest's single-model anova: F tests of each term's hypothesis (Type I or III). */
export function anovaTable(model: FittedModel, options: AnovaOptions = {}): AnovaTable {
  const type = options.type ?? 3;
  if (type !== 1 && type !== 3) throw new ModelError(`anova type must be 1 or 3, not ${String(type)}`);
  const hypotheses = type === 1 ? type1Hypotheses(model.frame) : type3Hypotheses(model.frame);
  const ddf = options.ddf ?? 'Satterthwaite';
  const rows = hypotheses.map((h) => ({ term: h.term, ...fTest(model, h.rows, [], ddf) }));
  const method = isMixedModel(model) ? `${ddf}'s method` : 'exact F tests (lm)';
  return new AnovaTable(rows, type, method);
}

function isFittedModel(x: unknown): x is FittedModel {
  return typeof x === 'object' && x !== null && 'frame' in x && 'logLik' in x;
}

/** Number of parameters, as logLik's "df": coefficients, theta and sigma. */
function parameterCount(model: FittedModel): number {
  return model.dof;
}

function sameResponse(a: FittedModel, b: FittedModel): boolean {
  const ya = a.frame.y!;
  const yb = b.frame.y!;
  if (ya.length !== yb.length) return false;
  for (let i = 0; i < ya.length; i++) if (ya[i] !== yb[i]) return false;
  return true;
}

/** lme4's anova(m1, m2, ...) likelihood-ratio table. */
export function likelihoodRatioTable(models: FittedModel[], options: LikelihoodRatioOptions = {}): LikelihoodRatioTable {
  if (models.length < 2) throw new ModelError('a likelihood-ratio comparison needs at least two models');
  const names = options.names ?? models.map((_, i) => `MODEL${i + 1}`);
  if (names.length !== models.length) throw new ModelError(`${names.length} model names for ${models.length} models`);
  const n = models[0].n;
  models.forEach((m, i) => {
    if (m.n !== n) throw new ModelError(`models were not all fitted to the same size of dataset: ${names[0]} has ${n} observations, ${names[i]} has ${m.n}`);
    if (!sameResponse(models[0], m))
      throw new ModelError(`models were not all fitted to the same data: the response of ${names[i]} differs from that of ${names[0]}`);
  });
  const messages: string[] = [];
  const remlFits = models.map((m) => m instanceof LinearMixedModel && m.REML);
  const refit = options.refit ?? true;
  if (refit && remlFits.some(Boolean)) messages.push('refitting model(s) with ML (instead of REML)');
  if (!refit && remlFits.some(Boolean) && !remlFits.every(Boolean)) messages.push('warning: some models fit with REML = TRUE, some not');
  const fits = models.map((m, i) => (refit && remlFits[i] ? (m as LinearMixedModel).refitML() : m));
  const order = fits.map((_, i) => i).sort((a, b) => parameterCount(fits[a]) - parameterCount(fits[b]));
  const rows: LikelihoodRatioRow[] = [];
  order.forEach((i, k) => {
    const m = fits[i];
    const npar = parameterCount(m);
    const logLik = m.logLik();
    const row: LikelihoodRatioRow = {
      model: names[i],
      formula: m.frame.formula,
      npar,
      AIC: m.AIC(),
      BIC: m.BIC(),
      logLik,
      deviance: -2 * logLik,
      Chisq: NaN,
      Df: NaN,
      p: NaN,
      negLog10P: NaN,
    };
    if (k > 0) {
      const previous = rows[k - 1];
      row.Chisq = 2 * Math.max(0, logLik - previous.logLik);
      row.Df = npar - previous.npar;
      if (row.Df > 0) {
        const lnP = options.boundary ? logChisqMixtureUpper(row.Chisq, [row.Df - 1, row.Df], [0.5, 0.5]) : logChisqUpper(row.Chisq, row.Df);
        row.p = options.boundary ? Math.exp(lnP) : chisqUpper(row.Chisq, row.Df);
        row.negLog10P = negLog10FromLn(lnP);
      }
    }
    rows.push(row);
  });
  const dataName = models.map((m) => m.dataName).find((d) => d !== undefined);
  return new LikelihoodRatioTable(rows, dataName, messages, options.boundary ?? false);
}

/**
 * anova(model, { type }) gives lmerTest's F-test table; anova(m1, m2, ..., options?) gives lme4's
 * likelihood-ratio comparison (lm fits may be compared with lmer fits).
 */
export function anova(model: FittedModel, options?: AnovaOptions): AnovaTable;
export function anova(...args: [FittedModel, FittedModel, ...(FittedModel | LikelihoodRatioOptions)[]]): LikelihoodRatioTable;
/** nlme fits (lme, gls): nlme's anova, Wald F tests for one model, likelihood-ratio tests in the order given for several */
export function anova(model: NlmeModel, options?: NlmeAnovaOptions): NlmeAnovaTable;
export function anova(...args: [NlmeModel, NlmeModel, ...(NlmeModel | { names?: string[] })[]]): NlmeComparisonTable;
export function anova(
  ...args: (FittedModel | NlmeModel | AnovaOptions | LikelihoodRatioOptions | NlmeAnovaOptions | undefined)[]
): AnovaTable | LikelihoodRatioTable | NlmeAnovaTable | NlmeComparisonTable {
  if (args[0] instanceof NlmeModel) {
    const fits = args.filter((a): a is NlmeModel => a instanceof NlmeModel);
    const options = args.find((a) => a !== undefined && !(a instanceof NlmeModel));
    if (fits.length !== args.filter((a) => a !== undefined && a !== options).length)
      throw new ModelError('anova: lme()/gls() fits cannot be compared with lmer()/lm() fits');
    if (fits.length === 1) return nlmeAnova(fits[0], options as NlmeAnovaOptions | undefined);
    return nlmeComparison(fits, (options as { names?: string[] } | undefined)?.names);
  }
  if (args.some((a) => a instanceof NlmeModel)) throw new ModelError('anova: lme()/gls() fits cannot be compared with lmer()/lm() fits');
  const models = (args as (FittedModel | AnovaOptions | LikelihoodRatioOptions | undefined)[]).filter(isFittedModel);
  const rest = args.filter((a) => a !== undefined && !isFittedModel(a)) as (AnovaOptions | LikelihoodRatioOptions)[];
  if (rest.length > 1 || (rest.length === 1 && args[args.length - 1] !== rest[0]))
    throw new ModelError('anova: give the models first and at most one options object last');
  if (models.length === 0) throw new ModelError('anova needs a fitted model');
  if (models.length === 1) return anovaTable(models[0], rest[0] as AnovaOptions | undefined);
  return likelihoodRatioTable(models, rest[0] as LikelihoodRatioOptions | undefined);
}
