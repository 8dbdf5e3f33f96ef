/**
 * An allFit-like convergence check: the model refitted from other starting values and with
 * another optimizer (Nelder-Mead, as lme4's allFit includes), and whether the estimates agree.
 */
import { formatNumber } from '../display/format';
import { textTable, type TableSpec, htmlTable, escapeHtml } from '../display/html';
import type { MimeBundle } from '../display/mime';
import { LinearMixedModel } from '../lmm/model';
import { profiledDeviance, profiledSigma } from '../lmm/objective';
import { lambdasOf } from '../lmm/reterm';

/**
 * Bounded Nelder-Mead (points clamped to the bounds): a derivative-free second opinion, as
 * lme4's allFit includes; restarted from its best point until a restart no longer improves it
 * (a simplex can collapse before the optimum).
 */
function nelderMead(
  f: (x: Float64Array) => number,
  x0: ArrayLike<number>,
  lower: ArrayLike<number>,
): { x: number[]; fx: number; evaluations: number; converged: boolean } {
  let result = nelderMeadOnce(f, x0, lower, 4000);
  for (let restart = 0; restart < 5; restart++) {
    const next = nelderMeadOnce(f, result.x, lower, 4000);
    next.evaluations += result.evaluations;
    const improved = next.fx < result.fx - 1e-12 * (1 + Math.abs(result.fx));
    result = next.fx <= result.fx ? next : { ...result, evaluations: next.evaluations };
    if (!improved) break;
  }
  return result;
}

function nelderMeadOnce(
  f: (x: Float64Array) => number,
  x0: ArrayLike<number>,
  lower: ArrayLike<number>,
  maxEvaluations: number,
): { x: number[]; fx: number; evaluations: number; converged: boolean } {
  const d = x0.length;
  const clamp = (x: Float64Array) => x.map((v, i) => Math.max(v, lower[i]));
  let evaluations = 0;
  const value = (x: Float64Array) => {
    evaluations++;
    const v = f(clamp(x));
    return Number.isFinite(v) ? v : Infinity;
  };
  const simplex = [Float64Array.from(x0)];
  for (let i = 0; i < d; i++) {
    const x = Float64Array.from(x0);
    x[i] += x[i] !== 0 ? 0.25 * Math.abs(x[i]) : 0.25;
    simplex.push(x);
  }
  let values = simplex.map(value);
  let converged = false;
  while (evaluations < maxEvaluations) {
    const order = values.map((_, i) => i).sort((a, b) => values[a] - values[b]);
    const s = order.map((i) => simplex[i]);
    values = order.map((i) => values[i]);
    simplex.splice(0, simplex.length, ...s);
    if (values[d] - values[0] <= 1e-13 * (1 + Math.abs(values[0]))) {
      converged = true;
      break;
    }
    const centroid = new Float64Array(d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) centroid[j] += simplex[i][j] / d;
    const along = (t: number) => centroid.map((c, j) => c + t * (simplex[d][j] - c));
    const reflected = along(-1);
    const fr = value(reflected);
    if (fr < values[0]) {
      const expanded = along(-2);
      const fe = value(expanded);
      [simplex[d], values[d]] = fe < fr ? [expanded, fe] : [reflected, fr];
    } else if (fr < values[d - 1]) [simplex[d], values[d]] = [reflected, fr];
    else {
      const contracted = along(fr < values[d] ? -0.5 : 0.5);
      const fc = value(contracted);
      if (fc < Math.min(fr, values[d])) [simplex[d], values[d]] = [contracted, fc];
      else
        for (let i = 1; i <= d; i++) {
          simplex[i] = simplex[i].map((v, j) => simplex[0][j] + 0.5 * (v - simplex[0][j]));
          values[i] = value(simplex[i]);
        }
    }
  }
  const best = values.indexOf(Math.min(...values));
  return { x: Array.from(clamp(simplex[best])), fx: values[best], evaluations, converged };
}

