import { coefmatSpec, SIGNIF_LEGEND } from '../display/coefmat';
import { formatNumber, formatPValues } from '../display/format';
import { htmlTable, textTable } from '../display/html';
import type { MimeBundle } from '../display/mime';
import { ModelError } from '../errors';
import type { ContrastSpec } from '../frame/contrasts';
import { modelFrame } from '../frame/modelframe';
import { DataInput, toTable } from '../frame/table';
import type { ModelFrame } from '../frame/types';
import { fUpper, tTwoSided } from '../stats/distributions';
import { rememberData } from '../frame/fit-data';
import { BlockedSystem } from './blocked';
import { CoefficientTable, FixedEffectsFit } from './fixed';
import { profiledDeviance } from './objective';
import { residualQuantilesSpec } from './summary';

export interface LmCoefficientTable extends CoefficientTable {
  df: number[];
  p: number[];
}

/**
 * Ordinary least squares, R's `lm(formula, data)`: the mixed-model system with no random
 * effects, so its log-likelihood is the same objective lmer's likelihood-ratio tests use.
 */
export class LinearModel extends FixedEffectsFit {
  readonly formula: string;
  readonly beta: Float64Array;
  readonly sigma: number;
  /** residual sum of squares */
  readonly rss: number;
  /** -2 log-likelihood (ML) */
  readonly objective: number;
  readonly warnings: string[];
  readonly REML = false;
  protected readonly unscaledCov: Float64Array;

  constructor(readonly frame: ModelFrame, readonly dataName?: string) {
    super();
    if (!frame.y) throw new ModelError('lm needs a response');
    if (frame.reTerms.length) throw new ModelError('lm() takes no random-effects terms; use lmer()');
    this.formula = frame.formula;
    if (this.n <= this.p) throw new ModelError(`${this.n} observations are too few for ${this.p} coefficients`);
    const system = new BlockedSystem([], frame.X, frame.y, this.p);
    const e = system.evaluate([]);
    if (!e) throw new ModelError('the fixed-effects model matrix is not of full rank');
    this.rss = e.pwrss;
    this.objective = profiledDeviance(e, this.n, this.p, false);
    this.beta = system.solve().beta;
    this.unscaledCov = system.unscaledVcov();
    this.sigma = Math.sqrt(this.rss / (this.n - this.p));
    this.warnings = [...frame.warnings];
  }

  /** -2 log-likelihood */
  get deviance(): number {
    return this.objective;
  }

  /** coefficients and the residual variance */
  get dof(): number {
    return this.p + 1;
  }

  /** t tests on n - p degrees of freedom, as summary.lm */
  override coefTable(): LmCoefficientTable {
    const c = super.coefTable();
    const df = c.t.map(() => this.n - this.p);
    return { ...c, df, p: c.t.map((x, i) => tTwoSided(x, df[i])) };
  }

  fitted(): Float64Array {
    return this.fixedPart();
  }

  /** R-squared, adjusted R-squared and the overall F test, as summary.lm reports them */
  fitStatistics(): { rSquared: number; adjRSquared: number; F: number; numDF: number; denDF: number; p: number } {
    const y = this.frame.y!;
    const intercept = this.frame.hasIntercept;
    const mean = intercept ? y.reduce((a, b) => a + b, 0) / this.n : 0;
    let tss = 0;
    for (const v of y) tss += (v - mean) ** 2;
    const numDF = this.p - (intercept ? 1 : 0);
    const denDF = this.n - this.p;
    const rSquared = 1 - this.rss / tss;
    const adjRSquared = 1 - (1 - rSquared) * ((this.n - (intercept ? 1 : 0)) / denDF);
    const F = ((tss - this.rss) / numDF) / (this.rss / denDF);
    return { rSquared, adjRSquared, F, numDF, denDF, p: fUpper(F, numDF, denDF) };
  }

  /** The fit as JSON (the CLI's `fit --json` for formulas without random effects) */
  toJSON() {
    return {
      formula: this.formula,
      nobs: this.n,
      fixef: this.fixef(),
      coefficients: this.coefTable(),
      sigma: this.sigma,
      logLik: this.logLik(),
      AIC: this.AIC(),
      BIC: this.BIC(),
      ...this.fitStatistics(),
      warnings: this.warnings,
    };
  }

  private summaryParts() {
    const c = this.coefTable();
    const coefs = coefmatSpec(this.xNames, [
      { name: 'Estimate', kind: 'estimate', values: c.estimate },
      { name: 'Std. Error', kind: 'se', values: c.se },
      { name: 't value', kind: 'test', values: c.t },
      { name: 'Pr(>|t|)', kind: 'p', values: c.p },
    ]);
    const s = this.fitStatistics();
    const lines = [`Residual standard error: ${formatNumber(this.sigma, 4)} on ${this.n - this.p} degrees of freedom`];
    if (s.numDF > 0)
      lines.push(
        `Multiple R-squared:  ${formatNumber(s.rSquared, 4)},\tAdjusted R-squared:  ${formatNumber(s.adjRSquared, 4)} `,
        `F-statistic: ${formatNumber(s.F, 4)} on ${s.numDF} and ${s.denDF} DF,  p-value: ${formatPValues([s.p], 4)[0]}`,
      );
    const call = `lm(formula = ${this.formula}${this.dataName ? `, data = ${this.dataName}` : ''})`;
    return { call, residuals: residualQuantilesSpec(this.residuals(), 4), coefs, lines };
  }

  /** R's print(summary(lm(...))) */
  summary(): string {
    const s = this.summaryParts();
    const out = ['Call:', s.call, '', 'Residuals:', textTable(s.residuals), '', 'Coefficients:', textTable(s.coefs)];
    if (s.coefs.stars) out.push('---', SIGNIF_LEGEND);
    out.push('', ...s.lines, ...this.warnings);
    return out.join('\n');
  }

  toMimeBundle(): MimeBundle {
    const s = this.summaryParts();
    const html = `<div class="neurolmm-summary"><p><b>Linear model</b><br>${s.call}</p>${htmlTable(s.coefs)}<p>${s.lines.join('<br>')}</p></div>`;
    return { 'text/plain': this.summary(), 'text/html': html };
  }
}

/** Fits an ordinary least-squares model, R's `lm(formula, data, contrasts)`. */
export function lm(formula: string, data: DataInput, options: { dataName?: string; contrasts?: Record<string, ContrastSpec> } = {}): LinearModel {
  const table = toTable(data);
  const fit = new LinearModel(modelFrame(formula, table, { contrasts: options.contrasts }), options.dataName ?? table.source);
  rememberData(fit, table);
  return fit;
}

