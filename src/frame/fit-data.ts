/**
 * The data a fit was made from, kept beside the fit (not inside it) for augment(): R's augment
 * starts from the model frame, the formula's variables at the rows used.
 */
import { expandFormula } from '../formula/terms';
import { deparse } from '../formula/deparse';
import type { Expr } from '../formula/parse';
import { Evaluator } from './evaluate';
import type { ModelFrame, Table } from './types';
import type { FrameColumn } from './danfo';

const dataOfFit = new WeakMap<object, Table>();

/** Records the table `fit` was fitted on (lm, lmer and a whole-brain fit's voxel(i) call this). */
export function rememberData(fit: object, table: Table): void {
  dataOfFit.set(fit, table);
}

export function dataOf(fit: object): Table | undefined {
  return dataOfFit.get(fit);
}

/**
 * R's model.frame(fit): the response, then every variable of the formula in order of first
 * appearance (fixed part, random terms' left-hand sides, grouping factors; `a:b` contributes a and
 * b), named as R deparses them ("I(day^2)"), at the rows used. Factors come back as their labels.
 */
export function modelFrameColumns(frame: ModelFrame, table: Table): [string, FrameColumn][] {
  const expanded = expandFormula(frame.formula);
  const variables: Expr[] = [
    ...(expanded.response ? [expanded.response] : []),
    ...expanded.fixed.variables,
    ...expanded.random.flatMap((r) => [...r.lhs.variables, ...r.groupVariables]),
  ];
  const evaluator = new Evaluator(table, frame.formula);
  const seen = new Set<string>();
  const columns: [string, FrameColumn][] = [];
  for (const expr of variables) {
    const label = deparse(expr);
    if (seen.has(label)) continue;
    seen.add(label);
    const variable = evaluator.variable(expr);
    if (variable.kind === 'numeric') {
      columns.push([label, Float64Array.from(frame.rows, (r) => variable.values[r])]);
    } else {
      const { codes, labels, boolean } = variable.coded;
      const cell = (r: number) => (codes[r] < 0 ? null : boolean ? labels[codes[r]] === 'TRUE' : labels[codes[r]]);
      columns.push([label, Array.from(frame.rows, cell) as FrameColumn]);
    }
  }
  return columns;
}
