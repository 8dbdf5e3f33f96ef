/**
 * Whole-brain contrasts, BLMM's way: a vector is a T contrast, a matrix (list of rows) an F
 * contrast. Checked against the fixed effects before any image is read.
 */
import { ModelError } from '../errors';

/** A contrast as the user gives it: numbers (length p), a matrix (rows of length p) or coefficient names. */
export type ContrastInput = number[] | number[][] | string;

export interface Contrast {
  name: string;
  kind: 'T' | 'F';
  /** rows x p, row-major */
  rows: number[][];
}

/**
 * Contrasts from the user's spec; by default one T contrast per coefficient (the summary table).
 * A string is a coefficient name, or names joined by '-' / '+' ("time", "groupB-groupA").
 */
export function resolveContrasts(input: Record<string, ContrastInput> | undefined, xNames: string[]): Contrast[] {
  const p = xNames.length;
  if (!input || Object.keys(input).length === 0) {
    return xNames.map((name, i) => ({ name, kind: 'T' as const, rows: [xNames.map((_, j) => (i === j ? 1 : 0))] }));
  }
  return Object.entries(input).map(([name, value]) => {
    if (typeof value === 'string') return { name, kind: 'T', rows: [coefficientCombination(name, value, xNames)] };
    if (!Array.isArray(value) || value.length === 0) throw new ModelError(`contrast '${name}' is empty`);
    const matrix = Array.isArray(value[0]);
    const rows = (matrix ? value : [value]) as unknown[];
    rows.forEach((row, r) => {
      if (!Array.isArray(row) || row.length !== p || !row.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        const what = matrix ? `row ${r + 1} of contrast '${name}'` : `contrast '${name}'`;
        const length = Array.isArray(row) ? row.length : 1;
        throw new ModelError(`${what} has ${length} entries, the model has ${p} fixed effects (${xNames.join(', ')}); every entry must be a finite number`);
      }
    });
    const numeric = rows as number[][];
    if (numeric.every((row) => row.every((v) => v === 0))) throw new ModelError(`contrast '${name}' is all zeros`);
    return { name, kind: matrix ? 'F' : 'T', rows: numeric.map((r) => [...r]) };
  });
}

function coefficientCombination(name: string, text: string, xNames: string[]): number[] {
  const row = xNames.map(() => 0);
  const parts = text.replace(/\s+/g, '').match(/[+-]?[^+-]+/g) ?? [];
  if (parts.length === 0) throw new ModelError(`contrast '${name}' is empty`);
  for (const part of parts) {
    const sign = part.startsWith('-') ? -1 : 1;
    const coef = part.replace(/^[+-]/, '');
    // "Intercept" is accepted for R's "(Intercept)"
    const j = coef === 'Intercept' && !xNames.includes(coef) ? xNames.indexOf('(Intercept)') : xNames.indexOf(coef);
    if (j < 0) throw new ModelError(`contrast '${name}': '${coef}' is not a fixed effect (${xNames.join(', ')})`);
    row[j] += sign;
  }
  return row;
}

/**
 * Parses `name=spec` as given on the command line: `a=0,1,0`, `a=[0,1,0]`, `f=[[1,0,0],[0,1,0]]`
 * (F), or coefficient names `a=time`, `d=groupB-groupA`.
 */
export function parseContrastArgument(text: string): [string, ContrastInput] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new ModelError(`contrast '${text}' must be written name=vector (e.g. age=0,1,0)`);
  const name = text.slice(0, eq).trim();
  const spec = text.slice(eq + 1).trim();
  if (/^[\s\d.eE+\-,[\]]+$/.test(spec) && /\d/.test(spec)) {
    const json = spec.startsWith('[') ? spec : `[${spec}]`;
    try {
      return [name, JSON.parse(json) as number[] | number[][]];
    } catch {
      throw new ModelError(`contrast '${name}': cannot read '${spec}' as a vector or matrix`);
    }
  }
  return [name, spec];
}
