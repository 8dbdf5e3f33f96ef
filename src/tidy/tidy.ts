/**
 * Fits as data frames, after R's broom (lm) and broom.mixed (lmer): tidy() one row per estimate,
 * glance() one row per model, augment() the data with fitted values, residuals and leverages. The
 * columns are broom's, named exactly as broom names them, so R code and its readers carry over.
 */
import { DataError, ModelError } from '../errors';
import { toTable, type DataInput } from '../frame/table';
import type { Table } from '../frame/types';
import { coef, conditionalVariances, predict } from '../inference/conditional';
import { coefficientTests } from '../inference/contrast';
import { normalQuantile, tQuantile } from '../stats/distributions';
import { LinearModel } from '../lmm/lm';
import { LinearMixedModel } from '../lmm/model';
import { frameOf, tableColumns, type DataFrame, type FrameColumn } from '../frame/danfo';
import { dataOf, modelFrameColumns } from '../frame/fit-data';
import { hatValues } from './hat';

export type FittedModel = LinearMixedModel | LinearModel;

/** broom.mixed's effects: fixed effects, variance components, conditional modes, per-level coefficients. */
export type TidyEffect = 'fixed' | 'ran_pars' | 'ran_vals' | 'ran_coefs';

export interface TidyOptions {
  /** which rows (lmer fits; default fixed and ran_pars, as broom.mixed) */
  effects?: TidyEffect | TidyEffect[];
  /** broom's conf.int: add conf.low and conf.high */
  confInt?: boolean;
  /** broom's conf.level (default 0.95) */
  confLevel?: number;
  /** variance components as standard deviations and correlations (default) or variances and covariances */
  scales?: 'sdcor' | 'vcov';
}

/** One tidy row before the columns are chosen; absent numbers are NaN (R's NA). */
interface TidyRow {
  effect: TidyEffect;
  group: string | null;
  level: string | null;
  term: string;
  estimate: number;
  'std.error': number;
  statistic: number;
  df: number;
  'p.value': number;
  'conf.low': number;
  'conf.high': number;
}

const row = (effect: TidyEffect, term: string, estimate: number, fields: Partial<TidyRow> = {}): TidyRow => ({
  effect,
  group: null,
  level: null,
  term,
  estimate,
  'std.error': NaN,
  statistic: NaN,
  df: NaN,
  'p.value': NaN,
  'conf.low': NaN,
  'conf.high': NaN,
  ...fields,
});

function confidenceLevel(options: { confLevel?: number }): number {
  const level = options.confLevel ?? 0.95;
  if (!(level > 0 && level < 1)) throw new ModelError(`confLevel must be between 0 and 1, not ${level}`);
  return level;
}

/** Fixed effects with t tests (Satterthwaite df for lmer, n - p for lm) and t intervals, as summary() and confint.lm. */
function fixedRows(model: FittedModel, level: number): TidyRow[] {
  const c = model.coefTable();
  const { df, p } = coefficientTests(model);
  return c.term.map((term, j) => {
    const half = tQuantile((1 + level) / 2, df[j]) * c.se[j];
    return row('fixed', term, c.estimate[j], {
      'std.error': c.se[j],
      statistic: c.t[j],
      df: df[j],
      'p.value': p[j],
      'conf.low': c.estimate[j] - half,
      'conf.high': c.estimate[j] + half,
    });
  });
}

/**
 * Variance components as broom.mixed names them: per term sd__x, then cor__x.y for the later
 * columns y (lme4's theta order), the residual as sd__Observation; var__/cov__ on the vcov scale.
 */
function ranParRows(model: LinearMixedModel, scales: 'sdcor' | 'vcov'): TidyRow[] {
  const vcov = scales === 'vcov';
  const rows: TidyRow[] = [];
  const varCorr = model.varCorr();
  for (const [group, term] of model.uniqueGroupNames()) {
    const own = varCorr.filter((v) => v.grp === group);
    // varCorr lists a term's variances before its covariances: per column, its variance then the rest
    for (const name of term.names) {
      for (const v of own.filter((x) => x.var1 === name)) {
        const estimate = vcov ? v.vcov : v.sdcor;
        const label = v.var2 === null ? `${vcov ? 'var' : 'sd'}__${name}` : `${vcov ? 'cov' : 'cor'}__${name}.${v.var2}`;
        rows.push(row('ran_pars', label, estimate, { group }));
      }
    }
  }
  rows.push(row('ran_pars', `${vcov ? 'var' : 'sd'}__Observation`, vcov ? model.sigma ** 2 : model.sigma, { group: 'Residual' }));
  return rows;
}

