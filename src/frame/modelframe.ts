/**
 * The model frame: formula + table -> response, fixed-effects model matrix and random-effects terms,
 * with R's model.frame/model.matrix and lme4's lFormula semantics (na.omit over every used variable,
 * the factors' contrasts, grouping factors with unused levels dropped, rank-deficient columns dropped).
 */
import { groupingProblem, termLevels } from './checks';
import { DataError, ModelError } from '../errors';
import { deparse } from '../formula/deparse';
import type { Expr } from '../formula/parse';
import { expandFormula, type RandomSpec, type TermSpec } from '../formula/terms';
import { qrDecompose } from '../linalg/qr';
import { defaultCoding, factorCoding, type ContrastSpec, type FactorCoding } from './contrasts';
import { checkFactorLevels, designColumns, fillDesign, type DesignColumn, type DesignVariable } from './design';
import { Evaluator, type Variable } from './evaluate';
import { factorOver, interactionFactor, isNumberLabel, labelCodes } from './factor';
import type { Factor, FixedDesign, ModelFrame, RandomTerm, Table } from './types';

export interface ModelFrameOptions {
  /** allow a one-sided formula, and a response that is not a column of the data (whole-brain images) */
  readonly responseOptional?: boolean;
  /**
   * contrasts of the fixed effects' factors by variable name, as lme4's `contrasts = list(...)`;
   * others get R's defaults (treatment contrasts, polynomial ones for ordered factors)
   */
  readonly contrasts?: Record<string, ContrastSpec>;
}

/** lme4's tolerance for the rank of the fixed-effects model matrix. */
const RANK_TOLERANCE = 1e-7;

function gather(values: Float64Array, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i]];
  return out;
}

/** Restricts a variable to the used rows: numbers copied, factors with levels from those rows. */
function restrict(variable: Variable, rows: Int32Array, keepBooleanLevels: boolean): DesignVariable {
  return variable.kind === 'factor'
    ? { kind: 'factor', factor: factorOver(variable.coded, rows, keepBooleanLevels) }
    : { kind: 'numeric', values: gather(variable.values, rows) };
}

/** Throws at the first infinite value among the rows (R keeps Inf through na.omit, then fails to fit); NaN is missing, not infinite. */
function checkFinite(variable: Variable, rows: Int32Array, source?: string): void {
  if (variable.kind !== 'numeric') return;
  for (let i = 0; i < rows.length; i++) {
    const v = variable.values[rows[i]];
    if (v === Infinity || v === -Infinity) {
      const what = variable.expr.type === 'name' ? `column '${variable.expr.name}'` : `'${variable.label}'`;
      throw new DataError(`${what} has an infinite value at row ${rows[i] + 1}${source ? ` of '${source}'` : ''}`);
    }
  }
}

const levelsOf = (variables: DesignVariable[]): (string[] | undefined)[] => variables.map((v) => (v.kind === 'factor' ? v.factor.levels : undefined));

/**
 * Model matrix of a term specification over the used rows, factors coded by `codings` (R's
 * defaults where undefined); `check` sees the columns before the matrix is filled.
 */
function designOf(
  spec: TermSpec,
  variables: DesignVariable[],
  n: number,
  codings: (FactorCoding | undefined)[] = [],
  check?: (columns: DesignColumn[]) => void,
): { columns: DesignColumn[]; matrix: Float64Array } {
  const levels = levelsOf(variables);
  checkFactorLevels(spec, levels);
  const coded = variables.map((v, i) => codings[i] ?? (v.kind === 'factor' ? defaultCoding(v.factor.levels, v.factor.ordered === true) : undefined));
  const columns = designColumns(spec, levels, coded);
  check?.(columns);
  return { columns, matrix: fillDesign(columns, variables, n) };
}

