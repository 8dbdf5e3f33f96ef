/**
 * R's contrast codings of a factor (contr.treatment, contr.sum, contr.helmert, contr.poly, or a
 * user matrix) and the model-matrix column suffixes R gives them: "B" (treatment: the level),
 * "1", "2" (sum, helmert, an unnamed matrix), ".L", ".Q", ".C", "^4" (poly).
 */
import { ModelError } from '../errors';

/** A factor's contrasts: a name (R's "contr.sum" spelling accepted too) or a levels x k matrix. */
export type ContrastSpec =
  | 'treatment'
  | 'sum'
  | 'helmert'
  | 'poly'
  | `contr.${'treatment' | 'sum' | 'helmert' | 'poly'}`
  | number[][]
  | { readonly matrix: number[][]; readonly names?: string[] };

/** A factor's coding in the model matrix: R's `contrasts(f)`. */
export interface FactorCoding {
  readonly kind: 'treatment' | 'sum' | 'helmert' | 'poly' | 'matrix';
  readonly levels: string[];
  readonly ordered: boolean;
  /** levels x k, column-major: the value of contrast column j at level l is matrix[l + j * levels] */
  readonly matrix: Float64Array;
  /** the column suffixes: the variable's name followed by one of these names each column */
  readonly suffixes: string[];
}

/** R's make.poly: orthonormal polynomials in the scores 1..n (Gram-Schmidt on centred powers), without the constant. */
function polyContrasts(n: number): Float64Array {
  const mean = (n + 1) / 2;
  const basis: Float64Array[] = [];
  for (let degree = 0; degree < n; degree++) {
    const v = Float64Array.from({ length: n }, (_, l) => (l + 1 - mean) ** degree);
    // twice, so that rounding in the first pass does not leave a component along earlier columns
    for (let pass = 0; pass < 2; pass++)
      for (const q of basis) {
        let dot = 0;
        for (let l = 0; l < n; l++) dot += q[l] * v[l];
        for (let l = 0; l < n; l++) v[l] -= dot * q[l];
      }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    basis.push(v.map((x) => x / norm));
  }
  const out = new Float64Array(n * (n - 1));
  basis.slice(1).forEach((q, j) => out.set(q, j * n));
  return out;
}

const POLY_SUFFIXES = ['.L', '.Q', '.C'];

function builtIn(kind: 'treatment' | 'sum' | 'helmert' | 'poly', levels: string[]): { matrix: Float64Array; suffixes: string[] } {
  const n = levels.length;
  const k = n - 1;
  const matrix = new Float64Array(n * k);
  const numbered = Array.from({ length: k }, (_, j) => String(j + 1));
  switch (kind) {
    case 'treatment':
      for (let j = 0; j < k; j++) matrix[j + 1 + j * n] = 1;
      return { matrix, suffixes: levels.slice(1) };
    case 'sum':
      for (let j = 0; j < k; j++) {
        matrix[j + j * n] = 1;
        matrix[n - 1 + j * n] = -1;
      }
      return { matrix, suffixes: numbered };
    case 'helmert':
      for (let j = 0; j < k; j++) {
        for (let l = 0; l <= j; l++) matrix[l + j * n] = -1;
        matrix[j + 1 + j * n] = j + 1;
      }
      return { matrix, suffixes: numbered };
    case 'poly':
      return { matrix: polyContrasts(n), suffixes: numbered.map((_, j) => POLY_SUFFIXES[j] ?? `^${j + 1}`) };
  }
}

/** R's default coding: treatment contrasts for a factor, polynomial contrasts for an ordered factor. */
export function defaultCoding(levels: string[], ordered: boolean): FactorCoding {
  return factorCoding(ordered ? 'poly' : 'treatment', levels, ordered, '');
}

/** The coding `spec` gives a factor with these levels; `name` is the variable, for messages. */
export function factorCoding(spec: ContrastSpec, levels: string[], ordered: boolean, name: string): FactorCoding {
  const n = levels.length;
  if (typeof spec === 'string') {
    const kind = spec.replace(/^contr\./, '');
    if (kind !== 'treatment' && kind !== 'sum' && kind !== 'helmert' && kind !== 'poly')
      throw new ModelError(`unknown contrasts '${spec}' for '${name}': use 'treatment', 'sum', 'helmert', 'poly' or a matrix with a row per level`);
    return { kind, levels, ordered, ...builtIn(kind, levels) };
  }
  const rows = Array.isArray(spec) ? spec : spec.matrix;
  const names = Array.isArray(spec) ? undefined : spec.names;
  if (!Array.isArray(rows) || rows.length !== n)
    throw new ModelError(
      `the contrast matrix for '${name}' has ${Array.isArray(rows) ? rows.length : 0} rows but the factor has ${n} levels (${levels.join(', ')})`,
    );
  const k = rows[0]?.length ?? 0;
  if (k < 1 || k > n - 1) throw new ModelError(`the contrast matrix for '${name}' needs between 1 and ${n - 1} columns, not ${k}`);
  const matrix = new Float64Array(n * k);
  rows.forEach((row, l) => {
    if (!Array.isArray(row) || row.length !== k)
      throw new ModelError(`row ${l + 1} of the contrast matrix for '${name}' has ${Array.isArray(row) ? row.length : 0} values, not ${k}`);
    row.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new ModelError(`the contrast matrix for '${name}' has a non-finite value at row ${l + 1}, column ${j + 1}`);
      matrix[l + j * n] = v;
    });
  });
  if (names && names.length !== k) throw new ModelError(`the contrast matrix for '${name}' has ${k} columns but ${names.length} names`);
  return { kind: 'matrix', levels, ordered, matrix, suffixes: names ?? Array.from({ length: k }, (_, j) => String(j + 1)) };
}
