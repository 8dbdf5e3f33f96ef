/**
 * nlme's printed summaries, print(summary(fit)) for lme (print.summary.lme) and gls
 * (print.summary.gls), laid out line for line as nlme prints them.
 */
import { abbreviate } from '../display/coefmat';
import { formatColumn } from '../display/format';
import { html } from '../display/html';
import { deparse } from '../formula/deparse';
import { parseFormula, type Expr } from '../formula/parse';
import { quantiles } from '../lmm/summary';
import type { ReTerm } from '../lmm/reterm';
import type { NlmeModel } from './lme';
import type { BoundVarFunc } from './varfunc';

/**
 * base::zapsmall as nlme's print methods call it in R 4.2: round(x, digits - log10(max |x|)), where
 * round() takes fractional digits to the nearest integer (printCoefmat's rounding, ../display/coefmat,
 * takes the ceiling of the logarithm instead).
 */
export function zapsmall(values: number[], digits = 7): number[] {
  const mx = Math.max(...values.filter(Number.isFinite).map(Math.abs));
  const decimals = mx > 0 ? Math.max(0, Math.round(digits - Math.log10(mx))) : digits;
  const f = 10 ** decimals;
  return values.map((v) => (Number.isFinite(v) ? Math.round(v * f) / f : v));
}

const pad = (s: string, w: number, right: boolean) => (right ? s.padStart(w) : s.padEnd(w));

/** R's print of a matrix of strings: row names left-aligned, columns aligned left (character matrices) or right (data frames). */
export function printMatrix(rowNames: string[], columns: string[], cells: string[][], right: boolean): string[] {
  const rw = Math.max(0, ...rowNames.map((r) => r.length));
  const widths = columns.map((c, j) => Math.max(c.length, ...cells.map((row) => row[j].length)));
  const line = (name: string, row: string[]) => [name.padEnd(rw), ...row.map((c, j) => pad(c, widths[j], right))].join(' ');
  return [line('', columns), ...cells.map((row, i) => line(rowNames[i], row))];
}

/** R's print of a named numeric vector (format(x, digits = 7) jointly, a common width, a trailing space). */
export function printNamedVector(names: string[], values: number[]): string[] {
  const formatted = formatColumn(values, 7);
  const w = Math.max(...names.map((n) => n.length), ...formatted.map((v) => v.length));
  return [names.map((n) => n.padStart(w)).join(' ') + ' ', formatted.map((v) => v.padStart(w)).join(' ') + ' '];
}

/** The fixed-effects part of a formula with random-effects bars, deparsed as R does ("follicles ~ sin(2 * pi * Time)"). */
export function fixedFormula(formula: string): string {
  const f = parseFormula(formula);
  const strip = (e: Expr): Expr | null => {
    if (e.type === 'paren' && e.inner.type === 'binary' && (e.inner.op === '|' || e.inner.op === '||')) return null;
    if (e.type === 'binary' && e.op === '+') {
      const l = strip(e.left);
      const r = strip(e.right);
      return l && r ? { ...e, left: l, right: r } : (l ?? r);
    }
    return e;
  };
  const rhs = strip(f.rhs);
  return `${f.lhs ? deparse(f.lhs) + ' ' : ''}~ ${rhs ? deparse(rhs) : '1'}`;
}

/** nlme's one-sided random formula of a term: ~1, ~Time, ~Time - 1 */
function randomFormula(names: string[]): string {
  if (names[0] === '(Intercept)') return `~${names.length === 1 ? '1' : names.slice(1).join(' + ')}`;
  return `~${names.join(' + ')} - 1`;
}

function randomEffectsLines(model: NlmeModel): string[] {
  const out = ['Random effects:'];
  const groups = model.groupings;
  groups.forEach((g, level) => {
    const terms = model.terms.filter((t) => t.group === g.name);
    const innermost = level === groups.length - 1;
    const names = terms.flatMap((t) => t.names);
    const label = groups
      .slice(0, level + 1)
      .map((x) => x.name.split(':')[0])
      .reverse()
      .join(' %in% ');
    if (level > 0) out.push('');
    out.push(` Formula: ${randomFormula(names)} | ${label}`);
    const sds = terms.flatMap((t) => termSds(t, model.sigma));
    if (terms.length === 1 && terms[0].k > 1) {
      out.push(' Structure: General positive-definite, Log-Cholesky parametrization');
      out.push(...correlationTable(terms[0], model.sigma, innermost));
      return;
    }
    if (terms.length > 1) out.push(' Structure: Diagonal');
    const columns = innermost ? [...names, 'Residual'] : names;
    const values = innermost ? [...sds, model.sigma] : sds;
    out.push(...printMatrix(['StdDev:'], columns, [values.map((v) => formatColumn([v], 7)[0])], true));
  });
  return out;
}

