/**
 * Factors with R's level order. Labels are first coded by first appearance (one hash lookup per
 * cell, done once per column), then restricted to the rows a model uses and put in R's order.
 */
import { formatNumber } from '../formula/deparse';
import { columnFromCells } from './table';
import type { Cell, Column, Factor } from './types';

/** A label column coded by first appearance: codes index `labels`, -1 marks a missing cell. */
export interface LabelCodes {
  readonly codes: Int32Array;
  readonly labels: string[];
  /** from a boolean column: labels are "FALSE"/"TRUE" */
  readonly boolean: boolean;
  /** the level order declared for the column (R's factor(x, levels)); R's sorted order when absent */
  readonly levels?: string[];
  readonly ordered?: boolean;
}

const FINITE_DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Whether a label is a plain decimal number ("10", "-2.5", "1e+05"). */
export const isNumberLabel = (label: string): boolean => FINITE_DECIMAL.test(label);

function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n;) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca - cb;
    i += ca > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}

/**
 * R's level order for a set of labels: numeric order when every label is a number ("1","2",...,"10",
 * as factor() gives for a numeric column), else code-point order (R's sort in the C locale).
 */
export function sortLevels(labels: string[]): string[] {
  if (labels.length > 0 && labels.every(isNumberLabel)) {
    const value = new Map(labels.map((l) => [l, Number(l)]));
    return [...labels].sort((a, b) => value.get(a)! - value.get(b)! || compareCodePoints(a, b));
  }
  return [...labels].sort(compareCodePoints);
}

/** Codes cells by first appearance (-1 for missing), each distinct value labelled once. */
function codeByFirstAppearance<T>(values: ArrayLike<T>, missing: (v: T) => boolean, label: (v: T) => string): { codes: Int32Array; labels: string[] } {
  const codes = new Int32Array(values.length);
  const labels: string[] = [];
  const index = new Map<T, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (missing(v)) {
      codes[i] = -1;
      continue;
    }
    let c = index.get(v);
    if (c === undefined) {
      c = labels.length;
      index.set(v, c);
      labels.push(label(v));
    }
    codes[i] = c;
  }
  return { codes, labels };
}

/** keyed by the values array, so a column coded once is not coded again (voxel-wise fits reuse one table) */
const codeCache = new WeakMap<object, LabelCodes>();

/** Codes a column's cells by first appearance; numbers become labels as R's as.character prints them. */
export function labelCodes(column: Column): LabelCodes {
  const cached = codeCache.get(column.values);
  if (cached) return cached;
  const { codes, labels } =
    column.kind === 'numeric'
      ? codeByFirstAppearance(column.values, (v) => Number.isNaN(v), formatNumber)
      : codeByFirstAppearance(
          column.values,
          (v): v is null => v === null,
          (v) => v as string,
        );
  const result =
    column.kind === 'label'
      ? { codes, labels, boolean: column.boolean === true, levels: column.levels, ordered: column.ordered }
      : { codes, labels, boolean: false };
  codeCache.set(column.values, result);
  return result;
}

/**
 * The factor of `coded` over the given rows (all rows when omitted), levels in R's order.
 * Unused levels are dropped (R's factor()/droplevels), except that a boolean keeps FALSE and TRUE
 * when `keepBooleanLevels` (R's model.matrix codes a logical with both levels).
 */
export function factorOver(coded: LabelCodes, rows?: Int32Array, keepBooleanLevels = false): Factor {
  const n = rows ? rows.length : coded.codes.length;
  const present = new Uint8Array(coded.labels.length);
  for (let i = 0; i < n; i++) {
    const c = coded.codes[rows ? rows[i] : i];
    if (c >= 0) present[c] = 1;
  }
  let levels = coded.labels.filter((_, c) => present[c]);
  if (coded.boolean) levels = keepBooleanLevels ? ['FALSE', 'TRUE'] : ['FALSE', 'TRUE'].filter((l) => levels.includes(l));
  else if (coded.levels) {
    const used = new Set(levels);
    levels = coded.levels.filter((l) => used.has(l));
  } else levels = sortLevels(levels);
  const position = new Map(levels.map((l, k) => [l, k]));
  const recode = Int32Array.from(coded.labels, (l) => position.get(l) ?? -1);
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = coded.codes[rows ? rows[i] : i];
    codes[i] = c >= 0 ? recode[c] : -1;
  }
  return coded.ordered ? { codes, levels, ordered: true } : { codes, levels };
}

/**
 * R's factor(values): levels in R's order (numeric labels numerically, others by code point,
 * booleans FALSE before TRUE), missing cells coded -1, unused levels absent.
 * `name` names the values in messages and is kept on the result.
 */
export function factorOf(values: ArrayLike<Cell> | Column, name: string): Factor & { readonly name: string } {
  const column = 'kind' in values ? values : columnFromCells(values, name);
  return { name, ...factorOver(labelCodes(column)) };
}

/**
 * R's a:b for factors over the same rows: levels "la:lb" with the first factor varying slowest,
 * unused combinations dropped (as factor(a:b) does). Missing in any factor gives -1.
 */
export function interactionFactor(factors: Factor[]): Factor {
  return factors.reduce((a, b) => {
    const n = a.codes.length;
    const nb = b.levels.length;
    // the combined code a * nb + b orders levels with a varying slowest; -1 if either is missing
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = a.codes[i] < 0 || b.codes[i] < 0 ? -1 : a.codes[i] * nb + b.codes[i];
    const used = usedKeysInOrder(keys, a.levels.length * nb);
    const position = new Map<number, number>();
    used.forEach((k, j) => position.set(k, j));
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) codes[i] = keys[i] < 0 ? -1 : position.get(keys[i])!;
    const levels = Array.from(used, (k) => `${a.levels[Math.floor(k / nb)]}:${b.levels[k % nb]}`);
    return { codes, levels };
  });
}

/** The distinct non-negative keys in increasing order: by a presence table when the key range is small, else by sorting. */
function usedKeysInOrder(keys: Float64Array, range: number): Float64Array {
  if (range <= Math.max(1 << 20, 8 * keys.length)) {
    const present = new Uint8Array(range);
    for (let i = 0; i < keys.length; i++) if (keys[i] >= 0) present[keys[i]] = 1;
    const used: number[] = [];
    for (let k = 0; k < range; k++) if (present[k]) used.push(k);
    return Float64Array.from(used);
  }
  const sorted = keys.filter((k) => k >= 0).sort();
  return sorted.filter((k, i) => i === 0 || k !== sorted[i - 1]);
}