/** The fixed effects' factor codings: `contrasts` where given (each must name a factor), R's defaults elsewhere. */
function fixedCodings(spec: TermSpec, variables: DesignVariable[], contrasts: Record<string, ContrastSpec> = {}): (FactorCoding | undefined)[] {
  const factors = spec.variableLabels.filter((_, v) => variables[v].kind === 'factor');
  for (const name of Object.keys(contrasts)) {
    const v = spec.variableLabels.indexOf(name);
    if (v < 0 || !spec.terms.some((t) => t.includes(v)))
      throw new ModelError(`contrasts are given for '${name}', which is not a variable of the fixed effects (factors: ${factors.join(', ') || 'none'})`);
    if (variables[v].kind !== 'factor') throw new ModelError(`contrasts are given for '${name}', which is numeric, not a factor`);
  }
  return variables.map((variable, v) => {
    if (variable.kind !== 'factor') return undefined;
    const { levels, ordered = false } = variable.factor;
    const spec_ = contrasts[spec.variableLabels[v]];
    return spec_ === undefined ? defaultCoding(levels, ordered) : factorCoding(spec_, levels, ordered, spec.variableLabels[v]);
  });
}

/** Builds the model frame of `formula` on `data`. */
export function modelFrame(formula: string, data: Table, options: ModelFrameOptions = {}): ModelFrame {
  const expanded = expandFormula(formula);
  const { fixed, random } = expanded;
  const where = data.source ? `'${data.source}'` : 'the data';
  if (data.nrows === 0) throw new DataError(`${where} has no rows`);
  const evaluator = new Evaluator(data, formula);

  const response = expanded.response;
  if (!response && !options.responseOptional) throw new ModelError(`formula '${formula}' has no response: write it as 'y ~ ...'`);
  const responseLabel = response ? deparse(response) : undefined;
  const responseVariable = response && !(options.responseOptional && !evaluator.hasColumns(response)) ? evaluator.variable(response) : undefined;
  if (responseVariable?.kind === 'factor') {
    const quotedNumbers = responseVariable.coded.labels.every(isNumberLabel);
    throw new DataError(
      `the response '${responseLabel}' is a factor (label column), not numeric` +
        (quotedNumbers ? '; its values are numbers written as quoted text, which marks a factor' : ''),
    );
  }

  const fixedVariables = fixed.variables.map((e) => evaluator.variable(e));
  const randomVariables = random.map((r) => r.lhs.variables.map((e) => evaluator.variable(e)));
  const groupVariables = random.map((r) => r.groupVariables.map((e) => evaluator.variable(e)));
  const used = [responseVariable, ...fixedVariables, ...randomVariables.flat(), ...groupVariables.flat()].filter((v): v is Variable => v !== undefined);

  const rows = completeRows(used, data.nrows);
  if (rows.length === 0) throw new DataError(`all ${data.nrows} rows of ${where} have a missing value in a used column`);
  for (const v of used) checkFinite(v, rows, data.source);
  const n = rows.length;

  const y = responseVariable?.kind === 'numeric' ? gather(responseVariable.values, rows) : undefined;

  // fixed effects, then lme4's rank check
  const fixedDesignVariables = fixedVariables.map((v) => restrict(v, rows, true));
  const codings = fixedCodings(fixed, fixedDesignVariables, options.contrasts);
  const full = designOf(fixed, fixedDesignVariables, n, codings, (columns) => refuseHugeFixedDesign(n, columns, fixed.labels));
  const { kept, dropped } = independentColumns(full.matrix, n, full.columns.length);
  const columns = kept.map((j) => full.columns[j]);
  const X = dropped.length === 0 ? full.matrix : selectColumns(full.matrix, n, kept);
  const warnings = [...evaluator.warnings];
  if (dropped.length > 0) {
    warnings.push(
      dropped.length === 1
        ? 'fixed-effect model matrix is rank deficient so dropping 1 column / coefficient'
        : `fixed-effect model matrix is rank deficient so dropping ${dropped.length} columns / coefficients`,
    );
  }

  const reTerms = random.map((spec, r) =>
    randomTerm(
      spec,
      randomVariables[r].map((v) => restrict(v, rows, false)),
      groupVariables[r],
      rows,
      formula,
    ),
  );
  const problem = groupingProblem(reTerms.map(termLevels), n, 'ignore');
  if (problem) throw new ModelError(problem.message);

  const fixedLevels = levelsOf(fixedDesignVariables);
  return {
    formula,
    response: responseLabel,
    n,
    y,
    X,
    xNames: columns.map((c) => c.name),
    assign: Int32Array.from(columns, (c) => c.term),
    termLabels: fixed.labels,
    hasIntercept: fixed.intercept,
    reTerms,
    droppedColumns: dropped.map((j) => full.columns[j].name),
    rows,
    nOmitted: data.nrows - n,
    warnings,
    design: fixedDesign(fixed, fixedLevels, columns, formula),
    factorCodings: Object.fromEntries(codings.flatMap((c, v) => (c ? [[fixed.variableLabels[v], c]] : []))),
    gridColumns: gridColumns(fixed, fixedVariables, fixedDesignVariables, evaluator, rows),
  };
}

