/**
 * lme4's checks of a model's random-effects terms against its observations (checkNlevels and
 * check.nobs.vs.nRE), in one place for the ROI fit, the whole-brain design and each voxel's
 * missingness pattern. A problem is typed, so that callers branch on its kind, not its wording.
 */
import type { RandomTerm } from './types';

export interface DesignProblem {
  /**
   * oneLevel: a grouping factor with fewer than 2 levels; saturated: a grouping factor with as
   * many levels as observations; nobsVsRE: no more observations than random effects in a term;
   * rank: a rank-deficient fixed-effects design
   */
  kind: 'oneLevel' | 'saturated' | 'nobsVsRE' | 'rank';
  message: string;
}

/** What the checks need of a random-effects term: its grouping, its coefficients and its number of levels. */
export interface TermLevels {
  group: string;
  names: string[];
  nlevels: number;
}

export function termLevels(term: RandomTerm): TermLevels {
  return { group: term.group, names: term.names, nlevels: term.factor.levels.length };
}

/**
 * The first problem of the terms over n observations, in lme4's words. `nobsVsRE` is lme4's
 * check.nobs.vs.nRE: "stop" (lme4's default) reports terms with n <= levels x coefficients,
 * "ignore" fits them (their variance parameters and the residual variance can then be weakly
 * identified, but the likelihood is well defined).
 */
export function groupingProblem(terms: TermLevels[], n: number, nobsVsRE: 'stop' | 'ignore'): DesignProblem | undefined {
  const groups = (test: (t: TermLevels) => boolean): string => [...new Set(terms.filter(test).map((t) => t.group))].join(', ');
  const single = groups((t) => t.nlevels < 2);
  if (single) return { kind: 'oneLevel', message: `grouping factors must have > 1 sampled level (problems: ${single})` };
  const saturated = groups((t) => t.nlevels >= n);
  if (saturated) return { kind: 'saturated', message: `number of levels of each grouping factor must be < number of observations (problems: ${saturated})` };
  if (nobsVsRE === 'ignore') return undefined;
  for (const t of terms) {
    const q = t.nlevels * t.names.length;
    if (q >= n) {
      const lhs = t.names.map((name) => (name === '(Intercept)' ? '1' : name)).join(' + ');
      return {
        kind: 'nobsVsRE',
        message:
          `number of observations (=${n}) <= number of random effects (=${q}) for term (${lhs} | ${t.group}); ` +
          'the random-effects parameters and the residual variance (or scale parameter) are probably unidentifiable',
      };
    }
  }
  return undefined;
}
