/**
 * lme4's printed summary (print.summary.merMod), the user-facing contract, as text and HTML
 * from the same table specifications. Inference columns (df, p) come from the caller.
 */
import { abbreviate, CoefColumn, coefmatSpec, SIGNIF_LEGEND, zapsmall } from '../display/coefmat';
import { formatColumn } from '../display/format';
import { html, htmlLines, tableHtml, TableSpec, textTable } from '../display/html';
import { explanationLines } from './explain';
import type { LinearMixedModel } from './model';

export interface SummaryParts {
  title: string;
  header: string[];
  criterion: TableSpec | string;
  residuals: TableSpec;
  randomEffects: TableSpec;
  groups: string;
  fixedEffects: TableSpec & { stars: boolean };
  correlation?: TableSpec;
  notes: string[];
}

/** R's quantile(type = 7) */
export function quantiles(values: ArrayLike<number>, probs: number[]): number[] {
  const s = Float64Array.from(values).sort();
  return probs.map((p) => {
    const h = (s.length - 1) * p;
    const lo = Math.floor(h);
    return s[lo] + (h - lo) * ((s[Math.min(lo + 1, s.length - 1)] ?? s[lo]) - s[lo]);
  });
}

export function residualQuantilesSpec(scaled: ArrayLike<number>, digits = 4): TableSpec {
  const q = zapsmall(quantiles(scaled, [0, 0.25, 0.5, 0.75, 1]), digits + 1);
  return { columns: ['Min', '1Q', 'Median', '3Q', 'Max'], rows: [padCommon(formatColumn(q, digits))], align: Array(5).fill('right') };
}

/** R's format() pads a column's strings to a common width, right-justified */
function padCommon(cells: string[]): string[] {
  const width = Math.max(...cells.map((c) => c.length));
  return cells.map((c) => c.padStart(width));
}

/** lme4's formatVC: Groups, Name, Variance, Std.Dev. and the lower triangle of correlations. */
export function randomEffectsSpec(model: LinearMixedModel, digits = 4): TableSpec {
  const rows: string[][] = [];
  const variances: number[] = [];
  const groups = model.uniqueGroupNames();
  const maxK = Math.max(...model.terms.map((t) => t.k));
  const corrCols = maxK > 1 ? maxK - 1 : 0;
  for (const [grp, term, t] of groups) {
    const cov = model.termCovariance(t);
    const k = term.k;
    const sd = term.names.map((_, i) => Math.sqrt(cov[i + i * k]));
    // lme4 rounds correlations to max(2, digits - 2) decimals, padded over the whole matrix
    const dig = Math.max(2, digits - 2);
    const corr: string[] = [];
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) corr.push((i === j ? 1 : cov[i + j * k] / (sd[i] * sd[j])).toFixed(dig));
    const corrText = padCommon(corr);
    term.names.forEach((name, i) => {
      const cells = Array(corrCols).fill('');
      for (let j = 0; j < i; j++) cells[j] = corrText[i + j * k];
      rows.push([i === 0 ? grp : '', name, '', '', ...cells]);
      variances.push(cov[i + i * k]);
    });
  }
  rows.push(['Residual', '', '', '', ...Array(corrCols).fill('')]);
  variances.push(model.sigma * model.sigma);
  const varText = padCommon(formatColumn(variances, digits));
  const sdText = padCommon(formatColumn(variances.map(Math.sqrt), digits));
  rows.forEach((r, i) => {
    r[2] = varText[i];
    r[3] = sdText[i];
  });
  const columns = ['Groups', 'Name', 'Variance', 'Std.Dev.', ...Array.from({ length: corrCols }, (_, j) => (j === 0 ? 'Corr' : ''))];
  return { columns, rows, align: columns.map(() => 'left') };
}

export function groupsLine(model: LinearMixedModel): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const t of model.terms) {
    if (seen.has(t.group)) continue;
    seen.add(t.group);
    parts.push(`${t.group}, ${t.nlevels}`);
  }
  return `Number of obs: ${model.nobs}, groups:  ${parts.join('; ')}`;
}

