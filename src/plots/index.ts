/** Plotly figures of fitted models (PlotlyFigure: displayed in notebooks, or written with toHTML). */
export { residualsVsFitted, qqPlot, plottingPositions } from './diagnostics';
export type { DiagnosedModel } from './diagnostics';
export { caterpillarPlot } from './ranef';
export type { CaterpillarOptions } from './ranef';
export { subjectPanels } from './panels';
export type { SubjectPanelsOptions } from './panels';
export { shrinkagePlot, shrinkageEstimates } from './shrinkage';
export type { ShrinkageOptions, ShrinkageEstimates } from './shrinkage';
export { emmeansPlot } from './emmeans';
