/**
 * Model matrices as R's model.matrix builds them: an intercept column, numeric variables as they
 * are, factors by their contrasts (treatment contrasts: the levels after the first) or by
 * indicators (every level) as the terms' factor pattern says, interactions as products with the
 * first variable varying fastest.
 */
import { ModelError } from '../errors';
import type { TermSpec } from '../formula/terms';
import type { FactorCoding } from './contrasts';
import type { Factor } from './types';

/** A variable restricted to the rows of a model matrix: numbers, or a factor (code -1 = missing). */
export type DesignVariable = { readonly kind: 'numeric'; readonly values: Float64Array } | { readonly kind: 'factor'; readonly factor: Factor };

/** One model-matrix column: a product of numeric variables and level indicators. */
export interface DesignColumn {
  readonly name: string;
  /** index of the term in the TermSpec; -1 for the intercept */
  readonly term: number;
  /**
   * factors: [variable index, level index] for an indicator (or a treatment contrast), or
   * [variable index, contrast column, its value at each level] for other contrasts;
   * numeric: [variable index, -1]
   */
  readonly parts: ReadonlyArray<readonly [number, number, Float64Array?]>;
}

/**
 * The columns of the model matrix of `spec`, given each variable's levels (undefined for numeric
 * variables) and the factors' codings (treatment contrasts where none is given), named as R
 * names them: "MachineB", "Days:SexMale", "Product1", "temperature.L".
 */
export function designColumns(spec: TermSpec, levels: (string[] | undefined)[], codings: (FactorCoding | undefined)[] = []): DesignColumn[] {
  const coding = spec.coding.map((codes) => [...codes]);
  if (!spec.intercept) {
    // R's model.matrix: without an intercept the first factor met is coded by indicators
    outer: for (let t = 0; t < spec.terms.length; t++) {
      for (let k = 0; k < spec.terms[t].length; k++) {
        if (levels[spec.terms[t][k]]) {
          coding[t][k] = 2;
          break outer;
        }
      }
    }
  }
  const columns: DesignColumn[] = spec.intercept ? [{ name: '(Intercept)', term: -1, parts: [] }] : [];
  spec.terms.forEach((term, t) => {
    // each variable's choices: one numeric column, or the levels it is coded by
    const choices = term.map((v, k): { level: number; name: string; weights?: Float64Array }[] => {
      const lv = levels[v];
      if (!lv) return [{ level: -1, name: spec.variableLabels[v] }];
      const c = codings[v];
      if (coding[t][k] === 1 && c && c.kind !== 'treatment') {
        const n = lv.length;
        return c.suffixes.map((s, j) => ({ level: j, name: spec.variableLabels[v] + s, weights: c.matrix.subarray(j * n, (j + 1) * n) }));
      }
      const first = coding[t][k] === 1 ? 1 : 0;
      return lv.slice(first).map((l, j) => ({ level: j + first, name: spec.variableLabels[v] + l }));
    });
    // odometer with the first variable varying fastest
    const index = new Array<number>(term.length).fill(0);
    const total = choices.reduce((p, c) => p * c.length, 1);
    for (let c = 0; c < total; c++) {
      const picked = term.map((_, k) => choices[k][index[k]]);
      columns.push({
        name: picked.map((p) => p.name).join(':'),
        term: t,
        parts: term.map((v, k) => [v, picked[k].level, picked[k].weights] as const),
      });
      for (let k = 0; k < term.length && ++index[k] === choices[k].length; k++) index[k] = 0;
    }
  });
  return columns;
}

/** R refuses contrasts for a factor with fewer than two levels (model.matrix's `contrasts<-`). */
export function checkFactorLevels(spec: TermSpec, levels: (string[] | undefined)[]): void {
  const used = new Set(spec.terms.flat());
  for (const v of used) {
    const lv = levels[v];
    if (lv && lv.length < 2) {
      throw new ModelError(
        `contrasts can be applied only to factors with 2 or more levels: '${spec.variableLabels[v]}' has only ${lv.length === 1 ? `the level '${lv[0]}'` : 'no level'} in the rows used`,
      );
    }
  }
}

/** Fills the n x columns.length column-major matrix. */
export function fillDesign(columns: DesignColumn[], variables: (DesignVariable | undefined)[], n: number): Float64Array {
  const out = new Float64Array(n * columns.length);
  columns.forEach((column, j) => {
    const col = out.subarray(j * n, (j + 1) * n);
    col.fill(1);
    for (const [v, level, weights] of column.parts) {
      const variable = variables[v]!;
      if (variable.kind === 'numeric') {
        const x = variable.values;
        for (let i = 0; i < n; i++) col[i] *= x[i];
      } else if (weights) {
        const codes = variable.factor.codes;
        for (let i = 0; i < n; i++) col[i] = codes[i] < 0 ? NaN : col[i] * weights[codes[i]];
      } else {
        const codes = variable.factor.codes;
        for (let i = 0; i < n; i++) {
          const c = codes[i];
          if (c !== level) col[i] = c < 0 ? NaN : 0;
        }
      }
    }
  });
  return out;
}