/** Correlation of fixed effects, lower triangle, names abbreviated as lme4 does. */
export function fixedCorrelationSpec(names: string[], vcov: Float64Array): TableSpec | undefined {
  const p = names.length;
  if (p < 2) return undefined;
  const rows: string[][] = [];
  for (let i = 1; i < p; i++) {
    const row: string[] = [];
    for (let j = 0; j < p - 1; j++) {
      if (j >= i) row.push('');
      else row.push((vcov[i + j * p] / Math.sqrt(vcov[i + i * p] * vcov[j + j * p])).toFixed(3));
    }
    rows.push(row);
  }
  return {
    columns: names.slice(0, p - 1).map((n) => abbreviate(n, 6)),
    rows,
    rowLabels: names.slice(1).map((n) => abbreviate(n, 11)),
    align: Array(p - 1).fill('right'),
  };
}

export function summaryParts(model: LinearMixedModel, coefColumns: CoefColumn[], title: string, dataName?: string): SummaryParts {
  const header = [`Formula: ${model.formula}`];
  if (dataName) header.push(`   Data: ${dataName}`);
  let criterion: TableSpec | string;
  // lme4's .prt.aictab rounds to one decimal
  if (model.REML) criterion = `REML criterion at convergence: ${String(Math.round(model.objective * 10) / 10)}`;
  else {
    const values = [model.AIC(), model.BIC(), model.logLik(), model.objective];
    criterion = {
      columns: ['AIC', 'BIC', 'logLik', 'deviance', 'df.resid'],
      rows: [[...values.map((v) => v.toFixed(1)), String(model.nobs - model.dof)]],
      align: Array(5).fill('right'),
    };
  }
  const resid = model.residuals().map((r) => r / model.sigma);
  return {
    title,
    header,
    criterion,
    residuals: residualQuantilesSpec(resid),
    randomEffects: randomEffectsSpec(model),
    groups: groupsLine(model),
    fixedEffects: coefmatSpec(model.xNames, coefColumns),
    correlation: fixedCorrelationSpec(model.xNames, model.vcovMatrix()),
    notes: [...model.warnings, ...explanationLines(model)],
  };
}

export function summaryText(parts: SummaryParts): string {
  const out = [parts.title, ...parts.header, ''];
  out.push(typeof parts.criterion === 'string' ? parts.criterion : textTable(parts.criterion), '');
  out.push('Scaled residuals: ', textTable(parts.residuals), '');
  out.push('Random effects:', indent(textTable(parts.randomEffects)), parts.groups, '');
  out.push('Fixed effects:', textTable(parts.fixedEffects));
  if (parts.fixedEffects.stars) out.push('---', SIGNIF_LEGEND);
  if (parts.correlation) out.push('', 'Correlation of Fixed Effects:', textTable(parts.correlation));
  for (const note of parts.notes) out.push(note);
  return out.join('\n');
}

export function summaryHtml(parts: SummaryParts): string {
  return html`<div class="neurolmm-summary">
    <p><b>${parts.title}</b><br />${htmlLines(parts.header)}</p>
    ${typeof parts.criterion === 'string' ? html`<p>${parts.criterion}</p>` : tableHtml(parts.criterion)}
    <h4>Random effects</h4>
    ${tableHtml(parts.randomEffects)}
    <p>${parts.groups}</p>
    <h4>Fixed effects</h4>
    ${tableHtml(parts.fixedEffects)}${
      parts.correlation
        ? html`<h4>Correlation of fixed effects</h4>
            ${tableHtml(parts.correlation)}`
        : ''
    }${parts.notes.map((n) => html`<p><i>${n}</i></p>`)}
  </div>`.markup;
}

/** lme4 indents the random-effects table by one space */
function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => ' ' + l)
    .join('\n');
}
