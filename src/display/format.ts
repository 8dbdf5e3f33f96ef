/**
 * Number formatting the way R prints numbers, so tables show the digits lme4 users expect:
 * `formatColumn` is R's `format(x, digits)` (common decimals, fixed unless scientific is narrower),
 * `formatPValues` is R's `format.pval`, `signifStars` the legend of `printCoefmat`.
 */

interface Decomposition {
  /** Power of ten of the leading digit after rounding to `digits` significant digits. */
  exponent: number;
  /** Significant digits left once trailing zeros are dropped (1..digits). */
  significant: number;
}

function decompose(x: number, digits: number): Decomposition {
  if (x === 0) return { exponent: 0, significant: 1 };
  const [mantissa, exponent] = Math.abs(x)
    .toExponential(digits - 1)
    .split('e');
  const significant = mantissa.replace('.', '').replace(/0+$/, '').length;
  return { exponent: Number(exponent), significant: Math.max(1, significant) };
}

function nonFinite(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  return x > 0 ? 'Inf' : '-Inf';
}

/** R's exponent style: at least two exponent digits, explicit sign (`1.5e-05`, `2e+10`). */
function scientific(x: number, significant: number): string {
  const [mantissa, exponent] = x.toExponential(significant - 1).split('e');
  const sign = exponent.startsWith('-') ? '-' : '+';
  return `${mantissa}e${sign}${exponent.replace(/^[-+]/, '').padStart(2, '0')}`;
}

/**
 * Formats numbers as one column, like R's `format(values, digits = digits)`: every value gets at
 * least `digits` significant digits (fewer when trailing zeros would be printed), all share the same
 * number of decimals, and scientific notation is used when it is narrower than fixed notation.
 * Non-finite values print as `NaN`, `Inf`, `-Inf`. The strings are not padded.
 */
export function formatColumn(values: ArrayLike<number>, digits = 7): string[] {
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i])) finite.push(values[i]);
  if (finite.length === 0) return Array.from(values, nonFinite);

  let decimals = 0;
  let maxSignificant = 1;
  for (const x of finite) {
    const { exponent, significant } = decompose(x, digits);
    decimals = Math.max(decimals, significant - exponent - 1);
    maxSignificant = Math.max(maxSignificant, significant);
  }
  const sci = finite.map((x) => scientific(x, maxSignificant));
  // toFixed cannot print more than 100 decimals; such columns are far wider than scientific anyway.
  const useFixed = decimals <= 100 && Math.max(...finite.map((x) => x.toFixed(decimals).length)) <= Math.max(...sci.map((s) => s.length));
  return Array.from(values, (x) => {
    if (!Number.isFinite(x)) return nonFinite(x);
    return useFixed ? x.toFixed(decimals) : scientific(x, maxSignificant);
  });
}

/** One number, as R's `format(x, digits = digits)` prints it. */
export function formatNumber(x: number, digits = 7): string {
  return formatColumn([x], digits)[0];
}

/**
 * P-values as R's `format.pval(p, digits, eps)` prints them: p-values below `eps` become `<2e-16`
 * style bounds, the rest are formatted with `digits` significant digits, p >= 1e-3 and p < 1e-3 as
 * two separate columns so tiny p-values do not force their decimals onto the others. The defaults match the
 * coefficient tables of `summary()` in R (printCoefmat with digits = 4).
 */
export function formatPValues(pValues: ArrayLike<number>, digits = 3, eps = 2.220446049250313e-16): string[] {
  const out: string[] = new Array(pValues.length);
  const regular: number[] = [];
  const fixedIdx: number[] = [];
  const sciIdx: number[] = [];
  let anyBelowEps = false;
  for (let i = 0; i < pValues.length; i++) {
    const p = pValues[i];
    if (Number.isNaN(p)) out[i] = 'NA';
    else if (p < eps) anyBelowEps = true;
    else {
      regular.push(i);
      const exponent = p > 0 ? Math.floor(Math.log10(p)) : -50;
      (exponent >= -3 || p === 0 ? fixedIdx : sciIdx).push(i);
    }
  }
  for (const group of [fixedIdx, sciIdx]) {
    const formatted = formatColumn(
      group.map((i) => pValues[i]),
      digits,
    );
    group.forEach((i, k) => (out[i] = formatted[k]));
  }
  if (anyBelowEps) {
    let boundDigits = Math.max(1, digits - 2);
    let separator = boundDigits === 1 ? '' : ' ';
    if (regular.length > 0) {
      const width = Math.max(...regular.map((i) => out[i].length));
      if (boundDigits > 1 && boundDigits + 6 > width) boundDigits = Math.max(1, width - 7);
      separator = boundDigits === 1 && width <= 6 ? '' : ' ';
    }
    const bound = `<${separator}${formatNumber(eps, boundDigits)}`;
    for (let i = 0; i < pValues.length; i++) if (pValues[i] < eps) out[i] = bound;
  }
  return out;
}

/** R's significance codes: `***` < 0.001 < `**` < 0.01 < `*` < 0.05 < `.` < 0.1 < ` `. */
export function signifStars(p: number): string {
  if (!(p >= 0)) return '';
  if (p < 0.001) return '***';
  if (p < 0.01) return '**';
  if (p < 0.05) return '*';
  if (p < 0.1) return '.';
  return ' ';
}
