/**
 * nlme's variance functions: the residual standard deviation of each observation is sigma times
 * a function of a stratum or a covariate, with parameters in nlme's unconstrained form (the form
 * the fit optimizes and intervals() are computed in).
 */
import { DataError, ModelError } from '../errors';
import type { Table } from '../frame/types';
import type { PrecisionBasis } from './corstruct';
import { evaluateForm, parseStructureForm, type StructureForm } from './form';

export type VarFuncKind = 'varIdent' | 'varPower' | 'varExp' | 'varComb';

/** A variance function as written, not yet bound to data: `varIdent('~ 1 | Sex')`. */
export class VarFunc {
  readonly form: StructureForm;
  constructor(
    readonly kind: Exclude<VarFuncKind, 'varComb'>,
    form: string,
  ) {
    this.form = parseStructureForm(form);
    if (kind === 'varIdent' && (this.form.covariate || this.form.groups.length === 0))
      throw new ModelError(`varIdent needs strata and no covariate: write varIdent('~ 1 | group'), not '${form}'`);
    if (kind !== 'varIdent' && (!this.form.covariate || this.form.groups.length))
      throw new ModelError(`${kind} needs a covariate and no strata: write ${kind}('~ covariate'), not '${form}'`);
  }

  /** Binds to the rows a model uses; `order` is the order nlme visits them (sorted by groups), which picks varIdent's reference stratum. */
  bind(table: Table, rows: Int32Array, order: Int32Array): BoundVarFunc {
    const what = `${this.kind}(${this.form.text})`;
    const data = evaluateForm(this.form, table, rows, what);
    if (this.kind === 'varIdent') return new BoundVarIdent(this.form.text, data.group!.codes, data.group!.levels, order);
    const covariate = data.covariate!;
    if (this.kind === 'varPower') {
      const zero = covariate.findIndex((v) => v === 0);
      if (zero >= 0) throw new DataError(`${what}: the covariate is 0 at row ${rows[zero] + 1}, where |covariate|^power has no finite weight`);
    }
    return new BoundCovariateVarFunc(this.kind, this.form.text, covariate);
  }
}

/**
 * A product of variance functions, nlme's varComb(varIdent(~ 1 | Sex), varPower(~ age)): each
 * row's standard deviation is the product of theirs; the parameters are theirs in turn.
 */
export class VarComb {
  readonly kind = 'varComb';
  readonly functions: VarFunc[];

  constructor(functions: VarFunc[]) {
    if (functions.length < 2) throw new ModelError(`varComb combines two or more variance functions (got ${functions.length})`);
    this.functions = functions;
  }

  bind(table: Table, rows: Int32Array, order: Int32Array): BoundVarFunc {
    return new BoundVarComb(this.functions.map((f) => f.bind(table, rows, order)));
  }
}

/** Different standard deviations per stratum, nlme's varIdent(form = ~ 1 | group). */
export const varIdent = (form: string): VarFunc => new VarFunc('varIdent', form);
/** Standard deviation |covariate|^delta, nlme's varPower(form = ~ covariate). */
export const varPower = (form: string): VarFunc => new VarFunc('varPower', form);
/** Standard deviation exp(delta covariate), nlme's varExp(form = ~ covariate). */
export const varExp = (form: string): VarFunc => new VarFunc('varExp', form);
/** The product of variance functions, nlme's varComb(...). */
export const varComb = (...functions: VarFunc[]): VarComb => new VarComb(functions);

export interface BoundVarFunc {
  readonly kind: VarFuncKind;
  /** the formula as nlme prints it */
  readonly formula: string;
  /** nlme's "Structure:" line */
  readonly description: string;
  /** number of (unconstrained) parameters */
  readonly npar: number;
  /** nlme's starting values (unconstrained) */
  readonly start: number[];
  /** names of the estimated parameters, as intervals() prints them */
  readonly names: string[];
  /** the standard deviation of each row relative to sigma, at unconstrained parameters u */
  sd(u: ArrayLike<number>, out: Float64Array): void;
  /** the estimated parameters in nlme's constrained form (ratios of SDs, powers) */
  constrained(u: ArrayLike<number>): number[];
  /** what summary prints under "Parameter estimates:" (varIdent: every stratum, the reference at 1) */
  printed(u: ArrayLike<number>): { names: string[]; values: number[] };
  /** S^-2 as a fixed combination of row sets (see PrecisionBasis), where the function has one */
  precisionBasis?(): PrecisionBasis | undefined;
  /** varComb: the combined functions and each one's share of u */
  components?(u: ArrayLike<number>): { function: BoundVarFunc; u: number[] }[];
}

