import { coefmatSpec, SIGNIF_LEGEND } from '../display/coefmat';
import { formatNumber, formatPValues } from '../display/format';
import { html, htmlLines, tableHtml, textTable } from '../display/html';
import type { MimeBundle } from '../display/mime';
import { ModelError } from '../errors';
import type { ContrastSpec } from '../frame/contrasts';
import { modelFrame } from '../frame/modelframe';
import { DataInput, toTable } from '../frame/table';
import type { ModelFrame } from '../frame/types';
import { fUpper, tTwoSided } from '../stats/distributions';
import { rememberData } from '../frame/fit-data';
import { choleskyInverse } from '../linalg/dense';
import { qrCoef, qrDecompose, qrQty } from '../linalg/qr';
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

  constructor(
    readonly frame: ModelFrame,
    readonly dataName?: string,
  ) {
    super();
    if (!frame.y) throw new ModelError('lm needs a response');
    if (frame.reTerms.length) throw new ModelError('lm() takes no random-effects terms; use lmer()');
    this.formula = frame.formula;
    const { n, p } = this;
    if (n <= p) throw new ModelError(`${n} observations are too few for ${p} coefficients`);
    // by QR, as R's lm: the residual sum of squares is that of Q'y's last n - p entries, exact
    // to rounding even when y is (nearly) in the span of X, where the normal equations lose it
    const qr = qrDecompose(frame.X, n, p);
    if (qr.rank < p) throw new ModelError('the fixed-effects model matrix is not of full rank');
    const qty = qrQty(qr, frame.y);
    let rss = 0;
    for (let i = p; i < n; i++) rss += qty[i] * qty[i];
    this.rss = rss;
    this.beta = qrCoef(qr, frame.y);
    // (X'X)^{-1} = (R'R)^{-1}, from L = R'
    const l = new Float64Array(p * p);
    let logdetX = 0;
    for (let j = 0; j < p; j++) {
      for (let i = j; i < p; i++) l[i + j * p] = qr.qr[i * n + j];
      logdetX += 2 * Math.log(Math.abs(l[j + j * p]));
    }
    this.unscaledCov = choleskyInverse(l, p);
    this.objective = profiledDeviance({ logdetZ: 0, logdetX, pwrss: rss }, n, p, false);
    this.sigma = Math.sqrt(rss / (n - p));
    this.warnings = [...frame.warnings];
    // summary.lm's test: the residual variance negligible against the fitted values' scale
    const fitted = this.fixedPart();
    const mean = fitted.reduce((a, b) => a + b, 0) / n;
    const variance = fitted.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
    if (this.sigma ** 2 < (mean * mean + variance) * 1e-30) this.warnings.push('essentially perfect fit: summary may be unreliable');
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

  /**
   * R-squared, adjusted R-squared and the overall F test, as summary.lm computes them: from the
   * model sum of squares of the fitted values (so that a perfect fit gives R's numbers too).
   */
  fitStatistics(): { rSquared: number; adjRSquared: number; F: number; numDF: number; denDF: number; p: number } {
    const fitted = this.fixedPart();
    const intercept = this.frame.hasIntercept;
    const mean = intercept ? fitted.reduce((a, b) => a + b, 0) / this.n : 0;
    let mss = 0;
    for (const f of fitted) mss += (f - mean) ** 2;
    const numDF = this.p - (intercept ? 1 : 0);
    const denDF = this.n - this.p;
    const rSquared = mss / (mss + this.rss);
    const adjRSquared = 1 - (1 - rSquared) * ((this.n - (intercept ? 1 : 0)) / denDF);
    const F = mss / numDF / (this.rss / denDF);
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
    const summary = html`<div class="neurolmm-summary"><p><b>Linear model</b><br>${s.call}</p>${tableHtml(s.coefs)}<p>${htmlLines([...s.lines, ...this.warnings])}</p></div>`;
    return { 'text/plain': this.summary(), 'text/html': summary.markup };
  }
}

/** Fits an ordinary least-squares model, R's `lm(formula, data, contrasts)`. */
export function lm(formula: string, data: DataInput, options: { dataName?: string; contrasts?: Record<string, ContrastSpec> } = {}): LinearModel {
  const table = toTable(data);
  const fit = new LinearModel(modelFrame(formula, table, { contrasts: options.contrasts }), options.dataName ?? table.source);
  rememberData(fit, table);
  return fit;
}
