export { lme, gls, NlmeModel } from './lme';
export type { NlmeOptions, NlmeKind, NlmeDdf, ResidualType, NlmeCoefficientTable, Grouping } from './lme';
export { corAR1, corARMA, corCompSymm, corCAR1, corSymm, CorStruct } from './corstruct';
export { varIdent, varPower, varExp, varComb, VarFunc, VarComb } from './varfunc';
export { intervals, nlmeAnova, nlmeComparison, NlmeAnovaTable, NlmeComparisonTable } from './inference';
export type { NlmeIntervals, IntervalRow, NlmeAnovaOptions, NlmeAnovaRow, NlmeComparisonRow } from './inference';
