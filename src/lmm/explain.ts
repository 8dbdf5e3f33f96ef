/**
 * lme4's and lmerTest's warnings in plain words for students: what went wrong, for which term,
 * and whether to act. lme4's own wording stays in the summary; these lines follow it.
 */
import { lambdaIsSingular } from './reterm';
import type { LinearMixedModel } from './model';
import { varparInference } from './satterthwaite';

/** One warning: lme4's (or lmerTest's) own words and what they mean. */
export interface Explanation {
  lme4: string;
  explanation: string;
}

const SINGULAR = "boundary (singular) fit: see help('isSingular')";

const componentName = (name: string) => (name === '(Intercept)' ? 'intercept' : `${name} slope`);

/** Which variance or correlation of each singular term sits on the boundary, in words. */
function singularParts(model: LinearMixedModel): string[] {
  const parts: string[] = [];
  for (const [t, term] of model.terms.entries()) {
    const k = term.k;
    // the fit's own lambda: the terms' is the live system's, which refits move; on mapped
    // columns (see scaling.ts) the fit is judged where it was found, as isSingular() does
    if (!lambdaIsSingular((model.rescaling?.fit ?? model).lambda[t], k)) continue;
    const group = term.group;
    const cov = model.termCovariance(t);
    const sd = term.names.map((_, i) => Math.sqrt(cov[i + i * k]));
    const largest = Math.max(...sd, model.sigma);
    const zero = term.names.filter((_, i) => sd[i] < 1e-4 * largest);
    if (zero.length) {
      parts.push(...zero.map((name) => `the ${group} ${componentName(name)} variance is estimated as 0`));
      continue;
    }
    if (k === 2) {
      const r = cov[1] / (sd[0] * sd[1]);
      parts.push(`the correlation of the ${group} ${componentName(term.names[0])} and ${componentName(term.names[1])} is estimated as ${r > 0 ? '+1' : '-1'}`);
    } else parts.push(`the ${group} random effects (${term.names.join(', ')}) are perfectly correlated: their covariance matrix is singular`);
  }
  return parts;
}

/** lme4's and lmerTest's warnings of a fit, each with its meaning in plain words. */
export function explainWarnings(model: LinearMixedModel): Explanation[] {
  const out: Explanation[] = [];
  for (const warning of model.warnings) {
    if (warning === SINGULAR) {
      for (const part of singularParts(model))
        out.push({
          lme4: warning,
          explanation: `singular fit: ${part}; the model is too rich for these data. The other estimates are usable, but consider removing that term (or its correlations, with ||) unless the design requires it`,
        });
    } else if (warning.startsWith('fixed-effect model matrix is rank deficient')) {
      const dropped = model.frame.droppedColumns;
      out.push({
        lme4: warning,
        explanation: `the fixed-effect column${dropped.length > 1 ? 's' : ''} ${dropped.join(', ')} ${dropped.length > 1 ? 'are' : 'is'} a combination of other columns (a copy, a sum, or a factor-level combination never observed), so ${dropped.length > 1 ? 'their effects are' : 'its effect is'} not estimable and ${dropped.length > 1 ? 'were' : 'was'} dropped; rethink that part of the formula`,
      });
    } else if (warning.startsWith('convergence failure')) {
      out.push({
        lme4: warning,
        explanation:
          'the optimizer stopped before reaching the optimum, so the estimates may be off; run checkConvergence(fit) to see whether refits from other starts agree, and consider rescaling covariates or simplifying the random effects',
      });
    } else if (warning.endsWith(': NaNs produced')) {
      out.push({
        lme4: warning,
        explanation: 'a transformation was undefined for some rows (log of a negative number, ...); those rows were dropped as missing',
      });
    }
  }
  for (const warning of varparInference(model).warnings)
    out.push({
      lme4: warning,
      explanation: warning.includes('negative')
        ? 'the criterion curves downwards in some direction of the variance parameters, so the fit is not at a minimum: do not trust the Satterthwaite df; run checkConvergence(fit)'
        : 'the criterion is flat in some direction of the variance parameters (typical of a singular fit): Satterthwaite df involving them are unreliable',
    });
  return out;
}

/** The lines appended to a summary: the explanations under a heading, nothing for a clean fit. */
export function explanationLines(model: LinearMixedModel): string[] {
  const explanations = explainWarnings(model);
  return explanations.length ? ['In plain words:', ...explanations.map((e) => `  - ${e.explanation}`)] : [];
}
