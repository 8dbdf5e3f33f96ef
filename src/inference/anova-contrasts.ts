/**
 * The hypothesis matrices of lmerTest's anova tables, one per model term: Type I from the
 * Doolittle decomposition of X'X (get_contrasts_type1), Type III from the SAS/lmerTest
 * containment construction (get_contrasts_type3 / extract_contrasts_type3), which makes the
 * hypotheses the same whatever the contrast coding of the factors.
 */
import { zapsmall } from '../display/coefmat';
import { ModelError } from '../errors';
import { expandFormula, type TermSpec } from '../formula/terms';
import type { ModelFrame } from '../frame/types';
import { qrDecompose, qrQty, qrQy } from '../linalg/qr';
import { designColumns, type DesignColumn } from '../frame/design';
import { recoverDesignStructure, treatmentStructure, type DesignStructure } from '../frame/design-structure';

/** One term's hypothesis: rows of a contrast matrix over the model's coefficients. */
export interface TermHypothesis {
  term: string;
  rows: Float64Array[];
}

/** lmerTest's doolittle(x, eps): the unit lower-triangular L of x = L U, entries below eps zeroed. */
export function doolittle(x: Float64Array, n: number, eps = 1e-6): { L: Float64Array; U: Float64Array } {
  const L = new Float64Array(n * n);
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) L[i + i * n] = 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let u = x[i + j * n];
      for (let k = 0; k < i; k++) u -= L[i + k * n] * U[k + j * n];
      U[i + j * n] = u;
    }
    for (let j = i + 1; j < n; j++) {
      let l = x[j + i * n];
      for (let k = 0; k < i; k++) l -= L[j + k * n] * U[k + i * n];
      L[j + i * n] = Math.abs(U[i + i * n]) < eps ? 0 : l / U[i + i * n];
    }
  }
  for (const m of [L, U]) m.forEach((v, i) => Math.abs(v) < eps && (m[i] = 0));
  return { L, U };
}

/** Columns of X belonging to each term label (lmerTest's term2colX). */
function termColumns(frame: ModelFrame): number[][] {
  return frame.termLabels.map((_, t) => {
    const cols: number[] = [];
    frame.assign.forEach((a, j) => a === t && cols.push(j));
    return cols;
  });
}

/** lmerTest's get_contrasts_type1: rows of t(L) of X'X = L U for each term's columns. */
export function type1Hypotheses(frame: ModelFrame): TermHypothesis[] {
  const p = frame.xNames.length;
  const n = frame.n;
  if (p === 0 || (p === 1 && frame.hasIntercept)) return [];
  let Lt: Float64Array;
  if (p === 1) Lt = Float64Array.of(1);
  else {
    const XtX = new Float64Array(p * p);
    for (let i = 0; i < p; i++)
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let r = 0; r < n; r++) s += frame.X[r + i * n] * frame.X[r + j * n];
        XtX[i + j * p] = XtX[j + i * p] = s;
      }
    Lt = doolittle(XtX, p).L; // row c of t(L) is column c of L
  }
  return termColumns(frame).map((cols, t) => ({
    term: frame.termLabels[t],
    rows: cols.map((c) => Lt.slice(c * p, (c + 1) * p)),
  }));
}

/**
 * lmerTest's get_contrasts_type3. Models with at most one term (or one column) get the Type I
 * hypotheses, as in lmerTest; otherwise extract_contrasts_type3 on the treatment-coded X.
 */
export function type3Hypotheses(frame: ModelFrame): TermHypothesis[] {
  if (frame.xNames.length <= 1 || frame.termLabels.length <= 1) return type1Hypotheses(frame);
  const spec = expandFormula(frame.formula).fixed;
  if (spec.labels.join('\n') !== frame.termLabels.join('\n'))
    throw new ModelError(`the formula's terms (${spec.labels.join(', ')}) differ from the model's (${frame.termLabels.join(', ')})`);
  const containing = containment(spec, undefined);
  const anyContained = containing.some((c) => c.length > 0);
  if (!anyContained) {
    // no term is contained in another: the hypothesis of a term is that all its coefficients are 0
    const p = frame.xNames.length;
    return termColumns(frame).map((cols, t) => ({
      term: frame.termLabels[t],
      rows: cols.map((c) => {
        const row = new Float64Array(p);
        row[c] = 1;
        return row;
      }),
    }));
  }
  if (frame.droppedColumns.length > 0)
    throw new ModelError(
      `Type III tests of a model with interactions need a full-rank design, but columns ${frame.droppedColumns.join(', ')} were dropped as linearly dependent (empty cells?); use type 1`,
    );
  const codings = frame.factorCodings ?? {};
  if (Object.values(codings).every((c) => c.kind === 'treatment')) {
    const structure = recoverDesignStructure(spec, frame.xNames, frame.assign);
    return type3FromStructure(structure, frame.termLabels);
  }
  // other contrasts: the hypotheses on the treatment-coded coefficients, carried over to the model's
  const levels = spec.variableLabels.map((label) => codings[label]?.levels);
  const coded = designColumns(
    spec,
    levels,
    spec.variableLabels.map((label) => codings[label]),
  );
  if (coded.length !== frame.xNames.length || coded.some((c, j) => c.name !== frame.xNames[j]))
    throw new ModelError(`Type III tests: the model's columns (${frame.xNames.join(', ')}) differ from its codings' (${coded.map((c) => c.name).join(', ')})`);
  return type3FromStructure(treatmentStructure(spec, levels), frame.termLabels, coded);
}