function termSds(t: ReTerm, sigma: number): number[] {
  const cov = t.covariance(sigma);
  return t.names.map((_, i) => Math.sqrt(cov[i + i * t.k]));
}

/** print.summary.pdMat for a general positive-definite matrix: StdDev and the lower triangle of correlations. */
function correlationTable(t: ReTerm, sigma: number, withResidual: boolean): string[] {
  const k = t.k;
  const cov = t.covariance(sigma);
  const sd = termSds(t, sigma);
  const correlations: number[] = [];
  for (let j = 0; j < k; j++) for (let i = j + 1; i < k; i++) correlations.push(cov[i + j * k] / (sd[i] * sd[j]));
  const corrText = formatColumn(
    correlations.map((r) => Math.round(r * 1000) / 1000),
    7,
  );
  const width = Math.max(...corrText.map((c) => c.length));
  const rows = withResidual ? [...t.names, 'Residual'] : t.names;
  const sdText = formatColumn(withResidual ? [...sd, sigma] : sd, 7);
  const sdWidth = Math.max(...sdText.map((s) => s.length));
  const cells = rows.map((_, i) => {
    const row = [sdText[i].padStart(sdWidth), ...Array<string>(k - 1).fill('')];
    if (i === 0) t.names.slice(0, k - 1).forEach((n, j) => (row[j + 1] = abbreviate(n, 6)));
    else if (i < k)
      for (let j = 0; j < i; j++) {
        // position of (i, j) in the column-major lower triangle
        const index = j * k - (j * (j + 1)) / 2 + (i - j - 1);
        row[j + 1] = corrText[index].padStart(width);
      }
    return row;
  });
  return printMatrix(rows, ['StdDev', 'Corr', ...Array<string>(k - 2).fill('')], cells, false);
}

function structureLines(model: NlmeModel): string[] {
  const out: string[] = [];
  const { correlation, variance } = model.residualStructure;
  if (correlation) {
    const values = model.corStruct();
    out.push(`Correlation Structure: ${correlation.description}`, ` Formula: ${correlation.formula} `, ' Parameter estimate(s):');
    if (correlation.kind === 'corSymm') out.push(...correlationMatrixLines(Object.values(values)));
    else out.push(...printNamedVector(Object.keys(values), Object.values(values)));
  }
  if (variance) {
    const u = model.residualStructure.variancePart(model.structureParameters);
    const block = (f: BoundVarFunc, v: number[]) => {
      const printed = f.printed(v);
      return [` Structure: ${f.description}`, ` Formula: ${f.formula} `, ' Parameter estimates:', ...printNamedVector(printed.names, printed.values)];
    };
    const components = variance.components?.(u);
    if (components) out.push('Combination of variance functions: ', ...components.flatMap((c) => block(c.function, c.u)));
    else out.push('Variance function:', ...block(variance, u));
  }
  return out;
}

/** print.corSymm's lower triangle: the correlations (1,2), (1,3), ... rounded to 3 decimals, left-aligned. */
function correlationMatrixLines(correlations: number[]): string[] {
  const M = Math.round((1 + Math.sqrt(1 + 8 * correlations.length)) / 2);
  const text = formatColumn(
    correlations.map((r) => Math.round(r * 1000) / 1000),
    7,
  );
  const width = Math.max(...text.map((t) => t.length));
  const index = (i: number, j: number) => j * M - (j * (j + 1)) / 2 + (i - j - 1);
  const cells = Array.from({ length: M - 1 }, (_, r) => Array.from({ length: M - 1 }, (__, j) => (j <= r ? text[index(r + 1, j)].padStart(width) : '')));
  const labels = Array.from({ length: M }, (_, i) => String(i + 1));
  return [' Correlation: ', ...printMatrix(labels.slice(1), labels.slice(0, M - 1), cells, false)];
}

