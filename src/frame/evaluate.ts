/**
 * Evaluates formula variables (column names, I(...), log(x), factor(x), ...) on a table, the way
 * R's model.frame evaluates them: arithmetic inside calls is ordinary arithmetic, NaN is missing.
 */
import { DataError, FormulaError, ModelError } from '../errors';
import { deparse } from '../formula/deparse';
import type { Expr } from '../formula/parse';
import { labelCodes, type LabelCodes } from './factor';
import type { Table } from './types';

/** A formula variable evaluated on every row of a table. */
export type Variable =
  | { readonly kind: 'numeric'; readonly label: string; readonly expr: Expr; readonly values: Float64Array }
  | { readonly kind: 'factor'; readonly label: string; readonly expr: Expr; readonly coded: LabelCodes };

const MATH: Record<string, (x: number) => number> = {
  log: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  log1p: Math.log1p,
  exp: Math.exp,
  expm1: Math.expm1,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
};

const ARITHMETIC: Record<string, (a: number, b: number) => number> = {
  '+': (a, b) => a + b,
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '^': (a, b) => a ** b,
};

const SUPPORTED = `I(), factor(), ${Object.keys(MATH).join('(), ')}()`;

type Numeric = number | Float64Array;

/** Evaluates formula variables of one table, each distinct expression once. */
export class Evaluator {
  private readonly cache = new Map<string, Variable>();
  /** R's "NaNs produced" warnings, one per expression */
  readonly warnings: string[] = [];

  constructor(
    private readonly table: Table,
    private readonly formula: string,
  ) {}

  /** Whether every column the expression reads exists (a response may be an image, not a column). */
  hasColumns(e: Expr): boolean {
    switch (e.type) {
      case 'name':
        return this.table.column(e.name) !== undefined;
      case 'number':
        return true;
      case 'call':
        return e.args.every((a) => this.hasColumns(a));
      case 'paren':
        return this.hasColumns(e.inner);
      case 'unary':
        return this.hasColumns(e.arg);
      case 'binary':
        return this.hasColumns(e.left) && this.hasColumns(e.right);
    }
  }

  variable(e: Expr): Variable {
    const label = deparse(e);
    let v = this.cache.get(label);
    if (!v) {
      v = this.evaluate(e, label);
      this.cache.set(label, v);
    }
    return v;
  }

  private evaluate(e: Expr, label: string): Variable {
    if (e.type === 'name') {
      const column = this.column(e);
      return column.kind === 'numeric'
        ? { kind: 'numeric', label, expr: e, values: column.values }
        : { kind: 'factor', label, expr: e, coded: labelCodes(column) };
    }
    if (e.type === 'call' && (e.fn === 'factor' || e.fn === 'as.factor')) {
      this.arity(e, 1);
      const inner = this.variable(e.args[0]);
      const coded = inner.kind === 'factor' ? inner.coded : labelCodes({ kind: 'numeric', values: inner.values });
      return { kind: 'factor', label, expr: e, coded: { ...coded, boolean: false } };
    }
    const values = this.numeric(e, label);
    return { kind: 'numeric', label, expr: e, values: typeof values === 'number' ? new Float64Array(this.table.nrows).fill(values) : values };
  }

  private column(e: Extract<Expr, { type: 'name' }>) {
    const column = this.table.column(e.name);
    if (!column) {
      const where = this.table.source ? `'${this.table.source}'` : 'the data';
      throw new DataError(`unknown column '${e.name}' in formula '${this.formula}'; ${where} has columns: ${this.table.names.join(', ')}`);
    }
    return column;
  }

  private arity(e: Extract<Expr, { type: 'call' }>, ...counts: number[]): void {
    if (!counts.includes(e.args.length)) {
      throw new FormulaError(this.formula, e.pos, `${e.fn}() takes ${counts.join(' or ')} argument${counts.at(-1) === 1 ? '' : 's'}`);
    }
  }

  /** Arithmetic value of an expression: a constant or one value per row. */
  private numeric(e: Expr, context: string): Numeric {
    switch (e.type) {
      case 'number':
        return e.value;
      case 'name': {
        // R's constant pi, unless the data has a column of that name
        if (e.name === 'pi' && !this.table.column('pi')) return Math.PI;
        const v = this.variable(e);
        if (v.kind !== 'numeric') throw new ModelError(`'${e.name}' is a label column and cannot be used in arithmetic in '${context}'`);
        return v.values;
      }
      case 'paren':
        return this.numeric(e.inner, context);
      case 'unary': {
        const x = this.numeric(e.arg, context);
        return e.op === '+' ? x : map(x, (a) => -a);
      }
      case 'binary': {
        const op = ARITHMETIC[e.op];
        if (!op) throw new FormulaError(this.formula, e.pos, `'${e.op}' is a formula operator; inside I() or a function only + - * / ^ are arithmetic`);
        return map2(this.numeric(e.left, context), this.numeric(e.right, context), op);
      }
      case 'call':
        return this.call(e, context);
    }
  }

  private call(e: Extract<Expr, { type: 'call' }>, context: string): Numeric {
    if (e.fn === 'I') {
      this.arity(e, 1);
      return this.numeric(e.args[0], context);
    }
    const f = MATH[e.fn];
    if (!f) {
      if (e.fn === 'factor' || e.fn === 'as.factor') throw new ModelError(`factor() cannot be used in arithmetic in '${context}'`);
      throw new FormulaError(this.formula, e.pos, `unknown function '${e.fn}' (supported: ${SUPPORTED})`);
    }
    if (e.fn === 'log') this.arity(e, 1, 2);
    else this.arity(e, 1);
    const x = this.numeric(e.args[0], context);
    const result = e.args.length === 2 ? map2(x, this.numeric(e.args[1], context), (v, base) => Math.log(v) / Math.log(base)) : map(x, f);
    // R warns "NaNs produced" (log(-1)); those rows then count as missing
    if (producedNaN(x, result)) this.warnings.push(`${deparse(e)}: NaNs produced`);
    return result;
  }
}

function producedNaN(input: Numeric, result: Numeric): boolean {
  if (typeof result === 'number') return Number.isNaN(result) && !Number.isNaN(input as number);
  for (let i = 0; i < result.length; i++) {
    if (Number.isNaN(result[i]) && !Number.isNaN(typeof input === 'number' ? input : input[i])) return true;
  }
  return false;
}

function map(x: Numeric, f: (a: number) => number): Numeric {
  if (typeof x === 'number') return f(x);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return out;
}

function map2(x: Numeric, y: Numeric, f: (a: number, b: number) => number): Numeric {
  if (typeof x === 'number' && typeof y === 'number') return f(x, y);
  const n = typeof x === 'number' ? (y as Float64Array).length : x.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f(typeof x === 'number' ? x : x[i], typeof y === 'number' ? y : y[i]);
  return out;
}