/** Conditional modes with their conditional SDs and normal intervals (broom.mixed's ran_vals). */
function ranValRows(model: LinearMixedModel, level: number): TidyRow[] {
  const z = normalQuantile((1 + level) / 2);
  const rows: TidyRow[] = [];
  for (const [group, blocks] of Object.entries(conditionalVariances(model))) {
    const modes = model.ranef()[group];
    const byLevel = new Map(modes.map((m) => [m.level, m]));
    for (const block of blocks)
      block.names.forEach((term, a) =>
        block.levels.forEach((lev, l) => {
          const estimate = byLevel.get(lev)![term] as number;
          const se = block.condSD[l][a];
          rows.push(row('ran_vals', term, estimate, { group, level: lev, 'std.error': se, 'conf.low': estimate - z * se, 'conf.high': estimate + z * se }));
        }),
      );
  }
  return rows;
}

/** Fixed plus random effects per level, the coefficients in fixef's order (broom.mixed's ran_coefs). */
function ranCoefRows(model: LinearMixedModel): TidyRow[] {
  const rows: TidyRow[] = [];
  for (const [group, levels] of Object.entries(coef(model))) {
    const names = Object.keys(levels[0] ?? {}).filter((name) => name !== 'level');
    const ordered = [...model.xNames.filter((x) => names.includes(x)), ...names.filter((x) => !model.xNames.includes(x))];
    for (const term of ordered) for (const l of levels) rows.push(row('ran_coefs', term, l[term] as number, { group, level: l.level }));
  }
  return rows;
}

function effectsOf(model: FittedModel, options: TidyOptions): TidyEffect[] {
  const effects = options.effects === undefined ? ['fixed', 'ran_pars'] : Array.isArray(options.effects) ? options.effects : [options.effects];
  const known: TidyEffect[] = ['fixed', 'ran_pars', 'ran_vals', 'ran_coefs'];
  const unknown = effects.find((e) => !known.includes(e as TidyEffect));
  if (unknown !== undefined) throw new ModelError(`tidy effects are ${known.map((e) => `'${e}'`).join(', ')}; not '${unknown}'`);
  if (model instanceof LinearMixedModel) return effects as TidyEffect[];
  if (effects.some((e) => e !== 'fixed' && options.effects !== undefined)) throw new ModelError('an lm fit has fixed effects only');
  return ['fixed'];
}

/**
 * broom's tidy(): for lmer fits (broom.mixed's tidy.merMod on an lmerTest fit) the columns effect,
 * group, level (with ran_vals/ran_coefs), term, estimate, std.error, statistic, df, p.value and, with
 * `confInt`, conf.low and conf.high; for lm fits (tidy.lm) term, estimate, std.error, statistic,
 * p.value and the interval.
 */
export function tidyModel(model: FittedModel, options: TidyOptions = {}): DataFrame {
  const effects = effectsOf(model, options);
  const level = confidenceLevel(options);
  const rows: TidyRow[] = [];
  const mixed = model instanceof LinearMixedModel ? model : undefined;
  if (effects.includes('fixed')) rows.push(...fixedRows(model, level));
  if (mixed && effects.includes('ran_pars')) rows.push(...ranParRows(mixed, options.scales ?? 'sdcor'));
  if (mixed && effects.includes('ran_vals')) rows.push(...ranValRows(mixed, level));
  if (mixed && effects.includes('ran_coefs')) rows.push(...ranCoefRows(mixed));

  const fixed = effects.includes('fixed');
  const columns: (keyof TidyRow)[] = [];
  if (mixed) columns.push('effect');
  if (mixed && effects.some((e) => e !== 'fixed')) columns.push('group');
  if (effects.includes('ran_vals') || effects.includes('ran_coefs')) columns.push('level');
  columns.push('term', 'estimate');
  if (fixed || effects.includes('ran_vals')) columns.push('std.error');
  if (fixed) columns.push('statistic', ...(mixed ? (['df'] as const) : []), 'p.value');
  if (options.confInt) columns.push('conf.low', 'conf.high');
  return frameOf(columns.map((name): [string, FrameColumn] => [name, rows.map((r) => r[name]) as FrameColumn]));
}