/** One refit: where it started, how it ended, and its estimates. */
export interface Refit {
  name: string;
  converged: boolean;
  objective: number;
  theta: number[];
  fixef: number[];
  /** VarCorr's sdcor column: standard deviations and correlations, the residual SD last */
  sdcor: number[];
}

/**
 * The estimates of `model` at theta of its search (the mapped fit's for mapped columns, see
 * scaling.ts), on the user's columns; the searched system is put back at its own theta afterwards.
 */
function estimatesAt(model: LinearMixedModel, theta: number[], name: string, converged: boolean): Refit {
  const searched = model.rescaling?.fit ?? model;
  const e = searched.system.evaluate(theta);
  if (!e) return { name, converged: false, objective: Infinity, theta, fixef: [], sdcor: [] };
  const sigma = profiledSigma(e, model.n, model.p, model.REML);
  let objective = profiledDeviance(e, model.n, model.p, model.REML);
  let beta = searched.system.solve().beta;
  let userTheta = theta;
  if (model.rescaling) {
    const { scaling } = model.rescaling;
    beta = scaling.fixed.back(Float64Array.from(beta));
    userTheta = scaling.thetaBack(theta);
    if (model.REML) objective += 2 * scaling.fixed.logDet;
  }
  const lambda = lambdasOf(model.terms, userTheta);
  const view = Object.create(model, {
    theta: { value: userTheta },
    sigma: { value: sigma },
    beta: { value: beta },
    lambda: { value: lambda },
  }) as LinearMixedModel;
  searched.system.evaluate(searched.theta);
  return { name, converged, objective, theta: userTheta, fixef: Array.from(beta), sdcor: view.varCorr().map((r) => r.sdcor) };
}

function summarize(model: LinearMixedModel, name: string): Refit {
  return {
    name,
    converged: model.optimizer.converged,
    objective: model.objective,
    theta: model.theta,
    fixef: Array.from(model.beta),
    sdcor: model.varCorr().map((r) => r.sdcor),
  };
}

/** The largest of |a_i - b_i| / scale_i. */
const scaledDifference = (a: number[], b: number[], scale: number[]) => Math.max(0, ...a.map((v, i) => Math.abs(v - b[i]) / scale[i]));

/** lme4's allFit, in short: the fit and its refits side by side, the largest differences, and a verdict. */
export class ConvergenceCheck {
  constructor(
    readonly model: LinearMixedModel,
    readonly refits: Refit[],
    readonly tolerance: number,
  ) {}

  /**
   * Largest differences of the refits from the fit: fixed effects in units of their standard
   * errors, standard deviations relative to themselves (at least 1e-3 sigma), correlations
   * absolute, the criterion relative.
   */
  get differences(): { objective: number; fixef: number; sdcor: number } {
    const [fit, ...others] = this.refits;
    const usable = others.filter((r) => Number.isFinite(r.objective));
    const se = this.model.coefTable().se;
    const sdcorScale = this.model.varCorr().map((r, i) => (r.var2 ? 1 : Math.max(Math.abs(fit.sdcor[i]), 1e-3 * this.model.sigma)));
    return {
      objective: Math.max(0, ...usable.map((r) => Math.abs(r.objective - fit.objective) / Math.max(1, Math.abs(fit.objective)))),
      fixef: Math.max(0, ...usable.map((r) => scaledDifference(r.fixef, fit.fixef, se))),
      sdcor: Math.max(0, ...usable.map((r) => scaledDifference(r.sdcor, fit.sdcor, sdcorScale))),
    };
  }

  /** whether every refit's estimates agree with the fit's to `tolerance` (in the units of `differences`) */
  get agree(): boolean {
    const d = this.differences;
    return this.refits.every((r) => Number.isFinite(r.objective)) && d.fixef <= this.tolerance && d.sdcor <= this.tolerance;
  }

  /** the refit with the lowest criterion, when it is clearly lower than the fit's */
  get better(): Refit | undefined {
    const best = this.refits.reduce((a, b) => (b.objective < a.objective ? b : a));
    return best.objective < this.refits[0].objective - 1e-6 * Math.max(1, Math.abs(this.refits[0].objective)) ? best : undefined;
  }