class BoundVarIdent implements BoundVarFunc {
  readonly kind = 'varIdent';
  readonly description = 'Different standard deviations per stratum';
  readonly npar: number;
  readonly start: number[];
  readonly names: string[];
  /** per factor level, its parameter (-1 for the reference stratum) */
  private readonly parameterOf: Int32Array;
  private readonly strata: string[];

  constructor(
    readonly formula: string,
    private readonly codes: Int32Array,
    levels: string[],
    order: Int32Array,
  ) {
    // nlme's unique(strata) over the sorted rows: the first is the reference
    const seen: number[] = [];
    for (const r of order) if (!seen.includes(codes[r])) seen.push(codes[r]);
    this.strata = seen.map((c) => levels[c]);
    this.parameterOf = new Int32Array(levels.length).fill(-1);
    seen.forEach((c, i) => (this.parameterOf[c] = i - 1));
    this.npar = seen.length - 1;
    this.start = new Array(this.npar).fill(0);
    this.names = this.strata.slice(1);
  }

  sd(u: ArrayLike<number>, out: Float64Array): void {
    const ratios = Array.from(u, Math.exp);
    for (let i = 0; i < this.codes.length; i++) {
      const k = this.parameterOf[this.codes[i]];
      out[i] = k < 0 ? 1 : ratios[k];
    }
  }

  constrained(u: ArrayLike<number>): number[] {
    return Array.from(u, Math.exp);
  }

  /** S^-2 = sum_s ratio_s^-2 E_s, E_s the identity on stratum s's rows (the reference's ratio 1) */
  precisionBasis(): PrecisionBasis {
    const rows: number[][] = Array.from({ length: this.npar + 1 }, () => []);
    this.codes.forEach((c, r) => rows[this.parameterOf[c] + 1].push(r));
    return {
      pairs: rows.map((r) => ({ left: Int32Array.from(r), right: Int32Array.from(r) })),
      coefficients: (u) => [1, ...Array.from(u, (v) => Math.exp(-2 * v))],
    };
  }

  printed(u: ArrayLike<number>) {
    return { names: this.strata, values: [1, ...this.constrained(u)] };
  }
}

class BoundCovariateVarFunc implements BoundVarFunc {
  readonly npar = 1;
  readonly start = [0];
  readonly names: string[];
  readonly description: string;

  constructor(
    readonly kind: 'varPower' | 'varExp',
    readonly formula: string,
    private readonly covariate: Float64Array,
  ) {
    this.names = [kind === 'varPower' ? 'power' : 'expon'];
    this.description = kind === 'varPower' ? 'Power of variance covariate' : 'Exponential of variance covariate';
  }

  sd(u: ArrayLike<number>, out: Float64Array): void {
    const delta = u[0];
    const v = this.covariate;
    if (this.kind === 'varPower') for (let i = 0; i < v.length; i++) out[i] = Math.abs(v[i]) ** delta;
    else for (let i = 0; i < v.length; i++) out[i] = Math.exp(delta * v[i]);
  }

  constrained(u: ArrayLike<number>): number[] {
    return [u[0]];
  }

  printed(u: ArrayLike<number>) {
    return { names: this.names, values: this.constrained(u) };
  }
}

/** nlme's varComb bound to data: parameters named A.*, B.*, ... as intervals() prints them. */
class BoundVarComb implements BoundVarFunc {
  readonly kind = 'varComb';
  readonly description = 'Combination of variance functions';
  readonly formula: string;
  readonly npar: number;
  readonly start: number[];
  readonly names: string[];
  /** scratch for one function's standard deviations */
  private part?: Float64Array;

  constructor(private readonly functions: BoundVarFunc[]) {
    this.formula = functions.map((f) => f.formula).join(', ');
    this.npar = functions.reduce((a, f) => a + f.npar, 0);
    this.start = functions.flatMap((f) => f.start);
    this.names = functions.flatMap((f, i) => f.names.map((n) => `${String.fromCharCode(65 + i)}.${n}`));
  }

  components(u: ArrayLike<number>): { function: BoundVarFunc; u: number[] }[] {
    let at = 0;
    return this.functions.map((f) => {
      const share: number[] = Array.prototype.slice.call(u, at, at + f.npar);
      at += f.npar;
      return { function: f, u: share };
    });
  }

  sd(u: ArrayLike<number>, out: Float64Array): void {
    out.fill(1);
    const part = this.part?.length === out.length ? this.part : (this.part = new Float64Array(out.length));
    for (const c of this.components(u)) {
      c.function.sd(c.u, part);
      for (let i = 0; i < out.length; i++) out[i] *= part[i];
    }
  }

  constrained(u: ArrayLike<number>): number[] {
    return this.components(u).flatMap((c) => c.function.constrained(c.u));
  }

  printed(u: ArrayLike<number>) {
    return { names: this.names, values: this.constrained(u) };
  }
}
