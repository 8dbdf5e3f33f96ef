/**
 * neurolmm: lme4's linear mixed models for TypeScript notebooks, from ROI fits to whole-brain analyses.
 */
export { lmer } from './lmm/lmer';
export type { LmerOptions } from './lmm/lmer';
export { lm, LinearModel } from './lmm/lm';
export { LinearMixedModel } from './lmm/model';
export type { VarCorrRow, CoefficientTable, FitReport, RanefRows } from './lmm/model';
export { readCSV, toTable } from './frame/table';
export type { DataInput } from './frame/table';
export type { Table, ModelFrame } from './frame/types';
export { modelFrame } from './frame/modelframe';
export { NeurolmmError, FormulaError, DataError, ModelError } from './errors';
export { datasets } from './datasets';
export { residualsVsFitted, qqPlot, caterpillarPlot, subjectPanels, shrinkagePlot, shrinkageEstimates } from './plots';
export type { CaterpillarOptions, SubjectPanelsOptions, ShrinkageOptions, ShrinkageEstimates } from './plots';
// inference on fitted models: anova, contrast, ranef with condVar, coef, predict, confint, simulate, RRandom
export * from './inference';
// brain viewers (Jupyter widgets, or self-contained HTML outside the kernel)
export * from './viewers';
// neuroimaging files: NIfTI, GIfTI, FreeSurfer surfaces/curv/MGH, BLMM .dat folders
export * from './io';
export { display } from './display/mime';
export { PlotlyFigure } from './display/plotly';