  verdict(): string {
    const d = this.differences;
    const figures = `fixed effects ${formatNumber(d.fixef, 2)} SE, SDs ${formatNumber(d.sdcor, 2)} (relative; correlations absolute), criterion ${formatNumber(d.objective, 2)} (relative)`;
    if (this.agree)
      return `The refits agree with the fit (largest differences: ${figures}): the estimates do not depend on where or how the optimizer searched.`;
    const better = this.better;
    return (
      `The refits disagree with the fit (largest differences: ${figures}): the estimates depend on the search, ` +
      (better ? `and '${better.name}' reached a lower criterion, so the fit stopped short of the optimum. ` : 'so the criterion is flat near its optimum. ') +
      'Simplify the random effects (a singular or overly rich model is the usual cause), rescale covariates, or check the data.'
    );
  }

  private spec(): TableSpec {
    const vc = this.model.varCorr();
    const sdNames = vc.map((r) => (r.grp === 'Residual' ? 'sigma' : `${r.grp}.${r.var2 ? `${r.var1}.${r.var2}` : r.var1}`));
    const columns = [this.model.REML ? 'REML criterion' : 'deviance', 'converged', ...this.model.xNames, ...sdNames];
    return {
      columns,
      rows: this.refits.map((r) => [r.objective, r.converged ? 'TRUE' : 'FALSE', ...r.fixef, ...r.sdcor]),
      rowLabels: this.refits.map((r) => r.name),
    };
  }

  toString(): string {
    return [`Refits of ${this.model.formula}:`, textTable(this.spec()), '', this.verdict()].join('\n');
  }

  toMimeBundle(): MimeBundle {
    return {
      'text/plain': this.toString(),
      'text/html': `<div class="neurolmm-convergence"><p><b>Refits of ${escapeHtml(this.model.formula)}</b></p>${htmlTable(this.spec())}<p>${escapeHtml(this.verdict())}</p></div>`,
    };
  }

  toJSON() {
    return { formula: this.model.formula, tolerance: this.tolerance, agree: this.agree, differences: this.differences, refits: this.refits };
  }
}

/**
 * An allFit-like check: the model refitted by its own optimizer from lme4's starting values and
 * from the estimate scaled by 0.5 and by 2, and by Nelder-Mead from lme4's starting values; the
 * estimates are compared with the fit's (`tolerance`, default 1e-3, in the units of
 * ConvergenceCheck.differences).
 */
export function checkConvergence(model: LinearMixedModel, options: { tolerance?: number } = {}): ConvergenceCheck {
  // on mapped columns (see scaling.ts) the starts and Nelder-Mead's search are the mapped fit's,
  // where lme4's start means what it means for well-scaled covariates
  const searched = model.rescaling?.fit ?? model;
  const userTheta = (theta: number[]) => model.rescaling?.scaling.thetaBack(theta) ?? theta;
  const lower = searched.terms.flatMap((t) => t.thetaLowerBounds());
  const lme4Start = searched.terms.flatMap((t) => t.initialTheta());
  const refit = (start: number[]) => new LinearMixedModel(model.frame, { REML: model.REML, start: userTheta(start), dataName: model.dataName });
  // scaled starts move every element, also those of a singular (zero) diagonal
  const scaled = (factor: number) => searched.theta.map((v, i) => (lower[i] === 0 ? Math.max(v * factor, 0.1) : v * factor));
  const refits = [
    summarize(model, 'fit'),
    summarize(refit(lme4Start), 'BFGS from lme4 start'),
    summarize(refit(scaled(0.5)), 'BFGS from estimate x 0.5'),
    summarize(refit(scaled(2)), 'BFGS from estimate x 2'),
  ];
  const nm = nelderMead((theta) => searched.objectiveAt(theta), lme4Start, lower);
  refits.push(estimatesAt(model, nm.x, 'Nelder-Mead from lme4 start', nm.converged));
  return new ConvergenceCheck(model, refits, options.tolerance ?? 1e-3);
}
