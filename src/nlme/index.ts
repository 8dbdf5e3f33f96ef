export { lme, gls, NlmeModel } from './lme';
export type { NlmeOptions, NlmeKind, ResidualType, NlmeCoefficientTable, Grouping } from './lme';
export { corAR1, corARMA, corCompSymm, CorStruct } from './corstruct';
export { varIdent, varPower, varExp, VarFunc } from './varfunc';
export { intervals, nlmeAnova, nlmeComparison, NlmeAnovaTable, NlmeComparisonTable } from './inference';
export type { NlmeIntervals, IntervalRow, NlmeAnovaOptions, NlmeAnovaRow, NlmeComparisonRow } from './inference';
