/**
 * Turns formula expressions back into text exactly as R's deparse() prints them, because R's
 * term labels and model-matrix column names are deparsed expressions ("I(day^2)", "log(x)").
 */
import type { Expr } from './parse';

/** R's precedence levels (names.c), higher binds tighter. */
const PRECEDENCE: Record<string, number> = { '|': 1, '||': 1, '+': 2, '-': 2, '*': 3, '/': 3, ':': 4, unary: 5, '^': 6 };
/** R prints these binary operators with surrounding spaces (PP_BINARY); / ^ : without (PP_BINARY2). */
const SPACED = new Set(['+', '-', '*', '|', '||']);

const RESERVED = new Set([
  'if',
  'else',
  'repeat',
  'while',
  'function',
  'for',
  'next',
  'break',
  'in',
  'TRUE',
  'FALSE',
  'NULL',
  'Inf',
  'NaN',
  'NA',
  'NA_integer_',
  'NA_real_',
  'NA_character_',
  'NA_complex_',
]);

/** Whether R accepts `name` without backquotes. */
export function isSyntacticName(name: string): boolean {
  return /^(?:[\p{L}]|\.(?![\p{N}]))[\p{L}\p{N}._]*$/u.test(name) && !RESERVED.has(name) && !/^\.\.\d+$/.test(name);
}

/**
 * A double as R's as.character()/deparse() print it: up to 15 significant digits, fixed notation
 * unless scientific is shorter (so 100000 -> "1e+05", 0.0001 -> "1e-04", 123456 -> "123456").
 */
export function formatNumber(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Inf' : '-Inf';
  if (x === 0) return '0';
  const [mantissaRaw, exponentRaw] = x.toExponential(14).split('e');
  const mantissa = mantissaRaw.includes('.') ? mantissaRaw.replace(/0+$/, '').replace(/\.$/, '') : mantissaRaw;
  const exponent = Number(exponentRaw);
  const significant = mantissa.replace(/[-.]/g, '').length;
  const scientific = `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  if (Math.abs(exponent) >= 21) return scientific; // toFixed switches to exponent notation itself
  const fixed = x.toFixed(Math.max(0, significant - 1 - exponent));
  return fixed.length <= scientific.length ? fixed : scientific;
}

function precedenceOf(e: Expr): number | undefined {
  if (e.type === 'binary') return PRECEDENCE[e.op];
  if (e.type === 'unary') return PRECEDENCE.unary;
  return undefined;
}

/** R's needsparens(): an operand binding more loosely than its operator, or equally on the wrong side, is bracketed. */
function operand(e: Expr, parentPrecedence: number, onLeft: boolean, rightAssociative: boolean): string {
  const own = precedenceOf(e);
  const text = deparse(e);
  if (own === undefined || (e.type === 'unary' && !onLeft)) return text; // R never brackets a sign on the right: a^-b
  const needsParens = own < parentPrecedence || (own === parentPrecedence && onLeft === rightAssociative);
  return needsParens ? `(${text})` : text;
}

/** The expression as R's deparse() prints it. */
export function deparse(e: Expr): string {
  switch (e.type) {
    case 'number':
      return formatNumber(e.value);
    case 'name':
      return isSyntacticName(e.name) ? e.name : `\`${e.name}\``;
    case 'call':
      return `${isSyntacticName(e.fn) ? e.fn : `\`${e.fn}\``}(${e.args.map(deparse).join(', ')})`;
    case 'paren':
      return `(${deparse(e.inner)})`;
    case 'unary':
      return e.op + operand(e.arg, PRECEDENCE.unary, false, false);
    case 'binary': {
      const precedence = PRECEDENCE[e.op];
      const rightAssociative = e.op === '^';
      const left = operand(e.left, precedence, true, rightAssociative);
      const right = operand(e.right, precedence, false, rightAssociative);
      return SPACED.has(e.op) ? `${left} ${e.op} ${right}` : `${left}${e.op}${right}`;
    }
  }
}
