import { ModelError } from '../errors';
import { formatNumber } from '../formula';
import { groupingProblem, termLevels } from '../frame/checks';
import type { ContrastSpec } from '../frame/contrasts';
import { modelFrame } from '../frame/modelframe';
import { DataInput, toTable } from '../frame/table';
import { rememberData } from '../frame/fit-data';
import type { ModelFrame } from '../frame/types';
import { FitOptions, LinearMixedModel } from './model';

export interface LmerOptions extends FitOptions {
  /** the data's name for printed summaries ("sleepstudy"); defaults to the table's source */
  dataName?: string;
  /** lme4's check.nobs.vs.nRE: "stop" (default) refuses terms with no more observations than random effects, "ignore" fits them */
  nobsVsRE?: 'stop' | 'ignore';
  /** contrasts of the fixed effects' factors, lme4's `contrasts = list(Machine = "contr.sum")`: { Machine: 'sum' } */
  contrasts?: Record<string, ContrastSpec>;
  /** none for an ROI fit: with images, lmer fits every voxel (the whole-brain overload) */
  images?: undefined;
}

/**
 * Fits a linear mixed model, lme4's `lmer(formula, data, REML = TRUE)`, to one response (an ROI
 * fit). `data` is a danfojs DataFrame, an array of records, an object of columns or a table from
 * `readCSV`. The package's `lmer()` (src/api.ts) also takes whole-brain images.
 */
export function lmer(formula: string, data: DataInput, options: LmerOptions = {}): LinearMixedModel {
  const table = toTable(data);
  const frame = modelFrame(formula, table, { contrasts: options.contrasts });
  if (frame.reTerms.length === 0) throw new ModelError('no random effects terms specified in formula');
  const problem = groupingProblem(frame.reTerms.map(termLevels), frame.n, options.nobsVsRE ?? 'stop');
  if (problem) throw new ModelError(problem.message);
  checkResponseVaries(frame);
  const fit = new LinearMixedModel(frame, { ...options, dataName: options.dataName ?? table.source });
  rememberData(fit, table);
  return fit;
}

/**
 * A constant response leaves no variance to estimate: lme4 returns a REML criterion of -Inf with
 * convergence warnings; here it is one message.
 */
function checkResponseVaries(frame: ModelFrame): void {
  const y = frame.y!;
  if (y.every((v) => v === y[0])) {
    throw new ModelError(`the response is constant (all ${frame.n} values are ${formatNumber(y[0])}): there is no variation for the model to explain`);
  }
}
