/**
 * Results as danfojs DataFrames: broom's tidy()/glance()/augment() for fits, and toDataFrame() for
 * tables, records, columns and every result table of the library (ranef, coef, anova, confint,
 * contrast, a whole-brain fit's map summary). danfojs is required by these calls only.
 */
import { BrainFit } from '../brain/fit';
import { DataError } from '../errors';
import { toTable, type DataInput } from '../frame/table';
import type { Table } from '../frame/types';
import { AnovaTable, LikelihoodRatioTable } from '../inference/anova';
import type { RanefGroup } from '../inference/conditional';
import { ConfintTable } from '../inference/confint';
import { ContrastResult } from '../inference/contrast';
import { LinearModel } from '../lmm/lm';
import { isRanefRows, LinearMixedModel, type RanefRows } from '../lmm/model';
import { danfo, frameOf, tableToFrame, type DataFrame, type FrameColumn } from '../frame/danfo';
import { augmentModel, glanceEntries, tidyModel, type FittedModel, type TidyOptions } from './tidy';

export { danfo, type DanfoModule, type DataFrame, type DataFrameBase, type Series, type SeriesBase } from '../frame/danfo';
export type { TidyEffect, TidyOptions } from './tidy';

/** Every result tidy() turns into a frame. */
export type Tidyable = LinearMixedModel | LinearModel | AnovaTable | LikelihoodRatioTable | ContrastResult | ConfintTable | BrainFit;

type Columns = [string, FrameColumn][];

/** Columns named as broom names them, each the field of every row. */
function columnsOf<R>(rows: R[], fields: [string, keyof R][]): Columns {
  return fields.map(([name, key]): [string, FrameColumn] => [name, rows.map((r) => r[key]) as FrameColumn]);
}

/** broom's tidy.anova of lmerTest's F table. */
const anovaColumns = (table: AnovaTable): Columns =>
  columnsOf(table.rows, [
    ['term', 'term'],
    ['sumsq', 'sumSq'],
    ['meansq', 'meanSq'],
    ['NumDF', 'numDF'],
    ['DenDF', 'denDF'],
    ['statistic', 'F'],
    ['p.value', 'p'],
  ]);

/** broom's tidy.anova of lme4's likelihood-ratio table. */
const likelihoodRatioColumns = (table: LikelihoodRatioTable): Columns =>
  columnsOf(table.rows, [
    ['term', 'model'],
    ['npar', 'npar'],
    ['AIC', 'AIC'],
    ['BIC', 'BIC'],
    ['logLik', 'logLik'],
    ['deviance', 'deviance'],
    ['statistic', 'Chisq'],
    ['df', 'Df'],
    ['p.value', 'p'],
  ]);

/** A contrast's test in broom's names (lmerTest's contest columns). */
function contrastColumns(result: ContrastResult): Columns {
  const t = result.test;
  const entries: [string, number][] =
    t.kind === 't'
      ? [
          ['estimate', t.estimate],
          ['std.error', t.se],
          ['df', t.df],
          ['statistic', t.t],
          ['p.value', t.p],
          ['conf.low', t.lower],
          ['conf.high', t.upper],
        ]
      : [
          ['sumsq', t.sumSq],
          ['meansq', t.meanSq],
          ['NumDF', t.numDF],
          ['DenDF', t.denDF],
          ['statistic', t.F],
          ['p.value', t.p],
        ];
  return entries.map(([name, value]) => [name, [value]]);
}

/** A whole-brain fit's map summary: the range of every map volume over the fitted voxels. */
const brainColumns = (fit: BrainFit): Columns =>
  columnsOf(fit.report().ranges, [
    ['map', 'map'],
    ['volume', 'volume'],
    ['min', 'min'],
    ['max', 'max'],
  ]);

/**
 * broom's tidy(): a fit's estimates (see TidyOptions; for lmer fits broom.mixed's columns effect,
 * group, term, estimate, std.error, statistic, df, p.value, conf.low, conf.high), an anova,
 * likelihood-ratio, contrast or confint table in broom's column names, or a whole-brain fit's map
 * ranges (map, volume, min, max).
 */
export function tidy(result: Tidyable, options: TidyOptions = {}): DataFrame {
  if (result instanceof LinearMixedModel || result instanceof LinearModel) return tidyModel(result, options);
  if (result instanceof AnovaTable) return frameOf(anovaColumns(result));
  if (result instanceof LikelihoodRatioTable) return frameOf(likelihoodRatioColumns(result));
  if (result instanceof ContrastResult) return frameOf(contrastColumns(result));
  if (result instanceof ConfintTable) {
    return frameOf([
      ['term', result.names],
      ['conf.low', result.lower],
      ['conf.high', result.upper],
    ]);
  }
  if (result instanceof BrainFit) return frameOf(brainColumns(result));
  throw new DataError('tidy() takes an lm/lmer fit, an anova, contrast or confint table, or a whole-brain fit');
}

/** A one-row frame. */
const oneRow = (entries: [string, number][]): DataFrame => frameOf(entries.map(([name, value]): [string, FrameColumn] => [name, [value]]));

/**
 * broom's glance(): one row per model (lmer: nobs, sigma, logLik, AIC, BIC, REMLcrit or deviance,
 * df.residual; lm: also r.squared, adj.r.squared, the F statistic and its p.value). Named fits
 * (`glance({ intercept, slope })`) give a row each, named in a first column `model`, as dplyr's
 * bind_rows(..., .id = "model"). A whole-brain fit gives its counts (images, voxels, inMask,
 * fitted, seconds, evaluationsPerVoxel).
 */
