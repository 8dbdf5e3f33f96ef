/**
 * R's printCoefmat and the helpers lme4's print methods use (abbreviate, zapsmall), producing
 * string cells for `textTable`/`htmlTable` so text and HTML summaries show the same digits.
 */
import { formatColumn, formatPValues, signifStars } from './format';
import type { TableSpec } from './html';

export type CoefColumnKind = 'estimate' | 'se' | 'test' | 'other' | 'p';

export interface CoefColumn {
  name: string;
  kind: CoefColumnKind;
  values: ArrayLike<number>;
}

/**
 * printCoefmat(x, digits): estimates and SEs rounded together to the decimals the smallest
 * needs, test statistics to `digits - 1` decimals, other columns formatted alone, p-values by
 * format.pval with significance stars.
 */
export function coefmatSpec(rowNames: string[], columns: CoefColumn[], digits = 4): TableSpec & { stars: boolean } {
  const cells: string[][] = rowNames.map(() => []);
  const digTst = Math.max(1, Math.min(5, digits - 1));
  const coefSe = columns.filter((c) => c.kind === 'estimate' || c.kind === 'se');
  let coefSeFormatted: string[] = [];
  if (coefSe.length) {
    const all = coefSe.flatMap((c) => Array.from(c.values));
    const nonzero = all.map(Math.abs).filter((v) => Number.isFinite(v) && v !== 0);
    const digmin = nonzero.length ? 1 + Math.floor(Math.log10(Math.min(...nonzero))) : 1;
    const decimals = Math.max(1, digits - digmin);
    // R formats the estimate/SE group as one matrix: common decimals and a common width
    coefSeFormatted = formatColumn(
      all.map((v) => roundTo(v, decimals)),
      digits,
    );
    const width = Math.max(...coefSeFormatted.map((c) => c.length));
    coefSeFormatted = coefSeFormatted.map((c) => c.padStart(width));
  }
  let stars = false;
  const starCells: string[] = [];
  let coefSeIndex = 0;
  for (const col of columns) {
    let formatted: string[];
    if (col.kind === 'estimate' || col.kind === 'se') {
      formatted = coefSeFormatted.slice(coefSeIndex, coefSeIndex + rowNames.length);
      coefSeIndex += rowNames.length;
    } else if (col.kind === 'test')
      formatted = formatColumn(
        Array.from(col.values, (v) => roundTo(v, digTst)),
        digits,
      );
    else if (col.kind === 'p') {
      formatted = formatPValues(col.values, digTst);
      stars = Array.from(col.values).some((p) => p < 0.1);
      if (stars) starCells.push(...Array.from(col.values, signifStars));
    } else formatted = formatColumn(col.values, digits);
    formatted.forEach((s, i) => cells[i].push(s));
  }
  const names = columns.map((c) => c.name);
  if (stars) {
    names.push('');
    const width = Math.max(...starCells.map((s) => s.length));
    starCells.forEach((s, i) => cells[i].push(s.padEnd(width)));
  }
  return {
    columns: names,
    rows: cells,
    rowLabels: rowNames,
    align: names.map((_, j) => (stars && j === names.length - 1 ? 'left' : 'right')),
    stars,
  };
}

export const SIGNIF_LEGEND = "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1";

/** R's round(x, decimals). */
export function roundTo(x: number, decimals: number): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
}

/** R's zapsmall(x, digits): round so that values tiny next to the largest print as 0. */
export function zapsmall(values: number[], digits: number): number[] {
  const mx = Math.max(...values.filter(Number.isFinite).map(Math.abs));
  const decimals = mx > 0 ? Math.max(0, digits - Math.ceil(Math.log10(mx))) : digits;
  return values.map((v) => roundTo(v, decimals));
}

/**
 * R's abbreviate(x, minlength): drop lower-case vowels from the right (never the first
 * character), then lower-case letters, until the name fits ("(Intercept)" -> "(Intr)").
 */
export function abbreviate(name: string, minlength: number): string {
  let chars = [...name];
  for (const pattern of [/[aeiou]/, /[a-z]/]) {
    for (let i = chars.length - 1; i > 0 && chars.length > minlength; i--) if (pattern.test(chars[i])) chars.splice(i, 1);
  }
  if (chars.length > minlength) chars = chars.slice(0, minlength);
  return chars.join('');
}
