/**
 * Conditional modes and what is built from them, as lme4 gives them: ranef with conditional
 * variances (postVar), coef (fixed + random per level), residuals, and predictions for new
 * data with or without the random effects (`predict`, from lmm/predict.ts, where nlme's fits
 * use it too).
 *
 * Conditional variances are the diagonal blocks of sigma^2 Lambda (Lambda'Z'Z Lambda + I)^{-1}
 * Lambda', from the fitted system's factor: the first term's block-diagonal part level by level,
 * the other terms through the selected inverse of the tail's factor (its entries on the factor's
 * structure only). So the cost is about that of one more factorization at the optimum, sparse
 * for crossed factors (InstEval), with no dense inverse of the random effects.
 */
import { ModelError } from '../errors';
import { choleskyInverse, choleskyLower } from '../linalg/dense';
import { observationsByLevel } from '../lmm/first-block';
import type { LinearModel } from '../lmm/lm';
import type { LinearMixedModel, RanefRows } from '../lmm/model';
import type { ReTerm } from '../lmm/reterm';
import type { ColumnMap } from '../lmm/scaling';

export { predict, type PredictOptions } from '../lmm/predict';

/** Conditional covariance blocks of one random-effects term, per level (lme4's postVar). */
export interface ConditionalVarianceBlock {
  names: string[];
  levels: string[];
  /** per level, the k x k conditional covariance, column-major */
  postVar: Float64Array[];
  /** per level, the conditional standard deviations (square roots of the diagonal) */
  condSD: number[][];
}

/** lme4's postVar for every term, grouped by grouping factor (one block per term, like lme4 for `||`). */
export function conditionalVariances(model: LinearMixedModel): Record<string, ConditionalVarianceBlock[]> {
  if (model.rescaling) return mappedConditionalVariances(conditionalVariances(model.rescaling.fit), model.terms, model.rescaling.scaling.terms);
  const inverse = relativeInverseBlocks(model);
  const s2 = model.sigma * model.sigma;
  const out: Record<string, ConditionalVarianceBlock[]> = {};
  model.terms.forEach((term, t) => {
    const k = term.k;
    const postVar = inverse[t].map((B) => scaleByLambda(model.lambda[t], B, k, s2));
    const condSD = postVar.map((V) => term.names.map((_, a) => Math.sqrt(V[a + a * k])));
    (out[term.group] ??= []).push({ names: [...term.names], levels: [...term.levels], postVar, condSD });
  });
  return out;
}

/**
 * The conditional variances of a fit on mapped columns z = z~ T_t (see scaling.ts) for the user's
 * random effects b = T_t^-1 b~: T_t^-1 V T_t^-T per level (terms in lme4's order, as the blocks).
 */
function mappedConditionalVariances(
  mapped: Record<string, ConditionalVarianceBlock[]>,
  terms: ReTerm[],
  maps: ColumnMap[],
): Record<string, ConditionalVarianceBlock[]> {
  const out: Record<string, ConditionalVarianceBlock[]> = {};
  terms.forEach((term, t) => {
    const blocks = (out[term.group] ??= []);
    const block = mapped[term.group][blocks.length];
    const postVar = block.postVar.map((V) => maps[t].backCovariance(V));
    blocks.push({ ...block, postVar, condSD: postVar.map((V) => block.names.map((_, a) => Math.sqrt(V[a + a * term.k]))) });
  });
  return out;
}

/** s2 * lambda B lambda' for lower-triangular lambda (k x k). */
function scaleByLambda(lam: Float64Array, B: Float64Array, k: number, s2: number): Float64Array {
  const out = new Float64Array(k * k);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let a = 0; a <= i; a++) for (let b = 0; b <= j; b++) s += lam[i + a * k] * B[a + b * k] * lam[j + b * k];
      out[i + j * k] = s2 * s;
    }
  return out;
}

/**
 * Diagonal blocks (per term, per level, k x k) of (Lambda'Z'Z Lambda + I)^{-1}, from the fitted
 * system's factor. With the first term's block A11 block diagonal (H_l per level), C its coupling
 * with the tail's random effects and G22 the inverse of their Schur complement, the first term's
 * blocks are H_l^{-1} + W_l G22 W_l' (W_l = H_l^{-1} C_l) and the tail terms' are those of G22.
 * G22 is needed only where a level of the first term couples tail rows and on the tail levels'
 * own blocks, all on the tail factor's structure, which its selected inversion gives.
 */