/**
 * broom's glance() entries: for lmer fits nobs, sigma, logLik, AIC, BIC, REMLcrit (REML) or deviance
 * (ML) and df.residual; for lm fits r.squared, adj.r.squared, sigma, statistic, p.value, df, logLik,
 * AIC, BIC, deviance (the residual sum of squares), df.residual and nobs.
 */
export function glanceEntries(model: FittedModel): [string, number][] {
  if (model instanceof LinearMixedModel) {
    return [
      ['nobs', model.n],
      ['sigma', model.sigma],
      ['logLik', model.logLik()],
      ['AIC', model.AIC()],
      ['BIC', model.BIC()],
      [model.REML ? 'REMLcrit' : 'deviance', model.objective],
      ['df.residual', model.n - model.dof],
    ];
  }
  const s = model.fitStatistics();
  return [
    ['r.squared', s.rSquared],
    ['adj.r.squared', s.adjRSquared],
    ['sigma', model.sigma],
    ['statistic', s.F],
    ['p.value', s.p],
    ['df', s.numDF],
    ['logLik', model.logLik()],
    ['AIC', model.AIC()],
    ['BIC', model.BIC()],
    ['deviance', model.rss],
    ['df.residual', model.n - model.p],
    ['nobs', model.n],
  ];
}

/**
 * The data columns of augment(): the given data (its rows either the rows used or all rows of the
 * fitted data, omitted rows then getting NaN in the added columns, as R's na.exclude), or else the
 * model frame of the data the fit was made from.
 */
function augmentData(model: FittedModel, data: DataInput | undefined): { columns: [string, FrameColumn][]; rows?: Int32Array; nrows: number } {
  if (data === undefined) {
    const table = dataOf(model);
    if (!table) throw new DataError('augment() needs the data for a model fitted outside lm()/lmer(): augment(fit, data)');
    return { columns: modelFrameColumns(model.frame, table), nrows: model.n };
  }
  const table: Table = toTable(data);
  const columns = tableColumns(table);
  if (table.nrows === model.n) return { columns, nrows: model.n };
  if (table.nrows === model.n + model.frame.nOmitted) return { columns, rows: model.frame.rows, nrows: table.nrows };
  throw new DataError(`augment data has ${table.nrows} rows; the model used ${model.n} of ${model.n + model.frame.nOmitted}`);
}

/**
 * broom's augment(): the data with, for lmer fits (augment.merMod), .fitted, .resid, .hat, .cooksd,
 * .fixed (X beta), .mu, .offset, .sqrtXwt, .sqrtrwt, .weights, .wtres; for lm fits (augment.lm)
 * .fitted, .resid, .hat, .sigma (leave-one-out), .cooksd, .std.resid. Leverages need the dense
 * penalized system: past a few thousand random effects .hat and .cooksd are NaN.
 */
export function augmentModel(model: FittedModel, data?: DataInput): DataFrame {
  const { columns, rows, nrows } = augmentData(model, data);
  const n = model.n;
  const fitted = model.fitted();
  const resid = model.residuals();
  const hat = hatValues(model) ?? new Float64Array(n).fill(NaN);
  const s2 = model.sigma ** 2;
  const cooks = hat.map((h, i) => (resid[i] ** 2 * h) / (model.p * s2 * (1 - h) ** 2));
  const added: [string, Float64Array][] = [
    ['.fitted', fitted],
    ['.resid', resid],
    ['.hat', hat],
  ];
  if (model instanceof LinearMixedModel) {
    const ones = new Float64Array(n).fill(1);
    added.push(
      ['.cooksd', cooks],
      ['.fixed', predict(model, undefined, { re: 'none' })],
      ['.mu', fitted],
      ['.offset', new Float64Array(n)],
      ['.sqrtXwt', ones],
      ['.sqrtrwt', ones],
      ['.weights', ones],
      ['.wtres', resid],
    );
  } else {
    const rss = model.rss;
    const df = n - model.p - 1;
    added.push(
      ['.sigma', hat.map((h, i) => Math.sqrt((rss - resid[i] ** 2 / (1 - h)) / df))],
      ['.cooksd', cooks],
      ['.std.resid', hat.map((h, i) => resid[i] / (model.sigma * Math.sqrt(1 - h)))],
    );
  }
  const spread = (values: Float64Array): Float64Array => {
    if (!rows) return values;
    const out = new Float64Array(nrows).fill(NaN);
    rows.forEach((r, i) => (out[r] = values[i]));
    return out;
  };
  return frameOf([...columns, ...added.map(([name, values]): [string, FrameColumn] => [name, spread(values)])]);
}
