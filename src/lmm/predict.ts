/**
 * Predictions of a fitted model on its own data or on new data (lme4's predict.merMod, R's
 * predict.lm, nlme's predict.lme/gls): X beta, plus Z b for the levels the model has seen. The
 * model matrices on new data are rebuilt in the fitted coding from the formula and the columns'
 * names alone.
 */
import { DataError, ModelError } from '../errors';
import { expandFormula, type RandomSpec } from '../formula/terms';
import { fillDesign, type DesignVariable } from '../frame/design';
import { BASELINE_LEVEL, recoverDesignStructure } from '../frame/design-structure';
import { Evaluator } from '../frame/evaluate';
import { labelCodes } from '../frame/factor';
import { DataInput, toTable } from '../frame/table';
import type { Table } from '../frame/types';
import type { FixedEffectsFit } from './fixed';
import type { ReTerm } from './reterm';

/** A fit to predict from: lm, or a mixed model (lmer, nlme's lme and gls) with its terms and conditional modes b. */
export type PredictableFit = FixedEffectsFit & { readonly terms?: ReTerm[]; readonly b?: Float64Array[] };

export interface PredictOptions {
  /** 'all' (default): include the conditional modes; 'none': the population prediction X beta (lme4's re.form = NA) */
  re?: 'all' | 'none';
  /**
   * levels of a grouping factor the model has not seen contribute no random effect (the
   * population prediction) when true (the default); when false they are an error
   */
  allowNewLevels?: boolean;
}

/**
 * lme4's predict(model, newdata, re.form, allow.new.levels): rows with a missing predictor
 * give NaN. Without newdata, the fitted values (re 'all') or X beta (re 'none').
 */
export function predict(model: PredictableFit, newdata?: DataInput, options: PredictOptions = {}): Float64Array {
  const { terms, b } = (options.re ?? 'all') === 'all' ? model : {};
  if (newdata === undefined) {
    if (terms) return model.fitted();
    return linearPredictor(model.frame.X, model.beta, model.n, model.p);
  }
  const table = toTable(newdata);
  const m = table.nrows;
  const eta = linearPredictor(model.frame.design.matrix(table), model.beta, m, model.p);
  if (!terms || !b) return eta;
  const specs = expandFormula(model.frame.formula).random;
  const evaluator = new Evaluator(table, model.frame.formula);
  terms.forEach((term, t) => {
    const r = model.frame.reTerms.findIndex((rt) => rt.z === term.z);
    if (r < 0) throw new ModelError(`random-effects term for '${term.group}' not found in the model frame`);
    const spec = specs[r];
    const z = newTermMatrix(spec, term, evaluator, table);
    const levelIndex = new Map(term.levels.map((l, i) => [l, i]));
    const labels = groupLabels(spec, evaluator, m);
    const unseen = new Set<string>();
    const bt = b[t];
    for (let i = 0; i < m; i++) {
      const label = labels[i];
      if (label === null) {
        eta[i] = NaN;
        continue;
      }
      const level = levelIndex.get(label);
      if (level === undefined) {
        unseen.add(label);
        continue;
      }
      for (let a = 0; a < term.k; a++) eta[i] += z[i + a * m] * bt[level * term.k + a];
    }
    if (unseen.size && options.allowNewLevels === false)
      throw new DataError(
        `new levels detected in newdata for '${term.group}': ${[...unseen].join(', ')} (use allowNewLevels: true for the population prediction)`,
      );
  });
  return eta;
}

function linearPredictor(X: Float64Array, beta: ArrayLike<number>, n: number, p: number): Float64Array {
  const out = new Float64Array(n);
  for (let j = 0; j < p; j++) for (let i = 0; i < n; i++) out[i] += X[i + j * n] * beta[j];
  return out;
}

/** Level labels of a grouping factor on new data ("a:b" for interactions); null when missing. */
function groupLabels(spec: RandomSpec, evaluator: Evaluator, m: number): (string | null)[] {
  const coded = spec.groupVariables.map((e) => {
    const v = evaluator.variable(e);
    return v.kind === 'factor' ? v.coded : labelCodes({ kind: 'numeric', values: v.values });
  });
  return Array.from({ length: m }, (_, i) => {
    const parts = coded.map((c) => (c.codes[i] < 0 ? null : c.labels[c.codes[i]]));
    return parts.includes(null) ? null : parts.join(':');
  });
}

/** The term's model matrix (m x k) on new data, in the fitted coding (column names must match). */
function newTermMatrix(spec: RandomSpec, term: ReTerm, evaluator: Evaluator, table: Table): Float64Array {
  const lhs = spec.lhs;
  const structure = recoverDesignStructure(lhs, term.names, sequentialAssign(lhs, term.names));
  const variables = lhs.variables.map((e, v): DesignVariable | undefined => {
    if (!lhs.terms.some((t) => t.includes(v))) return undefined;
    const variable = evaluator.variable(e);
    const levels = structure.levels[v];
    if (!levels) {
      if (variable.kind !== 'numeric') throw new DataError(`'${variable.label}' was numeric when the model was fitted but holds labels in the new data`);
      return { kind: 'numeric', values: variable.values };
    }
    const coded = variable.kind === 'factor' ? variable.coded : labelCodes({ kind: 'numeric', values: variable.values });
    const position = new Map(levels.map((l, i) => [l, i]));
    const baseline = levels[0] === BASELINE_LEVEL ? 0 : -1;
    const codes = Int32Array.from(coded.codes, (c) => {
      if (c < 0) return -1;
      const k = position.get(coded.labels[c]) ?? baseline;
      if (k < 0) throw new DataError(`'${variable.label}' has the level '${coded.labels[c]}', which the model was not fitted with`);
      return k;
    });
    return { kind: 'factor', factor: { codes, levels } };
  });
  return fillDesign(structure.columns, variables, table.nrows);
}

/** The term of each column of a model matrix whose columns come in term order (intercept first). */
function sequentialAssign(spec: RandomSpec['lhs'], names: string[]): Int32Array {
  let t = 0;
  return Int32Array.from(names, (name, j) => {
    if (j === 0 && spec.intercept && name === '(Intercept)') return -1;
    while (t < spec.terms.length - 1 && !startsTerm(spec, t, name)) t++;
    return t;
  });
}

function startsTerm(spec: RandomSpec['lhs'], t: number, name: string): boolean {
  return name.startsWith(spec.variableLabels[spec.terms[t][0]]);
}
