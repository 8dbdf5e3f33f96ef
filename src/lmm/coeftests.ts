/**
 * The fixed-effect coefficient tests of lmerTest's summary with Satterthwaite's df, which a
 * fitted model prints; src/inference/contrast.ts builds its tests (and Kenward-Roger's) on them.
 */
import type { CoefColumn } from '../display/coefmat';
import { tTwoSided } from '../stats/distributions';
import { coefficientDf, varparInference, type SatterthwaiteModel } from './satterthwaite';

/** Each fixed effect's Satterthwaite df, standard error and two-sided p-value (lmerTest's summary). */
export function satterthwaiteTests(model: SatterthwaiteModel): { df: number[]; p: number[]; se: number[] } {
  const vcov = varparInference(model).vcovBeta;
  const df = coefficientDf(model);
  const se = df.map((_, j) => Math.sqrt(vcov[j + j * model.p]));
  const p = df.map((d, j) => tTwoSided(model.beta[j] / se[j], d));
  return { df, p, se };
}

/**
 * The coefficient table columns of lmerTest's summary: Estimate, Std. Error, df, t value,
 * Pr(>|t|). The df column belongs to printCoefmat's coefficient group (its cs.ind), so it is
 * printed with the estimates' decimals ("17.000"), as lmerTest prints it.
 */
export function satterthwaiteCoefColumns(model: SatterthwaiteModel & { coefTable(): { estimate: number[]; se: number[]; t: number[] } }): CoefColumn[] {
  const c = model.coefTable();
  const { df, p } = satterthwaiteTests(model);
  return [
    { name: 'Estimate', kind: 'estimate', values: c.estimate },
    { name: 'Std. Error', kind: 'se', values: c.se },
    { name: 'df', kind: 'se', values: df },
    { name: 't value', kind: 'test', values: c.t },
    { name: 'Pr(>|t|)', kind: 'p', values: p },
  ];
}
