/**
 * nlme's lme() and gls() over images: the model with its residual variance function and
 * correlation structure fitted at every voxel through the whole-brain pipeline (image sources,
 * masks, missing images, tasks on worker threads, BLMM-named maps). Each voxel is the ROI fit of
 * its data (`voxel(i)` returns it); see ./nlmevoxel.ts for the maps.
 */
import { ModelError } from '../errors';
import type { ContrastSpec } from '../frame/contrasts';
import { modelFrame } from '../frame/modelframe';
import type { DataInput } from '../frame/table';
import type { Table } from '../frame/types';
import type { CorStruct } from '../nlme/corstruct';
import { evaluateForm } from '../nlme/form';
import { lmeFormula, type NlmeKind, NlmeModel } from '../nlme/lme';
import type { VarFunc, VarFuncKind } from '../nlme/varfunc';
import type { BrainFit } from './fit';
import { fitPrepared, fitPreparedSync, prepare, type BrainOptions, type Prepared } from './lmerbrain';
import { NlmeChunkFitter, nlmeOptions, type NlmeVoxelSpec } from './nlmevoxel';

export interface NlmeBrainOptions extends Omit<BrainOptions, 'nobsVsRE'> {
  /** nlme's spelling of REML (default) or ML */
  method?: 'REML' | 'ML';
  correlation?: CorStruct;
  weights?: VarFunc;
  /** lme only: nlme's random formula, `'~ 1 | Subj'`, instead of (or besides) bars in the formula */
  random?: string;
  /** per-term F maps (anovaF, anovaFlp, anovaF_df) from nlme's anova(): sequential (Type I) or marginal */
  anova?: 'sequential' | 'marginal';
  /** the factors' contrasts by variable, as lme4's `contrasts = list(...)` (e.g. `{ cond: 'sum' }`); R's defaults otherwise */
  coding?: Record<string, ContrastSpec>;
}

/** lme() at every voxel: BLMM's maps with nlme's df, plus one map per structure parameter. */
export function lmeBrain(formula: string, data: DataInput, options: NlmeBrainOptions): Promise<BrainFit<NlmeModel>> {
  const started = Date.now();
  return fitPrepared(prepareNlme('lme', formula, data, options), options, started);
}

/** lmeBrain in the calling thread. */
export function lmeBrainSync(formula: string, data: DataInput, options: NlmeBrainOptions): BrainFit<NlmeModel> {
  const started = Date.now();
  return fitPreparedSync(prepareNlme('lme', formula, data, options), options, started);
}

/** gls() at every voxel (no random effects). */
export function glsBrain(formula: string, data: DataInput, options: Omit<NlmeBrainOptions, 'random'>): Promise<BrainFit<NlmeModel>> {
  const started = Date.now();
  return fitPrepared(prepareNlme('gls', formula, data, options), options, started);
}

/** glsBrain in the calling thread. */
export function glsBrainSync(formula: string, data: DataInput, options: Omit<NlmeBrainOptions, 'random'>): BrainFit<NlmeModel> {
  const started = Date.now();
  return fitPreparedSync(prepareNlme('gls', formula, data, options), options, started);
}

function remlOf(options: NlmeBrainOptions): boolean {
  if (options.method !== undefined && options.method !== 'REML' && options.method !== 'ML')
    throw new ModelError(`options.method must be 'REML' or 'ML', not '${String(options.method)}'`);
  if (options.method !== undefined && options.REML !== undefined && (options.method === 'REML') !== options.REML)
    throw new ModelError(`options.method = '${options.method}' contradicts options.REML = ${options.REML}`);
  return options.REML ?? (options.method ? options.method === 'REML' : true);
}

/** Everything checked and set up, as for lmer: the nlme model's spec, its record layout and its ROI fit. */
export function prepareNlme(kind: NlmeKind, formula: string, data: DataInput, options: NlmeBrainOptions): Prepared {
  const REML = remlOf(options);
  const full = kind === 'lme' ? lmeFormula(formula, options.random) : formula;
  const prepared = prepare(full, data, { ...options, REML }, { randomEffects: kind === 'lme' ? 'required' : 'none', coding: options.coding });
  try {
    if (kind === 'gls' && prepared.spec.terms.length) throw new ModelError('gls() takes no random-effects terms; use lme()');
    const table = prepared.data.table;
    const { rows } = modelFrame(full, table, { responseOptional: true, contrasts: options.coding });
    const spec: NlmeVoxelSpec = {
      kind,
      formula: full,
      response: prepared.data.response,
      REML,
      columns: table.names.map((name) => [name, table.column(name)!]),
      source: table.source,
      rows,
      correlation: options.correlation && {
        kind: options.correlation.kind,
        form: options.correlation.form.text,
        p: options.correlation.p,
        q: options.correlation.q,
      },
      weights: options.weights && { kind: brainVarFunc(options.weights.kind), form: options.weights.form.text },
      anova: options.anova,
      coding: options.coding,
      strata:
        options.weights?.kind === 'varIdent' ? evaluateForm(options.weights.form, table, rows, `varIdent(${options.weights.form.text})`).group!.levels : [],
    };
    if (options.anova !== undefined && options.anova !== 'sequential' && options.anova !== 'marginal')
      throw new ModelError(`options.anova must be 'sequential' or 'marginal', not '${String(options.anova)}'`);
    // the structures' formulas checked on the data (columns, integer and unique times), before any image is read
    options.correlation?.bind(table, rows, rows);
    options.weights?.bind(table, rows, rows);
    // nlme's voxels are fitted on the user's columns, not on lmer's rescaled ones (scaling.ts)
    const settings = { ...prepared.settings, contrasts: prepared.contrasts };
    // builds the full design's model frame: a model that cannot be set up fails here too
    const fitter = new NlmeChunkFitter(spec, prepared.rowImage, settings);
    const roi = nlmeOptions(spec);
    const structures = [
      ...(options.correlation ? [`Correlation: ${options.correlation.kind}(${options.correlation.form.text})`] : []),
      ...(options.weights ? [`Variance function: ${options.weights.kind}(${options.weights.form.text})`] : []),
    ];
    return {
      ...prepared,
      settings,
      toUser: (result) => result,
      layout: fitter.layout,
      nlme: spec,
      ntheta: prepared.ntheta + fitter.structureParameters,
      voxelModel: (t: Table) => new NlmeModel(kind, modelFrame(full, t, { contrasts: options.coding }), t, roi),
      description: [`Model: nlme's ${kind}() with nlme's denominator df`, ...structures],
    };
  } catch (err) {
    prepared.source.close();
    throw err;
  }
}

/** The variance functions whole-brain fits take: one function per model (varComb is ROI-only for now). */
function brainVarFunc(kind: VarFuncKind): Exclude<VarFuncKind, 'varComb'> {
  if (kind === 'varComb') throw new ModelError('whole-brain lme()/gls() take one variance function; varComb is available for ROI fits (lme(), gls())');
  return kind;
}
