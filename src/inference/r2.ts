/**
 * Nakagawa's R² and the intraclass correlation of a linear mixed model, as R's
 * performance::r2_nakagawa and performance::icc compute them (Nakagawa, Johnson & Schielzeth
 * 2017): the variance of the fixed-effects predictions, the random effects' variance averaged
 * over the observations (Johnson 2014: mean of z_i' Sigma z_i per term, so random slopes count
 * at the observed covariate values), and the residual variance sigma².
 */
import { escapeHtml } from '../display/html';
import type { MimeBundle } from '../display/mime';
import type { LinearMixedModel } from '../lmm/model';

export interface VarianceComponents {
  /** variance of X beta over the observations (n - 1 denominator, as R's var) */
  fixed: number;
  /** sum over random-effects terms of the mean of z_i' Sigma z_i */
  random: number;
  /** sigma² */
  residual: number;
}

/** insight::get_variance's var.fixed, var.random and var.residual. */
export function varianceComponents(model: LinearMixedModel): VarianceComponents {
  // variances of the fitted parts: the same for a fit on mapped columns (see scaling.ts), computed there without cancellation
  if (model.rescaling) return varianceComponents(model.rescaling.fit);
  const n = model.n;
  const X = model.frame.X;
  const fixedPart = new Float64Array(n);
  for (let j = 0; j < model.p; j++) for (let i = 0; i < n; i++) fixedPart[i] += X[i + j * n] * model.beta[j];
  const mean = fixedPart.reduce((s, v) => s + v, 0) / n;
  const fixed = fixedPart.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  let random = 0;
  for (const [t, term] of model.terms.entries()) {
    const k = term.k;
    // the fit's own covariance: the terms' lambda is the live system's, which refits move
    const sigma = model.termCovariance(t);
    let sum = 0;
    for (let i = 0; i < n; i++) for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) sum += term.z[i + a * n] * sigma[a + b * k] * term.z[i + b * n];
    random += sum / n;
  }
  return { fixed, random, residual: model.sigma * model.sigma };
}

/** A small labelled result printed as performance prints it: a "# title" line, then aligned "name: value" lines. */
class LabelledValues<K extends string> {
  constructor(
    private readonly title: string,
    private readonly labels: Record<K, string>,
    readonly values: Record<K, number>,
  ) {}

  toString(): string {
    const entries = Object.entries(this.labels) as [K, string][];
    const width = Math.max(...entries.map(([, label]) => label.length));
    return [`# ${this.title}`, '', ...entries.map(([key, label]) => `  ${label.padStart(width)}: ${this.values[key].toFixed(3)}`)].join('\n');
  }

  toMimeBundle(): MimeBundle {
    const rows = (Object.entries(this.labels) as [K, string][])
      .map(([key, label]) => `<tr><th>${escapeHtml(label)}</th><td style="text-align: right">${this.values[key].toFixed(3)}</td></tr>`)
      .join('');
    return {
      'text/plain': this.toString(),
      'text/html': `<div class="neurolmm-table"><p><b>${escapeHtml(this.title)}</b></p><table><tbody>${rows}</tbody></table></div>`,
    };
  }

  toJSON(): Record<K, number> {
    return this.values;
  }
}

/** performance::r2_nakagawa: marginal (fixed effects) and conditional (fixed and random effects) R². */
export function r2(model: LinearMixedModel): LabelledValues<'conditional' | 'marginal'> {
  const v = varianceComponents(model);
  const total = v.fixed + v.random + v.residual;
  return new LabelledValues(
    'R2 for Mixed Models',
    { conditional: 'Conditional R2', marginal: 'Marginal R2' },
    { conditional: (v.fixed + v.random) / total, marginal: v.fixed / total },
  );
}

/** performance::icc: the random effects' share of the variance, without (adjusted) and with (unadjusted) the fixed effects'. */
export function icc(model: LinearMixedModel): LabelledValues<'adjusted' | 'unadjusted'> {
  const v = varianceComponents(model);
  return new LabelledValues(
    'Intraclass Correlation Coefficient',
    { adjusted: 'Adjusted ICC', unadjusted: 'Unadjusted ICC' },
    { adjusted: v.random / (v.random + v.residual), unadjusted: v.random / (v.fixed + v.random + v.residual) },
  );
}
