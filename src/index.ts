/**
 * neurolmm: lme4's linear mixed models for TypeScript notebooks, from ROI fits to whole-brain analyses.
 */
export { lmer } from './api';
export type { LmerOptions } from './lmm/lmer';
export { lm, LinearModel } from './lmm/lm';
export { LinearMixedModel } from './lmm/model';
export type { VarCorrRow, CoefficientTable, FitReport, RanefRows } from './lmm/model';
// nlme's lme() and gls(): residual variance functions and within-group correlation structures
export * from './nlme';
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
// inference on fitted models: anova, contrast, ranef with condVar, coef, predict, confint, simulate, RRandom, emmeans
export * from './inference';
// whole-brain fits: lmer() at every voxel or vertex with BLMM's maps, their comparison, ABCD-like synthetic data
export { lmerBrain, lmerBrainSync } from './brain/lmerbrain';
export type { BrainOptions, BrainProgress } from './brain/lmerbrain';
export { lmerBrainChunk, lmerBrainChunks, mergeBrainChunks } from './brain/chunks';
export type { ChunkOptions, ChunkRun } from './brain/chunks';
export { BrainFit, BrainMaps, compareFits } from './brain/fit';
export type { BrainMap, BrainReport, MapRange } from './brain/fit';
export { SyntheticDataset } from './brain/synthetic';
export type { SyntheticOptions } from './brain/synthetic';
// brain viewers (Jupyter widgets, or self-contained HTML outside the kernel)
export * from './viewers';
// neuroimaging files: NIfTI, GIfTI, FreeSurfer surfaces/curv/MGH, BLMM .dat folders
export * from './io';
export { display } from './display/mime';
export { PlotlyFigure } from './display/plotly';
// results as danfojs DataFrames (broom's tidy/glance/augment, toDataFrame); danfojs loads on first use
export { tidy, glance, augment, toDataFrame, danfo } from './tidy';
export type { DataFrame, DataFrameBase, Series, SeriesBase, DanfoModule, TidyEffect, TidyOptions, Tidyable, FrameSource } from './tidy';