/**
 * The data columns read by the fixed effects, for a reference grid: a variable that is a column
 * or factor(column) gives that column's levels when it is a factor; every other column read
 * (Days in I(Days^2) or in Days itself) gives its mean over the rows used, as emmeans's ref_grid.
 */
function gridColumns(spec: TermSpec, variables: Variable[], restricted: DesignVariable[], evaluator: Evaluator, rows: Int32Array) {
  const out: Record<string, { levels: string[] } | { mean: number }> = {};
  const columnNames = (e: Expr): string[] =>
    e.type === 'name'
      ? [e.name]
      : e.type === 'call'
        ? e.args.flatMap(columnNames)
        : e.type === 'paren'
          ? columnNames(e.inner)
          : e.type === 'unary'
            ? columnNames(e.arg)
            : e.type === 'binary'
              ? [...columnNames(e.left), ...columnNames(e.right)]
              : [];
  variables.forEach((variable, v) => {
    if (!spec.terms.some((t) => t.includes(v))) return;
    const r = restricted[v];
    const e = variable.expr;
    const inner = e.type === 'call' && (e.fn === 'factor' || e.fn === 'as.factor') ? e.args[0] : e;
    if (r.kind === 'factor' && inner.type === 'name') {
      out[inner.name] = { levels: r.factor.levels };
      return;
    }
    for (const name of columnNames(e)) {
      // names that are not columns are constants (pi)
      if (out[name] || !evaluator.hasColumns({ type: 'name', name, pos: 0 })) continue;
      const column = evaluator.variable({ type: 'name', name, pos: 0 });
      if (column.kind !== 'numeric') continue;
      let sum = 0;
      for (let i = 0; i < rows.length; i++) sum += column.values[rows[i]];
      out[name] = { mean: sum / rows.length };
    }
  });
  return out;
}

/** Rows with no missing value (NaN, or a missing label) in any of the variables: R's na.omit. */
function completeRows(variables: Variable[], nrows: number): Int32Array {
  const complete = new Uint8Array(nrows).fill(1);
  for (const v of variables) {
    if (v.kind === 'numeric') {
      for (let i = 0; i < nrows; i++) if (Number.isNaN(v.values[i])) complete[i] = 0;
    } else {
      const codes = v.coded.codes;
      for (let i = 0; i < nrows; i++) if (codes[i] < 0) complete[i] = 0;
    }
  }
  let count = 0;
  for (let i = 0; i < nrows; i++) count += complete[i];
  const rows = new Int32Array(count);
  for (let i = 0, k = 0; i < nrows; i++) if (complete[i]) rows[k++] = i;
  return rows;
}

/**
 * The work of the dense fixed-effects algebra grows as n p^2 (the rank check's QR, X'X) and p^3:
 * about a minute at 1e10 (the QR alone: 2,000 x 500 takes 3 s). A factor with thousands of levels written as a fixed effect
 * (`y ~ f + (1 | g)` with 5,000 levels of f) would take hours, and is usually meant as a grouping
 * factor: refused at once, naming the sizes.
 */
const MAX_FIXED_WORK = 1e10;

function refuseHugeFixedDesign(n: number, columns: DesignColumn[], termLabels: string[]): void {
  const p = columns.length;
  if (n * p * p <= MAX_FIXED_WORK && p * p * p <= MAX_FIXED_WORK) return;
  const perTerm = new Map<number, number>();
  for (const c of columns) perTerm.set(c.term, (perTerm.get(c.term) ?? 0) + 1);
  const [widest, width] = [...perTerm].reduce((a, b) => (b[1] > a[1] ? b : a));
  const label = widest >= 0 ? termLabels[widest] : '(Intercept)';
  throw new ModelError(
    `the fixed effects have ${p} columns for ${n} rows (${width} of them from ${label}): fitting them as dense fixed effects would take hours; ` +
      `a factor with this many levels is usually a grouping factor, written (1 | ${label})`,
  );
}

