/**
 * The one-sided formulas of nlme's residual structures, `~ covariate | group` (corAR1(form = ~ 1 | Mare),
 * varIdent(form = ~ 1 | Sex), varPower(form = ~ Time)), evaluated over the rows a model uses.
 */
import { DataError, FormulaError, ModelError } from '../errors';
import { deparse } from '../formula/deparse';
import { parseFormula, type Expr } from '../formula/parse';
import { Evaluator } from '../frame/evaluate';
import { factorOver, interactionFactor, labelCodes } from '../frame/factor';
import type { Factor, Table } from '../frame/types';

export interface StructureForm {
  /** the formula as written, for printed output ("~1 | Mare") */
  readonly text: string;
  /** the covariate; undefined for `~ 1` */
  readonly covariate?: Expr;
  /** grouping variables, outermost first (`~ 1 | a/b` gives a, b); empty without `|` */
  readonly groups: Expr[];
}

export function parseStructureForm(text: string): StructureForm {
  const f = parseFormula(text);
  if (f.lhs) throw new FormulaError(text, f.lhs.pos, 'a structure formula is one-sided: write it as ~ covariate | group');
  let rhs = f.rhs;
  let groups: Expr[] = [];
  if (rhs.type === 'binary' && rhs.op === '|') {
    groups = nestedGroups(rhs.right);
    rhs = rhs.left;
  }
  const covariate = rhs.type === 'number' && rhs.value === 1 ? undefined : rhs;
  return { text: `~${covariate ? deparse(covariate) : '1'}${groups.length ? ` | ${groups.map(deparse).join('/')}` : ''}`, covariate, groups };
}

function nestedGroups(e: Expr): Expr[] {
  if (e.type === 'binary' && e.op === '/') return [...nestedGroups(e.left), ...nestedGroups(e.right)];
  return [e];
}

/** A structure formula evaluated on the rows a model uses. */
export interface EvaluatedForm {
  readonly form: StructureForm;
  /** covariate per used row; undefined for `~ 1` */
  readonly covariate?: Float64Array;
  /** the innermost grouping (a/b: the a:b interaction) per used row; undefined without `|` */
  readonly group?: Factor;
}

/** Evaluates `form` over `rows` of `table`; nlme's na.fail: a missing value is an error naming its column and row. */
export function evaluateForm(form: StructureForm, table: Table, rows: Int32Array, what: string): EvaluatedForm {
  const evaluator = new Evaluator(table, form.text);
  const where = table.source ? ` of '${table.source}'` : '';
  let covariate: Float64Array | undefined;
  if (form.covariate) {
    const v = evaluator.variable(form.covariate);
    if (v.kind !== 'numeric') throw new ModelError(`the covariate '${v.label}' of ${what} must be numeric`);
    covariate = Float64Array.from(rows, (r) => v.values[r]);
    const bad = covariate.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new DataError(`${what}: '${v.label}' is missing or infinite at row ${rows[bad] + 1}${where}`);
  }
  let group: Factor | undefined;
  if (form.groups.length) {
    const factors = form.groups.map((g) => {
      const v = evaluator.variable(g);
      const coded = v.kind === 'factor' ? v.coded : labelCodes({ kind: 'numeric', values: v.values });
      const f = factorOver(coded, rows);
      const bad = f.codes.findIndex((c) => c < 0);
      if (bad >= 0) throw new DataError(`${what}: group '${v.label}' is missing at row ${rows[bad] + 1}${where}`);
      return f;
    });
    group = factors.length === 1 ? factors[0] : interactionFactor(factors);
  }
  return { form, covariate, group };
}
