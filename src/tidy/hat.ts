/**
 * Leverages: the diagonal of the hat matrix H = A M⁻¹ A' of the penalized least-squares problem,
 * A = [Z Λ, X] and M = A'A + diag(I_q, 0_p), which maps y to the fitted values X β + Z b (lme4's
 * hatvalues.merMod; with no random effects, R's hatvalues.lm). M is factorized densely, so this is
 * for models with up to a few thousand random effects (MAX_DENSE_SIZE).
 */
import { choleskyLower } from '../linalg/dense';
import type { LinearModel } from '../lmm/lm';
import type { LinearMixedModel } from '../lmm/model';
import { lambdasOf } from '../lmm/reterm';

/** Largest q + p whose (q + p)² system is factorized (72 MB), and largest n (q + p)² of the solves. */
const MAX_DENSE_SIZE = 3000;
const MAX_SOLVE_WORK = 4e9;

/** One row of A: positions and values of its nonzeros, ascending. */
interface SparseRow {
  index: Int32Array;
  value: Float64Array;
}

/** The rows of A; their nonzeros come out ascending, the terms' blocks and then X being in that order. */
function rowsOfA(model: LinearMixedModel | LinearModel): SparseRow[] {
  const { n, p } = model;
  const X = model.frame.X;
  const terms = 'terms' in model ? model.terms : [];
  const lams = 'terms' in model ? lambdasOf(model.terms, model.theta) : [];
  const offsets: number[] = [];
  let q = 0;
  for (const term of terms) {
    offsets.push(q);
    q += term.nlevels * term.k;
  }
  const width = terms.reduce((s, t) => s + t.k, 0) + p;
  const rows: SparseRow[] = [];
  for (let i = 0; i < n; i++) {
    const index = new Int32Array(width);
    const value = new Float64Array(width);
    let m = 0;
    terms.forEach((term, t) => {
      const k = term.k;
      const base = offsets[t] + term.codes[i] * k;
      // row i of Z_t Λ_t: z_i' Λ
      for (let a = 0; a < k; a++) {
        let s = 0;
        for (let b = a; b < k; b++) s += term.z[i + b * n] * lams[t][b + a * k];
        index[m] = base + a;
        value[m++] = s;
      }
    });
    for (let j = 0; j < p; j++) {
      index[m] = q + j;
      value[m++] = X[i + j * n];
    }
    rows.push({ index, value });
  }
  return rows;
}

/** The leverages of every observation used, or undefined when the model is too large for the dense system. */
export function hatValues(model: LinearMixedModel | LinearModel): Float64Array | undefined {
  // H depends on the column spaces only: the same for a fit on mapped columns (see scaling.ts)
  if ('rescaling' in model && model.rescaling) return hatValues(model.rescaling.fit);
  const { n, p } = model;
  const q = 'terms' in model ? model.terms.reduce((s, t) => s + t.nlevels * t.k, 0) : 0;
  const size = q + p;
  if (size > MAX_DENSE_SIZE || n * size * size > MAX_SOLVE_WORK) return undefined;
  const rows = rowsOfA(model);
  const M = new Float64Array(size * size);
  for (let j = 0; j < q; j++) M[j + j * size] = 1;
  for (const { index, value } of rows) for (let a = 0; a < index.length; a++) for (let b = 0; b <= a; b++) M[index[a] + index[b] * size] += value[a] * value[b];
  if (!choleskyLower(M, size)) return undefined;
  const h = new Float64Array(n);
  const w = new Float64Array(size);
  rows.forEach(({ index, value }, i) => {
    // forward solve L w = a_i from a_i's first nonzero on: h_i = |w|²
    const first = index[0];
    w.fill(0, first);
    for (let r = 0; r < index.length; r++) w[index[r]] = value[r];
    let sum = 0;
    for (let c = first; c < size; c++) {
      const wc = (w[c] /= M[c + c * size]);
      sum += wc * wc;
      if (wc !== 0) for (let r = c + 1; r < size; r++) w[r] -= M[r + c * size] * wc;
    }
    h[i] = sum;
  });
  return h;
}
