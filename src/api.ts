/**
 * The entry points that choose an engine. lme4's `lmer()` fits one model (an ROI fit, src/lmm);
 * given `images`, the same model is fitted at every voxel or vertex (src/brain). Living above both
 * engines, this module keeps src/lmm free of imports from src/brain.
 */
import type { BrainFit } from './brain/fit';
import { lmerBrain, type BrainOptions } from './brain/lmerbrain';
import type { DataInput } from './frame/table';
import { lmer as lmerRoi, type LmerOptions } from './lmm/lmer';
import type { LinearMixedModel } from './lmm/model';

/**
 * Fits a linear mixed model, lme4's `lmer(formula, data, REML = TRUE)`:
 * `lmer('Reaction ~ Days + (Days | Subject)', sleepstudy)`, `{ REML: false }` for ML.
 * `data` is a danfojs DataFrame, an array of records, an object of columns or a table from `readCSV`.
 * With `options.images` the same model is fitted at every voxel or vertex (the other overload).
 */
// The ROI signature comes first: it is the one editors and the kernel's inspection show.
export function lmer(formula: string, data: DataInput, options?: LmerOptions): LinearMixedModel;
/**
 * The whole-brain fit: with `options.images` (one image per row) the model is fitted at every voxel
 * or vertex, resolved when all cores are done (see `lmerBrain`).
 */
export function lmer(formula: string, data: DataInput, options: BrainOptions): Promise<BrainFit>;
export function lmer(formula: string, data: DataInput, options: LmerOptions | BrainOptions = {}): LinearMixedModel | Promise<BrainFit> {
  if ('images' in options && options.images !== undefined) return lmerBrain(formula, data, options);
  return lmerRoi(formula, data, options as LmerOptions);
}