function relativeInverseBlocks(model: LinearMixedModel): Float64Array[][] {
  if (!model.evaluateAt(model.theta)) throw new ModelError('the random-effects system is not positive definite');
  const system = model.system;
  const g22 = system.randomEffectsInverse();
  const m = system.tailSize;
  const g = (i: number, j: number) => (i >= j ? g22[i + j * m] : g22[j + i * m]);
  const terms = model.terms;
  const blocks: Float64Array[][] = terms.map(() => []);
  const first = terms[0];
  const k0 = first.k;
  const n = model.n;
  const { start, rows } = observationsByLevel(first);
  // per level: H_l (then its inverse), and C_l over the tail rows it touches (k0 per row)
  const h = new Float64Array(k0 * k0);
  const zl0 = new Float64Array(k0);
  const zl = new Float64Array(Math.max(...terms.map((t) => t.k)));
  const slot = new Int32Array(system.tailRe).fill(-1);
  const touched: number[] = [];
  let coupling: Float64Array = new Float64Array(0);
  for (let l = 0; l < first.nlevels; l++) {
    h.fill(0);
    touched.length = 0;
    for (let q = start[l]; q < start[l + 1]; q++) {
      const r = rows[q];
      zLambdaRow(first, model.lambda[0], r, n, zl0);
      for (let a = 0; a < k0; a++) for (let b = 0; b < k0; b++) h[a + b * k0] += zl0[a] * zl0[b];
      for (let t = 1; t < terms.length; t++) {
        const term = terms[t];
        const base = system.levelRows[t][term.codes[r]];
        zLambdaRow(term, model.lambda[t], r, n, zl);
        for (let a = 0; a < term.k; a++) {
          const row = base + a;
          if (slot[row] < 0) {
            slot[row] = touched.length;
            touched.push(row);
            if (coupling.length < touched.length * k0) coupling = grow(coupling, touched.length * k0);
            coupling.fill(0, slot[row] * k0, (slot[row] + 1) * k0);
          }
          for (let b = 0; b < k0; b++) coupling[slot[row] * k0 + b] += zl0[b] * zl[a];
        }
      }
    }
    for (let a = 0; a < k0; a++) h[a + a * k0] += 1;
    if (!choleskyLower(h, k0)) throw new ModelError('the random-effects system is not positive definite');
    const B = choleskyInverse(h, k0);
    // W_l = H_l^{-1} C_l (k0 per touched row), then B += W_l G22 W_l'
    const W = new Float64Array(touched.length * k0);
    for (let u = 0; u < touched.length; u++)
      for (let a = 0; a < k0; a++) {
        let s = 0;
        for (let b = 0; b < k0; b++) s += B[a + b * k0] * coupling[u * k0 + b];
        W[u * k0 + a] = s;
      }
    for (let u = 0; u < touched.length; u++)
      for (let v = 0; v < touched.length; v++) {
        const guv = g(touched[u], touched[v]);
        if (guv === 0) continue;
        for (let a = 0; a < k0; a++) for (let b = 0; b < k0; b++) B[a + b * k0] += W[u * k0 + a] * guv * W[v * k0 + b];
      }
    blocks[0].push(B);
    for (const row of touched) slot[row] = -1;
  }
  for (let t = 1; t < terms.length; t++) {
    const k = terms[t].k;
    for (const r0 of system.levelRows[t]) {
      const B = new Float64Array(k * k);
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) B[a + b * k] = g(r0 + a, r0 + b);
      blocks[t].push(B);
    }
  }
  return blocks;
}

/** A copy of `values` with room for at least `length` (twice as much, to grow rarely). */
function grow(values: Float64Array, length: number): Float64Array {
  const out = new Float64Array(Math.max(length, 2 * values.length));
  out.set(values);
  return out;
}

/** (z_r' lambda) for one row r of a term: its k values in Z Lambda. */
function zLambdaRow(term: ReTerm, lambda: Float64Array, r: number, n: number, out: Float64Array): void {
  const k = term.k;
  for (let a = 0; a < k; a++) {
    let s = 0;
    for (let c = a; c < k; c++) s += term.z[r + c * n] * lambda[c + a * k];
    out[a] = s;
  }
}

/**
 * One grouping factor's conditional modes, a row per level (the shape of `fit.ranef()`); with
 * condVar, the conditional covariance blocks ride along as `condVar`, one per term on this factor
 * (lme4's "postVar" attribute).
 */
export type RanefGroup = RanefRows & { condVar?: ConditionalVarianceBlock[] };

/** lme4's ranef(model, condVar): `fit.ranef()`, with the conditional variances attached if asked. */
export function ranef(model: LinearMixedModel, options: { condVar?: boolean } = {}): Record<string, RanefGroup> {
  const modes: Record<string, RanefGroup> = model.ranef();
  if (!options.condVar) return modes;
  const variances = conditionalVariances(model);
  for (const [group, rows] of Object.entries(modes)) rows.condVar = variances[group];
  return modes;
}

/**
 * lme4's coef(model): for each grouping factor and level, the fixed effects plus that level's
 * random effects (columns without a random effect are the fixed effect alone).
 */
export function coef(model: LinearMixedModel): Record<string, RanefRows> {
  const fixed = model.fixef();
  const out: Record<string, RanefRows> = {};
  for (const [group, rows] of Object.entries(model.ranef())) {
    const extra = Object.keys(rows[0] ?? {}).filter((name) => name !== 'level' && !(name in fixed));
    out[group] = rows.map((row) => {
      const result = { level: row.level } as RanefRows[number];
      for (const name of extra) result[name] = row[name];
      for (const [name, value] of Object.entries(fixed)) result[name] = value + ((row[name] as number | undefined) ?? 0);
      return result;
    });
  }
  return out;
}

export interface ResidualOptions {
  /** 'response' (y - fitted) or 'pearson' (the same for unweighted linear mixed models) */
  type?: 'response' | 'pearson';
  /** divide by sigma (lme4's scaled = TRUE) */
  scaled?: boolean;
}

/** lme4's residuals(model, type, scaled). */
export function residuals(model: LinearMixedModel | LinearModel, options: ResidualOptions = {}): Float64Array {
  const type = options.type ?? 'response';
  if (type !== 'response' && type !== 'pearson') throw new ModelError(`residual type must be 'response' or 'pearson', not '${String(type)}'`);
  const r = model.residuals();
  return options.scaled ? r.map((v) => v / model.sigma) : r;
}

/** lme4's fitted(model): X beta + Z b. */
export function fitted(model: LinearMixedModel | LinearModel): Float64Array {
  return model.fitted();
}