export function glance(fit: FittedModel | BrainFit | Record<string, FittedModel>): DataFrame {
  if (fit instanceof BrainFit) {
    const r = fit.report();
    return oneRow([
      ['images', r.images],
      ['voxels', r.voxels],
      ['inMask', r.inMask],
      ['fitted', r.fitted],
      ['seconds', r.seconds],
      ['evaluationsPerVoxel', r.evaluationsPerVoxel],
    ]);
  }
  if (fit instanceof LinearMixedModel || fit instanceof LinearModel) return oneRow(glanceEntries(fit));
  const named = Object.entries(fit);
  const notFit = named.find(([, model]) => !(model instanceof LinearMixedModel || model instanceof LinearModel));
  if (notFit || named.length === 0)
    throw new DataError(`glance() takes a fit or an object of named fits${notFit ? `; '${notFit[0]}' is not an lm/lmer fit` : ''}`);
  return frameOf(recordColumns(named.map(([name, model]) => ({ model: name, ...Object.fromEntries(glanceEntries(model)) }))));
}

/**
 * broom's augment(): the model frame (or `data`, with as many rows as the fit used or as the
 * fitted data had) with .fitted, .resid, .hat, .cooksd and, for lmer, .fixed, .mu, .offset,
 * .sqrtXwt, .sqrtrwt, .weights, .wtres; for lm .sigma and .std.resid.
 */
export function augment(fit: LinearMixedModel | LinearModel, data?: DataInput): DataFrame {
  return augmentModel(fit, data);
}

/** lme4's as.data.frame(ranef(fit, condVar)): grpvar, term, grp, condval and, with condVar, condsd. */
function ranefColumns(groups: Record<string, RanefGroup>): Columns {
  const grpvar: string[] = [];
  const term: string[] = [];
  const grp: string[] = [];
  const condval: number[] = [];
  const condsd: number[] = [];
  const withSD = Object.values(groups).every((g) => g.condVar);
  for (const [group, rows] of Object.entries(groups)) {
    const condVar = rows.condVar;
    const blocks = condVar ?? [{ names: Object.keys(rows[0] ?? {}).filter((k) => k !== 'level'), levels: rows.map((r) => r.level), condSD: [] as number[][] }];
    const byLevel = new Map(rows.map((r) => [r.level, r]));
    for (const block of blocks)
      block.names.forEach((name, a) =>
        block.levels.forEach((level, l) => {
          grpvar.push(group);
          term.push(name);
          grp.push(level);
          condval.push(byLevel.get(level)![name] as number);
          if (withSD) condsd.push(block.condSD[l][a]);
        }),
      );
  }
  const columns: Columns = [
    ['grpvar', grpvar],
    ['term', term],
    ['grp', grp],
    ['condval', condval],
  ];
  if (withSD) columns.push(['condsd', condsd]);
  return columns;
}

/** coef(fit) stacked: group, level, then one column per coefficient. */
function coefColumns(groups: Record<string, RanefRows>): Columns {
  const names = [...new Set(Object.values(groups).flatMap((rows) => rows.flatMap((r) => Object.keys(r).filter((k) => k !== 'level'))))];
  const all = Object.entries(groups).flatMap(([group, rows]) => rows.map((r) => ({ group, row: r })));
  return [
    ['group', all.map((x) => x.group)],
    ['level', all.map((x) => x.row.level)],
    ...names.map((name): [string, FrameColumn] => [name, all.map((x) => (x.row[name] as number | undefined) ?? NaN)]),
  ];
}

const isRecordArray = (value: unknown): value is Record<string, unknown>[] =>
  Array.isArray(value) && value.length > 0 && value.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r));

/** Records (an array of objects) as columns in order of first appearance; absent cells are missing. */
function recordColumns(records: Record<string, unknown>[]): Columns {
  const names = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return names.map((name): [string, FrameColumn] => {
    const cells = records.map((r) => r[name]);
    const numeric = cells.every((v) => typeof v === 'number' || v === undefined || v === null);
    return [
      name,
      numeric
        ? cells.map((v) => (typeof v === 'number' ? v : NaN))
        : (cells.map((v) => (v === undefined || v === null ? null : typeof v === 'boolean' ? v : String(v))) as FrameColumn),
    ];
  });
}

/** Anything toDataFrame() converts. */
export type FrameSource = Tidyable | DataInput | Table | Record<string, RanefGroup> | Record<string, RanefRows>;

/**
 * A danfojs DataFrame from a table (readCSV, datasets), records (varCorr(), report().ranges), an
 * object of columns, ranef(fit) (lme4's as.data.frame layout), coef(fit) (group, level,
 * coefficients) or any result tidy() takes. A DataFrame is returned as it is.
 */
export function toDataFrame(source: FrameSource): DataFrame {
  if (source instanceof danfoDataFrameClass()) return source as DataFrame;
  if (
    source instanceof LinearMixedModel ||
    source instanceof LinearModel ||
    source instanceof AnovaTable ||
    source instanceof LikelihoodRatioTable ||
    source instanceof ContrastResult ||
    source instanceof ConfintTable ||
    source instanceof BrainFit
  ) {
    return tidy(source);
  }
  if (isRecordArray(source)) return frameOf(recordColumns(source));
  if (typeof source === 'object' && source !== null && !Array.isArray(source) && !('names' in source && 'nrows' in source)) {
    const values = Object.values(source as Record<string, unknown>);
    if (values.length && values.every(isRanefRows)) {
      return frameOf(ranefColumns(source as Record<string, RanefGroup>));
    }
    if (values.length && values.every((g) => isRecordArray(g) && 'level' in g[0])) return frameOf(coefColumns(source as Record<string, RanefRows>));
  }
  return tableToFrame(toTable(source as DataInput));
}

function danfoDataFrameClass(): new (...args: never[]) => unknown {
  return danfo().DataFrame as unknown as new (...args: never[]) => unknown;
}