/**
 * For each term, the terms containing it (lmerTest's containment): all its variables are in
 * the other term, which has more, and both involve the same numeric variables.
 * `levels` (undefined: decide from the spec alone, treating every variable as a factor) marks factors.
 */
function containment(spec: TermSpec, levels: (string[] | undefined)[] | undefined): number[][] {
  const isNumeric = (v: number) => (levels ? levels[v] === undefined : false);
  return spec.terms.map((inner, a) =>
    spec.terms.flatMap((outer, b) => {
      if (a === b || outer.length <= inner.length || !inner.every((v) => outer.includes(v))) return [];
      const numericInner = inner.filter(isNumeric);
      const numericOuter = outer.filter(isNumeric);
      const same = numericInner.length === numericOuter.length && numericInner.every((v) => numericOuter.includes(v));
      return same ? [b] : [];
    }),
  );
}

type SparseColumn = Map<number, number>;

function addScaled(target: SparseColumn, source: SparseColumn, scale: number): void {
  for (const [j, v] of source) {
    const s = (target.get(j) ?? 0) + scale * v;
    if (s === 0) target.delete(j);
    else target.set(j, s);
  }
}

/**
 * extract_contrasts_type3 for a full-rank treatment-coded X (or, with `coded`, for the model
 * matrix whose columns are `coded`: the same hypotheses in its coefficients). lmerTest takes
 * L = t(ginv(X) rdX), where rdX holds, for every term, the products of all levels of its
 * factors (the "complete" design); as every column of rdX is an exact combination of the
 * columns of X (a level coded by contrasts is one minus the others), L is found by expanding
 * those combinations symbolically, with no data. The rest follows lmerTest: orthogonalize each
 * contained term's columns of L against those of the terms containing it, higher-order terms
 * first; keep the rows of L that are columns of X; each term's hypothesis is its columns of L.
 */
