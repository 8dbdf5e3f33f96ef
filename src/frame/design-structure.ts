/**
 * The structure of a fitted model matrix, recovered from the formula and the column names alone
 * (the model frame keeps X and its names, not the data): which variables are factors, their
 * levels, and for every column the variable levels it is the product of. Type III contrasts and
 * predictions for new data need it. The recovery is checked by rebuilding the column names with
 * the model-matrix code itself; a mismatch is a ModelError, never a silent guess.
 *
 * A factor coded by contrasts in every term never shows its first level in a name; that level
 * is represented by BASELINE_LEVEL (its label is never needed).
 */
import { ModelError } from '../errors';
import type { TermSpec } from '../formula/terms';
import { designColumns, type DesignColumn } from './design';

export const BASELINE_LEVEL = '\u0000baseline';

export interface DesignStructure {
  readonly spec: TermSpec;
  /** per variable of `spec`: its levels if it is a factor, undefined if numeric */
  readonly levels: (string[] | undefined)[];
  /** the model-matrix columns, one per name given */
  readonly columns: DesignColumn[];
  /** per term and variable position: 1 coded by contrasts, 2 by indicators (R's pattern after model.matrix's no-intercept rule) */
  readonly coding: (1 | 2)[][];
}

/** Splits a column name of term `vars` into one level text per variable ('' for a numeric variable). */
function splitName(name: string, labels: string[]): string[] | undefined {
  const parse = (rest: string, k: number): string[] | undefined => {
    if (!rest.startsWith(labels[k])) return undefined;
    const tail = rest.slice(labels[k].length);
    if (k === labels.length - 1) return [tail];
    const separator = ':' + labels[k + 1];
    for (let at = tail.indexOf(separator); at >= 0; at = tail.indexOf(separator, at + 1)) {
      const restParts = parse(tail.slice(at + 1), k + 1);
      if (restParts) return [tail.slice(0, at), ...restParts];
    }
    return undefined;
  };
  return parse(name, 0);
}

/**
 * Recovers the structure of the model matrix whose columns are `names` (with `assign`, the term
 * of each column, -1 for the intercept) plus the `dropped` names removed for rank deficiency.
 */
export function recoverDesignStructure(spec: TermSpec, names: string[], assign: ArrayLike<number>, dropped: string[] = []): DesignStructure {
  const seen: string[][][] = spec.terms.map((term) => term.map(() => []));
  const record = (t: number, name: string): boolean => {
    const parts = splitName(
      name,
      spec.terms[t].map((v) => spec.variableLabels[v]),
    );
    if (!parts) return false;
    parts.forEach((level, k) => {
      if (!seen[t][k].includes(level)) seen[t][k].push(level);
    });
    return true;
  };
  names.forEach((name, j) => {
    if (assign[j] >= 0 && !record(assign[j], name)) throw structureError(spec, `column '${name}' does not fit term '${spec.labels[assign[j]]}'`);
  });
  for (const name of dropped) if (!spec.terms.some((_, t) => record(t, name))) throw structureError(spec, `dropped column '${name}' fits no term`);

  const levels: (string[] | undefined)[] = spec.variables.map((_, v) => {
    const observed = spec.terms.flatMap((term, t) => term.flatMap((w, k) => (w === v ? [seen[t][k]] : [])));
    if (observed.length === 0) return undefined;
    const numeric = observed.every((o) => o.every((l) => l === ''));
    if (numeric) return undefined;
    if (observed.some((o) => o.includes(''))) throw structureError(spec, `variable '${spec.variableLabels[v]}' is both numeric and a factor`);
    return observed.reduce((a, b) => (b.length > a.length ? b : a));
  });
  const coding = codingPattern(spec, levels);
  // a factor coded by contrasts everywhere never names its first level
  spec.variables.forEach((_, v) => {
    const lv = levels[v];
    if (!lv) return;
    const indicatorSomewhere = spec.terms.some((term, t) => term.some((w, k) => w === v && coding[t][k] === 2));
    if (!indicatorSomewhere) levels[v] = [BASELINE_LEVEL, ...lv];
  });
  const all = designColumns(spec, levels);
  const droppedSet = new Set(dropped);
  const kept = all.filter((c) => !droppedSet.has(c.name));
  if (kept.length !== names.length || kept.some((c, j) => c.name !== names[j]))
    throw structureError(spec, `rebuilding the columns gave ${kept.map((c) => c.name).join(', ')}`);
  return { spec, levels, columns: kept, coding };
}

/** The structure of the treatment-coded model matrix of `spec` for factors with these levels (undefined: numeric). */
export function treatmentStructure(spec: TermSpec, levels: (string[] | undefined)[]): DesignStructure {
  return { spec, levels, columns: designColumns(spec, levels), coding: codingPattern(spec, levels) };
}

/** R's factor pattern with model.matrix's rule: without an intercept the first factor met is coded by indicators. */
function codingPattern(spec: TermSpec, levels: (string[] | undefined)[]): (1 | 2)[][] {
  const coding = spec.coding.map((c) => [...c]);
  if (!spec.intercept) {
    outer: for (let t = 0; t < spec.terms.length; t++)
      for (let k = 0; k < spec.terms[t].length; k++)
        if (levels[spec.terms[t][k]]) {
          coding[t][k] = 2;
          break outer;
        }
  }
  return coding;
}

function structureError(spec: TermSpec, detail: string): ModelError {
  return new ModelError(`cannot recover the model-matrix structure of terms ${spec.labels.join(', ')} from the column names: ${detail}`);
}