/** The t table as nlme prints it: format(zapsmall(column)) per column, p-values rounded to 4 decimals. */
function tTableLines(model: NlmeModel): string[] {
  const c = model.coefTable();
  const col = (values: number[]) => formatColumn(zapsmall(values, 7), 7);
  const columns = model.kind === 'lme' ? ['Value', 'Std.Error', 'DF', 't-value', 'p-value'] : ['Value', 'Std.Error', 't-value', 'p-value'];
  const parts = [
    col(c.estimate),
    col(c.se),
    ...(model.kind === 'lme' ? [col(c.df)] : []),
    col(c.t),
    formatColumn(
      c.p.map((p) => Math.round(p * 1e4) / 1e4),
      7,
    ),
  ];
  return printMatrix(
    c.term,
    columns,
    c.term.map((_, i) => parts.map((p) => p[i])),
    true,
  );
}

/** print.correlation: the lower triangle of the fixed effects' correlations, columns abbreviated. */
function fixedCorrelationLines(model: NlmeModel): string[] {
  const p = model.p;
  const v = model.vcovMatrix();
  const lower: number[] = [];
  for (let i = 1; i < p; i++) for (let j = 0; j < i; j++) lower.push(Math.round((v[i + j * p] / Math.sqrt(v[i + i * p] * v[j + j * p])) * 1000) / 1000);
  const text = formatColumn(lower, 7);
  const w = Math.max(...text.map((s) => s.length));
  let at = 0;
  const cells = Array.from({ length: p - 1 }, (_, r) => Array.from({ length: p - 1 }, (__, j) => (j <= r ? text[at++].padStart(w) : '')));
  return printMatrix(
    model.xNames.slice(1),
    model.xNames.slice(0, p - 1).map((n) => abbreviate(n, 6)),
    cells,
    false,
  );
}

function summaryLines(model: NlmeModel): string[] {
  const isLme = model.kind === 'lme';
  const method = model.REML ? 'REML' : 'maximum likelihood';
  const out = [isLme ? `Linear mixed-effects model fit by ${method}` : `Generalized least squares fit by ${method}`];
  if (!isLme) out.push(`  Model: ${fixedFormula(model.formula)} `);
  out.push(`  Data: ${model.dataName ?? 'data'} `);
  const criteria = [model.AIC(), model.BIC(), model.logLik()].map((x) => formatColumn([x], 7)[0]);
  out.push(...printMatrix([' '], ['AIC', 'BIC', 'logLik'], [criteria], true));
  const structure = structureLines(model);
  if (isLme) out.push('', ...randomEffectsLines(model), '', ...structure);
  else if (structure.length) out.push('', ...structure);
  out.push(isLme ? `Fixed effects:  ${fixedFormula(model.formula)} ` : '\nCoefficients:');
  out.push(...tTableLines(model));
  if (model.p > 1) out.push(...(isLme ? [] : ['']), ' Correlation: ', ...fixedCorrelationLines(model));
  const pearson = model.residuals({ type: 'pearson' });
  out.push('', isLme ? 'Standardized Within-Group Residuals:' : 'Standardized residuals:');
  out.push(...printNamedVector(['Min', 'Q1', 'Med', 'Q3', 'Max'], quantiles(pearson, [0, 0.25, 0.5, 0.75, 1])));
  if (isLme) {
    out.push('', `Number of Observations: ${model.n}`);
    if (model.groupings.length === 1) out.push(`Number of Groups: ${model.groupings[0].factor.levels.length} `);
    else {
      const names = model.groupings.map((_, l) =>
        model.groupings
          .slice(0, l + 1)
          .map((g) => g.name.split(':')[0])
          .reverse()
          .join(' %in% '),
      );
      out.push(
        'Number of Groups: ',
        ...printNamedVector(
          names,
          model.groupings.map((g) => g.factor.levels.length),
        ),
      );
    }
  } else {
    out.push('', `Residual standard error: ${formatColumn([model.sigma], 7)[0]} `, `Degrees of freedom: ${model.n} total; ${model.n - model.p} residual`);
  }
  out.push(...model.warnings);
  return out;
}

export function summaryText(model: NlmeModel): string {
  return summaryLines(model).join('\n');
}

export function summaryHtml(model: NlmeModel): string {
  return html`<div class="neurolmm-summary"><pre>${summaryText(model)}</pre></div>`.markup;
}