function type3FromStructure(structure: DesignStructure, termLabels: string[], coded?: DesignColumn[]): TermHypothesis[] {
  const { spec, levels, columns, coding } = structure;
  const p = columns.length;
  const key = (term: number, lv: number[]) => `${term}|${lv.join(',')}`;
  const columnOf = new Map<string, number>();
  columns.forEach((c, j) =>
    columnOf.set(
      c.term < 0
        ? 'intercept'
        : key(
            c.term,
            c.parts.map(([, l]) => l),
          ),
      j,
    ),
  );
  const termOf = new Map(spec.terms.map((t, i) => [t.join(','), i]));

  const constant = (): SparseColumn => {
    const j = columnOf.get('intercept');
    if (j !== undefined) return new Map([[j, 1]]);
    // no intercept: 1 is the sum of the indicators of the first factor's main effect, when it has one
    const t = spec.terms.findIndex((term, i) => term.length === 1 && levels[term[0]] && coding[i][0] === 2);
    if (t < 0) throw new ModelError('Type III tests of this model need an intercept or a main effect of the first factor');
    const sum: SparseColumn = new Map();
    levels[spec.terms[t][0]]!.forEach((_, l) => addScaled(sum, expand([spec.terms[t][0]], [l]), 1));
    return sum;
  };

  // the column of the complete design for variables `vars` (ascending) at levels `lv` (-1 numeric), in X's basis
  const expand = (vars: number[], lv: number[]): SparseColumn => {
    if (vars.length === 0) return constant();
    const t = termOf.get(vars.join(','));
    if (t === undefined)
      throw new ModelError(
        `Type III tests need the term '${vars.map((v) => spec.variableLabels[v]).join(':')}' in the model (the formula is not hierarchical)`,
      );
    const k = lv.findIndex((l, pos) => l === 0 && coding[t][pos] === 1);
    if (k < 0) {
      const j = columnOf.get(key(t, lv));
      if (j === undefined) throw new ModelError(`Type III tests: column for term '${spec.labels[t]}' not found`);
      return new Map([[j, 1]]);
    }
    // first level of a contrast-coded factor = (term without it) - (its other levels)
    const result = expand(
      vars.filter((_, i) => i !== k),
      lv.filter((_, i) => i !== k),
    );
    for (let l = 1; l < levels[vars[k]]!.length; l++)
      addScaled(
        result,
        expand(
          vars,
          lv.map((x, i) => (i === k ? l : x)),
        ),
        -1,
      );
    return result;
  };

  // rows of L: the complete design's columns (intercept, then each term's level products)
  const rowKeys: string[] = [];
  const rowColumns: SparseColumn[] = [];
  if (spec.intercept) {
    rowKeys.push('intercept');
    rowColumns.push(constant());
  }
  spec.terms.forEach((vars, t) => {
    const choices = vars.map((v) => (levels[v] ? levels[v]!.map((_, l) => l) : [-1]));
    const index = vars.map(() => 0);
    const total = choices.reduce((a, c) => a * c.length, 1);
    for (let c = 0; c < total; c++) {
      const lv = vars.map((_, k) => choices[k][index[k]]);
      rowKeys.push(key(t, lv));
      rowColumns.push(expand(vars, lv));
      for (let k = 0; k < vars.length && ++index[k] === choices[k].length; k++) index[k] = 0;
    }
  });
  const r = rowKeys.length;
  let L = new Float64Array(r * p); // r x p, column-major
  rowColumns.forEach((col, i) => col.forEach((v, j) => (L[i + j * r] = v)));
  L = Float64Array.from(zapsmall(Array.from(L), 7));

  const termCols = spec.terms.map((_, t) => columns.flatMap((c, j) => (c.term === t ? [j] : [])));
  const containing = containment(spec, levels);
  const order = spec.terms.map((_, t) => t).sort((a, b) => spec.terms[b].length - spec.terms[a].length);
  for (const t of order) {
    if (containing[t].length === 0) continue;
    const predictors = containing[t].flatMap((c) => termCols[c]);
    const residual = residualsOnColumns(L, r, predictors, termCols[t]);
    const zapped = zapsmall(Array.from(residual), 7);
    termCols[t].forEach((j, m) => L.set(zapped.slice(m * r, (m + 1) * r), j * r));
  }
  const rowOfColumn = columns.map((c) =>
    rowKeys.indexOf(
      c.term < 0
        ? 'intercept'
        : key(
            c.term,
            c.parts.map(([, l]) => l),
          ),
    ),
  );
  // X_coded = X M, so a hypothesis h'beta on X's coefficients is (h'M) beta_coded
  const M = coded?.map((c) => codedColumn(c, spec.terms, levels, expand));
  const inCoded = (h: Float64Array) => (M ? Float64Array.from(M, (col) => [...col].reduce((s, [i, v]) => s + h[i] * v, 0)) : h);
  return termLabels.map((label, t) => ({
    term: label,
    rows: termCols[t].map((j) => inCoded(Float64Array.from(rowOfColumn, (i) => L[i + j * r]))).filter((row) => row.reduce((s, v) => s + Math.abs(v), 0) > 1e-8),
  }));
}

/**
 * A model-matrix column coded with any contrasts, in the treatment-coded columns: its factors'
 * contrast columns are sums of level indicators (weights by level), and each product of
 * indicators is expanded in the treatment columns by `expand`.
 */
function codedColumn(
  column: DesignColumn,
  terms: number[][],
  levels: (string[] | undefined)[],
  expand: (vars: number[], lv: number[]) => SparseColumn,
): SparseColumn {
  if (column.term < 0) return expand([], []);
  const vars = terms[column.term];
  const choices = column.parts.map(([v, level, weights]): [number, number][] =>
    weights ? levels[v]!.flatMap((_, l) => (weights[l] !== 0 ? [[l, weights[l]] as [number, number]] : [])) : [[level, 1]],
  );
  const out: SparseColumn = new Map();
  const index = vars.map(() => 0);
  const total = choices.reduce((a, c) => a * c.length, 1);
  for (let c = 0; c < total; c++) {
    const weight = choices.reduce((w, options, k) => w * options[index[k]][1], 1);
    addScaled(
      out,
      expand(
        vars,
        choices.map((options, k) => options[index[k]][0]),
      ),
      weight,
    );
    for (let k = 0; k < vars.length && ++index[k] === choices[k].length; k++) index[k] = 0;
  }
  return out;
}

/** Residuals of columns `ys` of the r-row matrix M regressed on its columns `xs` (R's lm.fit residuals). */
function residualsOnColumns(M: Float64Array, r: number, xs: number[], ys: number[]): Float64Array {
  const X = new Float64Array(r * xs.length);
  xs.forEach((j, m) => X.set(M.subarray(j * r, (j + 1) * r), m * r));
  const qr = qrDecompose(X, r, xs.length, 1e-7);
  const out = new Float64Array(r * ys.length);
  ys.forEach((j, m) => {
    const qty = qrQty(qr, M.slice(j * r, (j + 1) * r));
    qty.fill(0, 0, qr.rank);
    out.set(qrQy(qr, qty), m * r);
  });
  return out;
}