/** lme4's chkRank.drop.cols: the pivoted QR keeps independent columns in order and names the rest. */
function independentColumns(X: Float64Array, n: number, p: number): { kept: number[]; dropped: number[] } {
  if (p === 0) return { kept: [], dropped: [] };
  const { pivot, rank } = qrDecompose(X, n, p, RANK_TOLERANCE);
  const kept = Array.from(pivot.subarray(0, rank)).sort((a, b) => a - b);
  const dropped = Array.from(pivot.subarray(rank));
  return { kept, dropped };
}

function selectColumns(matrix: Float64Array, n: number, columns: number[]): Float64Array {
  const out = new Float64Array(n * columns.length);
  columns.forEach((j, k) => out.set(matrix.subarray(j * n, (j + 1) * n), k * n));
  return out;
}

function randomTerm(spec: RandomSpec, lhsVariables: DesignVariable[], groupVariables: Variable[], rows: Int32Array, formula: string): RandomTerm {
  const { columns, matrix } = designOf(spec.lhs, lhsVariables, rows.length);
  if (columns.length === 0) throw new ModelError(`the random-effects term for '${spec.group}' in '${formula}' has no columns (its left-hand side is empty)`);
  // grouping variables are always factors (lme4 evaluates factor(g)); a:b is their interaction
  const factors: Factor[] = groupVariables.map((v) => factorOver(v.kind === 'factor' ? v.coded : labelCodes({ kind: 'numeric', values: v.values }), rows));
  return { group: spec.group, factor: interactionFactor(factors), names: columns.map((c) => c.name), z: matrix };
}

/** The fitted model's fixed-effects coding, applied to new data. */
function fixedDesign(spec: TermSpec, levels: (string[] | undefined)[], columns: DesignColumn[], formula: string): FixedDesign {
  return {
    matrix(table: Table): Float64Array {
      const evaluator = new Evaluator(table, formula);
      const n = table.nrows;
      const missing = new Uint8Array(n);
      const variables = spec.variables.map((e, v): DesignVariable | undefined => {
        if (!spec.terms.some((t) => t.includes(v))) return undefined;
        const variable = evaluator.variable(e);
        const fitted = levels[v];
        if (!fitted) {
          if (variable.kind !== 'numeric') throw new DataError(`'${variable.label}' was numeric when the model was fitted but holds labels in the new data`);
          checkFinite(variable, allRows(n), table.source);
          variable.values.forEach((x, i) => Number.isNaN(x) && (missing[i] = 1));
          return { kind: 'numeric', values: variable.values };
        }
        return { kind: 'factor', factor: { codes: codesInLevels(variable, fitted, missing), levels: fitted } };
      });
      const matrix = fillDesign(columns, variables, n);
      // a row with any missing variable is missing as a whole
      for (let i = 0; i < n; i++) if (missing[i]) for (let j = 0; j < columns.length; j++) matrix[j * n + i] = NaN;
      return matrix;
    },
  };
}

const allRows = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/** Codes of new data in the fitted levels; a level the model never saw is an error. */
function codesInLevels(variable: Variable, levels: string[], missing: Uint8Array): Int32Array {
  const coded = variable.kind === 'factor' ? variable.coded : labelCodes({ kind: 'numeric', values: variable.values });
  const position = new Map(levels.map((l, k) => [l, k]));
  const recode = coded.labels.map((l) => position.get(l));
  const codes = new Int32Array(coded.codes.length);
  coded.codes.forEach((c, i) => {
    if (c < 0) {
      missing[i] = 1;
      codes[i] = -1;
      return;
    }
    const k = recode[c];
    if (k === undefined) {
      const what = variable.expr.type === 'name' ? `column '${variable.expr.name}'` : `'${variable.label}'`;
      throw new DataError(`${what} has the level '${coded.labels[c]}' at row ${i + 1}, which the model was not fitted with (levels: ${levels.join(', ')})`);
    }
    codes[i] = k;
  });
  return codes;
}
