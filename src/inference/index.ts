/**
 * Inference for fitted models, like R's lmerTest on top of lme4: Satterthwaite t and F tests,
 * anova tables, likelihood-ratio comparisons, conditional modes and variances, predictions,
 * confidence intervals, parametric simulation, and emmeans's marginal means. `neurolmm/inference`
 * is all of it, the building blocks too (Type I/III hypothesis matrices, Satterthwaite's pieces);
 * the package's main entry exports the functions an analysis calls.
 */
export {
  coefficientTests,
  contrast,
  ContrastResult,
  contrastVector,
  fStatisticDdf,
  fTest,
  tTest,
  type ContrastVector,
  type DdfMethod,
  type FTestResult,
  type OlsModel,
  type TestableModel,
  type TTestResult,
} from './contrast';
export { satterthwaiteCoefColumns, satterthwaiteTests } from '../lmm/coeftests';
export { satterthwaite1D, coefficientDf, varparInference, type SatterthwaiteContrast, type VarparInference, type VarparModel } from '../lmm/satterthwaite';
export {
  anova,
  anovaTable,
  AnovaTable,
  likelihoodRatioTable,
  LikelihoodRatioTable,
  type AnovaOptions,
  type AnovaRow,
  type FittedModel,
  type LikelihoodRatioOptions,
  type LikelihoodRatioRow,
} from './anova';
export { type1Hypotheses, type3Hypotheses, doolittle, type TermHypothesis } from './anova-contrasts';
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
} from './conditional';
export { confint, ConfintTable, bootPercentile, sdcorParameters, varianceParameterNames, type ConfintOptions } from './confint';
export { simulate, refit, type SimulateOptions } from './simulate';
export { emmeans, EmmGrid, EmmContrasts, type EmmeansOptions, type Adjustment, type ContrastMethod, type DfMethod } from './emmeans';
export { ptukey, ptukeyUpper, qtukey } from './tukey';
export { r2, icc, varianceComponents, type VarianceComponents } from './r2';
export { kenwardRoger, type KenwardRoger } from './kenward-roger';
export { explainWarnings, type Explanation } from '../lmm/explain';
export { checkConvergence, ConvergenceCheck, type Refit } from './convergence';
