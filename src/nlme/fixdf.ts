/**
 * nlme's denominator degrees of freedom for the fixed effects of an lme fit (getFixDF, Pinheiro &
 * Bates 2000, section 2.4.2): each column of X is estimated in the innermost grouping level within
 * whose groups it varies (or the residual stratum), and gets that level's number of groups minus
 * those of the next outer level, less the columns estimated there.
 */
import type { ModelFrame } from '../frame/types';
import type { Grouping } from './lme';

export interface FixedEffectsDf {
  /** per column of X */
  X: number[];
  /** per term, keyed by nlme's term names ("(Intercept)", then the term labels with columns) */
  terms: Map<string, number>;
}

/** Whether a column is (nearly) a multiple of (1, ..., 1): nlme's const(). */
function isConstant(x: Float64Array, tolerance = Math.sqrt(2.220446049250313e-16)): boolean {
  const first = x[0];
  return x.every((v) => Math.abs(first === 0 ? v : v / first - 1) < tolerance);
}

/** Whether x varies within some group of the factor (nlme's inner_perc > 0). */
function variesWithin(x: Float64Array, codes: Int32Array, nlevels: number): boolean {
  const first = new Float64Array(nlevels).fill(NaN);
  for (let r = 0; r < x.length; r++) {
    const c = codes[r];
    if (Number.isNaN(first[c])) first[c] = x[r];
    else if (x[r] !== first[c]) return true;
  }
  return false;
}

/** The columns of X of each term, nlme's order: the intercept, then terms in R's order. */
export function termColumns(frame: ModelFrame): { name: string; columns: number[] }[] {
  const out: { name: string; columns: number[] }[] = [];
  const intercept = Array.from(frame.assign.entries())
    .filter(([, a]) => a < 0)
    .map(([j]) => j);
  if (intercept.length) out.push({ name: '(Intercept)', columns: intercept });
  frame.termLabels.forEach((name, t) => {
    const columns = Array.from(frame.assign.entries())
      .filter(([, a]) => a === t)
      .map(([j]) => j);
    if (columns.length) out.push({ name, columns });
  });
  return out;
}

export function fixedEffectsDf(frame: ModelFrame, groupings: Grouping[]): FixedEffectsDf {
  const { n, X } = frame;
  const p = frame.xNames.length;
  const ngrps = groupings.map((g) => g.factor.levels.length);
  // strata: the grouping levels outermost first, then the residual
  const initial = [...ngrps, n].map((m, s) => m - (s === 0 ? 0 : ngrps[s - 1]));
  const dfX = initial.slice();
  const dfTerms = initial.slice();
  const column = (j: number) => X.subarray(j * n, (j + 1) * n);
  const notInt = Array.from({ length: p }, (_, j) => !isConstant(column(j)));
  const terms = termColumns(frame);
  const valX = new Array<number>(p).fill(0);
  const valTerms = new Array<number>(terms.length).fill(0);
  const notIntTerms = terms.map((t) => t.columns.some((j) => notInt[j]));
  if (notInt.some(Boolean)) {
    // the stratum of a column: one past the innermost level within whose groups it varies
    const stratum = Array.from({ length: p }, (_, j) => {
      let s = 0;
      groupings.forEach((g, q) => {
        if (variesWithin(column(j), g.factor.codes, g.factor.levels.length)) s = q + 1;
      });
      return s;
    });
    const adjust = (df: number[], withIntercept: boolean) => {
      if (withIntercept) df[0] -= 1;
      else for (let s = 1; s < df.length; s++) df[s] += 1;
    };
    for (let j = 0; j < p; j++) if (notInt[j]) dfX[stratum[j]] -= 1;
    adjust(dfX, !notInt.every(Boolean));
    for (let j = 0; j < p; j++) if (notInt[j]) valX[j] = dfX[stratum[j]];
    const termStratum = terms.map((t) => Math.max(...t.columns.map((j) => stratum[j])));
    terms.forEach((t, i) => {
      if (notIntTerms[i]) dfTerms[termStratum[i]] -= t.columns.length;
    });
    adjust(dfTerms, !notIntTerms.every(Boolean));
    terms.forEach((_, i) => {
      if (notIntTerms[i]) valTerms[i] = dfTerms[termStratum[i]];
    });
  }
  if (!notInt.every(Boolean)) {
    const maxX = Math.max(...dfX);
    for (let j = 0; j < p; j++) if (!notInt[j]) valX[j] = maxX;
    const maxTerms = Math.max(...dfTerms);
    terms.forEach((_, i) => {
      if (!notIntTerms[i]) valTerms[i] = maxTerms;
    });
  }
  return { X: valX, terms: new Map(terms.map((t, i) => [t.name, valTerms[i]])) };
}
