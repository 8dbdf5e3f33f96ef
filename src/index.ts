/**
 * neurolmm: lme4's linear mixed models for TypeScript notebooks, from ROI fits to whole-brain analyses.
 * The analysis API; the building blocks are in the subpaths (neurolmm/inference, neurolmm/stats,
 * neurolmm/brain, neurolmm/io, neurolmm/plots, neurolmm/viewers, neurolmm/kernel).
 */
export { lmer } from './api';
export type { LmerOptions } from './lmm/lmer';
export { lm, LinearModel } from './lmm/lm';
export { LinearMixedModel } from './lmm/model';
export type { VarCorrRow, CoefficientTable, FitReport, RanefRows } from './lmm/model';
// nlme's lme() and gls(): residual variance functions and within-group correlation structures
export * from './nlme';
export { DevianceFunction } from './lmm/devfun';
export { readCSV, toTable, setColumnTypes } from './frame/table';
export type { DataInput, ColumnType } from './frame/table';
export type { ContrastSpec } from './frame/contrasts';
export type { Table, ModelFrame } from './frame/types';
export { modelFrame } from './frame/modelframe';
export { NeurolmmError, FormulaError, DataError, ModelError } from './errors';
export { datasets } from './datasets';
export type { Dataset, DatasetOptions } from './datasets';
export { residualsVsFitted, qqPlot, caterpillarPlot, subjectPanels, shrinkagePlot, shrinkageEstimates, emmeansPlot } from './plots';
export type { CaterpillarOptions, SubjectPanelsOptions, ShrinkageOptions, ShrinkageEstimates } from './plots';
// inference on fitted models, as lmerTest, lme4, emmeans, pbkrtest and performance give it
export {
  anova,
  AnovaTable,
  LikelihoodRatioTable,
  type AnovaOptions,
  type AnovaRow,
  type FittedModel,
  type LikelihoodRatioOptions,
  type LikelihoodRatioRow,
} from './inference/anova';
export {
  coefficientTests,
  contrast,
  ContrastResult,
  tTest,
  fTest,
  type ContrastVector,
  type DdfMethod,
  type FTestResult,
  type TTestResult,
} from './inference/contrast';
export {
  coef,
  conditionalVariances,
  fitted,
  predict,
  ranef,
  residuals,
  type ConditionalVarianceBlock,
  type PredictOptions,
  type RanefGroup,
  type ResidualOptions,
} from './inference/conditional';
export { confint, ConfintTable, type ConfintOptions } from './inference/confint';
export { simulate, refit, type SimulateOptions } from './inference/simulate';
export { emmeans, EmmGrid, EmmContrasts, type EmmeansOptions, type Adjustment, type ContrastMethod, type DfMethod } from './inference/emmeans';
export { r2, icc, varianceComponents, type VarianceComponents } from './inference/r2';
export { kenwardRoger, type KenwardRoger } from './inference/kenward-roger';
export { explainWarnings, type Explanation } from './lmm/explain';
export { checkConvergence, ConvergenceCheck, type Refit } from './inference/convergence';
export { RRandom } from './stats/rng';
export { setThreadCount } from './linalg/threads';
// whole-brain fits: lmer() at every voxel or vertex with BLMM's maps, their comparison, ABCD-like synthetic data
export { lmerBrain, lmerBrainSync, lmerBrainChunk, lmerBrainChunks, mergeBrainChunks, BrainFit, BrainMaps, compareFits, SyntheticDataset } from './brain';
export type { BrainOptions, BrainProgress, ChunkOptions, ChunkRun, BrainMap, BrainReport, MapRange, SyntheticOptions } from './brain';
// nlme's lme()/gls() at every voxel, and AFNI 3dLME scripts
export { lmeBrain, glsBrain, afniLME, readAfniModel } from './brain';
export type { NlmeBrainOptions, AfniModel } from './brain';
// brain viewers (Jupyter widgets, or self-contained HTML outside the kernel)
export * from './viewers';
// neuroimaging files: NIfTI, GIfTI, FreeSurfer surfaces/curv/MGH, BLMM .dat folders
export * from './io';
export { display } from './display/mime';
export { PlotlyFigure } from './display/plotly';
// results as danfojs DataFrames (broom's tidy/glance/augment, toDataFrame); danfojs loads on first use
export { tidy, glance, augment, toDataFrame, danfo } from './tidy';
export type { DataFrame, DataFrameBase, Series, SeriesBase, DanfoModule, TidyEffect, TidyOptions, Tidyable, FrameSource } from './tidy';
