/**
 * nlme's residual correlation structures within groups: AR(1), ARMA(p, q) and compound symmetry,
 * with nlme's unconstrained parametrisations (Fisher's z of phi, the ARMA partial-autocorrelation
 * transform of Jones 1980 as nlme's ARMA_untransPar writes it, a logit of rho above -1/(n - 1)).
 */
import { DataError, ModelError } from '../errors';
import type { Factor, Table } from '../frame/types';
import { choleskyLower, solveLower } from '../linalg/dense';
import { qrCoef, qrDecompose } from '../linalg/qr';
import { evaluateForm, parseStructureForm, type StructureForm } from './form';

export type CorStructKind = 'corAR1' | 'corARMA' | 'corCompSymm' | 'corCAR1' | 'corSymm';

/** A correlation structure as written, not yet bound to data: `corAR1('~ 1 | Mare')`. */
export class CorStruct {
  readonly form: StructureForm;
  constructor(
    readonly kind: CorStructKind,
    form: string,
    readonly p = 0,
    readonly q = 0,
  ) {
    this.form = parseStructureForm(form);
    if (kind === 'corCompSymm' && this.form.covariate) throw new ModelError(`corCompSymm takes no covariate: write corCompSymm('~ 1 | group'), not '${form}'`);
    if (kind === 'corARMA' && (!Number.isInteger(p) || !Number.isInteger(q) || p < 0 || q < 0 || p + q === 0))
      throw new ModelError(`corARMA needs non-negative integer orders p and q, not both 0 (got p = ${p}, q = ${q})`);
  }

  /**
   * Binds to the rows a model uses. Without `| group` in its formula the structure's groups are
   * `defaultGroup` (lme: the innermost random-effects grouping, labelled as nlme prints it), or all rows (gls). Rows of a group
   * are taken in `order` (nlme sorts by groups, keeping the data's order within them).
   */
  bind(table: Table, rows: Int32Array, order: Int32Array, defaultGroup?: { factor: Factor; label: string }): BoundCorStruct {
    const what = `${this.kind}(${this.form.text})`;
    const data = evaluateForm(this.form, table, rows, what);
    const group = data.group ?? defaultGroup?.factor;
    const members = groupRows(order, group);
    // the lag between two rows: covariate difference (integers but for corCAR1) or the distance in position
    const integral = this.kind !== 'corCompSymm' && this.kind !== 'corCAR1';
    const times = members.map((g) => {
      const t = new Float64Array(g.length);
      for (let position = 0; position < g.length; position++) {
        if (!data.covariate) {
          t[position] = position;
          continue;
        }
        const value = data.covariate[g[position]];
        if (integral && !Number.isInteger(value))
          throw new DataError(`${what}: the covariate must have integer values; it is ${value} at row ${rows[g[position]] + 1}`);
        if (this.kind === 'corSymm' && value < 1)
          throw new DataError(`${what}: the covariate is a position, 1 or more; it is ${value} at row ${rows[g[position]] + 1}`);
        t[position] = value;
      }
      return t;
    });
    if (this.kind !== 'corCompSymm' && data.covariate)
      times.forEach((t, g) => {
        const sorted = t.slice().sort();
        if (sorted.some((v, i) => i > 0 && v === sorted[i - 1]))
          throw new DataError(`${what}: the covariate must have unique values within groups; group ${g + 1} repeats one`);
      });
    // nlme prints the groups it took from the random effects: ~1 | Block/Variety
    const formula = data.group || !defaultGroup ? this.form.text : `${this.form.text} | ${defaultGroup.label}`;
    if (this.kind === 'corCompSymm') {
      const longest = Math.max(...members.map((g) => g.length));
      if (longest < 2) throw new ModelError(`${what}: every group has a single observation, so there is no correlation to estimate`);
      return new CompoundSymmetry(formula, members, -1 / (longest - 1));
    }
    if (this.kind === 'corCAR1') return new ContinuousAr1(formula, members, times);
    if (this.kind === 'corSymm') {
      // positions from 0: the covariate's value less one, or the place within the group
      const positions = times.map((t) => Int32Array.from(t, (v) => (data.covariate ? v - 1 : v)));
      const size = 1 + positions.reduce((a, t) => t.reduce((b, v) => Math.max(b, v), a), 0);
      if (size < 2) throw new ModelError(`${what}: every group has a single observation, so there is no correlation to estimate`);
      return new GeneralCorrelation(formula, members, positions, size);
    }
    let maxLag = 0;
    for (const t of times) maxLag = Math.max(maxLag, t.reduce((a, v) => Math.max(a, v), -Infinity) - t.reduce((a, v) => Math.min(a, v), Infinity));
    return new Arma(formula, members, times, this.kind === 'corAR1' ? 1 : this.p, this.kind === 'corAR1' ? 0 : this.q, maxLag, this.kind === 'corAR1');
  }
}

/** AR(1) within groups, nlme's corAR1(form = ~ order | group). */
export const corAR1 = (form = '~ 1'): CorStruct => new CorStruct('corAR1', form);
/** ARMA(p, q) within groups, nlme's corARMA(form = ~ order | group, p, q). */
export const corARMA = (form = '~ 1', order: { p?: number; q?: number } = {}): CorStruct => new CorStruct('corARMA', form, order.p ?? 0, order.q ?? 0);
/** Compound symmetry within groups, nlme's corCompSymm(form = ~ 1 | group). */
export const corCompSymm = (form = '~ 1'): CorStruct => new CorStruct('corCompSymm', form);
/** Continuous-time AR(1), phi^|t_i - t_j|, nlme's corCAR1(form = ~ time | group). */
export const corCAR1 = (form = '~ 1'): CorStruct => new CorStruct('corCAR1', form);
/** A general correlation matrix over the positions within groups, nlme's corSymm(form = ~ 1 | group). */
export const corSymm = (form = '~ 1'): CorStruct => new CorStruct('corSymm', form);

/** Row indices of each group, in `order`; a single group without a grouping factor. */
function groupRows(order: Int32Array, group?: Factor): Int32Array[] {
  if (!group) return [Int32Array.from(order)];
  const lists: number[][] = group.levels.map(() => []);
  for (const r of order) lists[group.codes[r]].push(r);
  return lists.filter((l) => l.length).map((l) => Int32Array.from(l));
}

export interface BoundCorStruct {
  readonly kind: CorStructKind;
  /** nlme's "Correlation Structure:" name: AR(1), ARMA(1,1), Compound symmetry */
  readonly description: string;
  readonly formula: string;
  readonly npar: number;
  readonly start: number[];
  /** parameter names as nlme prints them: Phi, Phi1, Theta1, Rho */
  readonly names: string[];
  /** rows of each group, in the order its correlation matrix is laid out */
  readonly groups: Int32Array[];
  /** the parameters in nlme's constrained form */
  constrained(u: ArrayLike<number>): number[];
  /** Sets the unconstrained parameters u; returns the sum of log|C_g| (NaN if a C_g is not positive definite). */
  prepare(u: ArrayLike<number>): number;
  /**
   * After prepare: v (group g's values, in its order) premultiplied in place by nlme's inverse
   * root of C_g, a W with W'W = C_g^-1 (the root matters to the normalized residuals only).
   */
  whitenGroup(g: number, v: Float64Array): void;
  /** C^-1 as a fixed combination of row pairs (see PrecisionBasis), where the structure has one */
  precisionBasis?(): PrecisionBasis | undefined;
}

/**
 * An inverse correlation (or variance) matrix written as sum_k c_k(u) E_k, each E_k a fixed sum of
 * e_i e_i' over `left[t] === right[t]` and e_i e_j' + e_j e_i' over the other pairs: cross-products
 * under it are then combinations of cross-products computed once.
 */
export interface PrecisionBasis {
  pairs: { left: Int32Array; right: Int32Array }[];
  coefficients(u: ArrayLike<number>): number[];
}

/** Structures given by their correlation matrices, whitened by the inverse Cholesky factor (nlme's corFactor). */
abstract class CholeskyWhitened {
  private factors?: Float64Array[];

  constructor(readonly groups: Int32Array[]) {}

  /** correlation matrix of group g at u (n_g x n_g, column-major) */
  protected abstract correlation(u: ArrayLike<number>, g: number, out: Float64Array): void;

  prepare(u: ArrayLike<number>): number {
    let logdet = 0;
    const factors = (this.factors ??= this.groups.map((g) => new Float64Array(g.length * g.length)));
    for (let g = 0; g < this.groups.length; g++) {
      const m = this.groups[g].length;
      const L = factors[g];
      this.correlation(u, g, L);
      if (!choleskyLower(L, m)) return NaN;
      for (let i = 0; i < m; i++) logdet += 2 * Math.log(L[i + i * m]);
    }
    return logdet;
  }

  whitenGroup(g: number, v: Float64Array): void {
    solveLower(this.factors![g], v.length, v);
  }
}

class Arma extends CholeskyWhitened implements BoundCorStruct {
  readonly kind: CorStructKind;
  readonly description: string;
  readonly npar: number;
  readonly start: number[];
  readonly names: string[];
  private cachedU: number[] = [];
  private crr: Float64Array = new Float64Array(0);
  /** AR(1) with consecutive times in every group: nlme's closed-form factor (AR1_fact) */
  private readonly consecutiveAr1: boolean;
  private phi = 0;

  constructor(
    readonly formula: string,
    groups: Int32Array[],
    private readonly times: Float64Array[],
    private readonly p: number,
    private readonly q: number,
    private readonly maxLag: number,
    ar1: boolean,
  ) {
    super(groups);
    this.kind = ar1 ? 'corAR1' : 'corARMA';
    this.description = ar1 ? 'AR(1)' : `ARMA(${p},${q})`;
    this.npar = p + q;
    this.start = new Array(this.npar).fill(0);
    this.names = ar1 ? ['Phi'] : [...range(p).map((i) => `Phi${i + 1}`), ...range(q).map((i) => `Theta${i + 1}`)];
    this.consecutiveAr1 = ar1 && times.every((t) => t.every((v, i) => i === 0 || v - t[i - 1] === 1));
  }

  constrained(u: ArrayLike<number>): number[] {
    const slice = (from: number, to: number): number[] => Array.prototype.slice.call(u, from, to);
    return [...partialToCoefficients(slice(0, this.p), -1), ...partialToCoefficients(slice(this.p, this.p + this.q), 1)];
  }

  override prepare(u: ArrayLike<number>): number {
    if (!this.consecutiveAr1) return super.prepare(u);
    this.phi = this.constrained(u)[0];
    const log1m = Math.log(1 - this.phi * this.phi);
    return this.groups.reduce((a, g) => a + (g.length - 1) * log1m, 0);
  }

  /** AR(1): w_0 = v_0, w_i = (v_i - phi v_{i-1}) / sqrt(1 - phi^2) */
  override whitenGroup(g: number, v: Float64Array): void {
    if (!this.consecutiveAr1) return super.whitenGroup(g, v);
    const phi = this.phi;
    const scale = 1 / Math.sqrt(1 - phi * phi);
    for (let i = v.length - 1; i > 0; i--) v[i] = (v[i] - phi * v[i - 1]) * scale;
  }

  /**
   * AR(1) at consecutive times: C^-1 = (E_0 + phi^2 E_1 - phi E_2) / (1 - phi^2), E_0 the
   * identity, E_1 over the interior rows of each group, E_2 over neighbours.
   */
  precisionBasis(): PrecisionBasis | undefined {
    if (!this.consecutiveAr1) return undefined;
    const total = this.groups.reduce((a, g) => a + g.length, 0);
    const all = new Int32Array(total);
    const interior = new Int32Array(total);
    const left = new Int32Array(total);
    const right = new Int32Array(total);
    let nAll = 0;
    let nInterior = 0;
    let nPairs = 0;
    for (const g of this.groups)
      for (let i = 0; i < g.length; i++) {
        all[nAll++] = g[i];
        if (i > 0 && i < g.length - 1) interior[nInterior++] = g[i];
        if (i > 0) {
          left[nPairs] = g[i - 1];
          right[nPairs++] = g[i];
        }
      }
    return {
      pairs: [
        { left: all, right: all },
        { left: interior.subarray(0, nInterior), right: interior.subarray(0, nInterior) },
        { left: left.subarray(0, nPairs), right: right.subarray(0, nPairs) },
      ],
      coefficients: (u) => {
        const phi = this.constrained(u)[0];
        const s = 1 / (1 - phi * phi);
        return [s, phi * phi * s, -phi * s];
      },
    };
  }

  protected correlation(u: ArrayLike<number>, g: number, out: Float64Array): void {
    if (this.cachedU.length !== u.length || this.cachedU.some((v, i) => v !== u[i])) {
      const c = this.constrained(u);
      this.crr = armaAutocorrelation(c.slice(0, this.p), c.slice(this.p), this.maxLag);
      this.cachedU = Array.from(u);
    }
    const t = this.times[g];
    const n = t.length;
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) out[i + j * n] = this.crr[Math.abs(t[i] - t[j])];
  }
}

class CompoundSymmetry implements BoundCorStruct {
  readonly kind = 'corCompSymm';
  readonly description = 'Compound symmetry';
  readonly npar = 1;
  readonly names = ['Rho'];
  readonly start: number[];
  private rho = 0;

  /** `lowest` = -1/(n_max - 1), the smallest rho that keeps the largest group's matrix positive definite */
  constructor(
    readonly formula: string,
    readonly groups: Int32Array[],
    private readonly lowest: number,
  ) {
    // rho = 0: u = log((0 - lowest) / (1 - 0))
    this.start = [Math.log(-lowest)];
  }

  constrained(u: ArrayLike<number>): number[] {
    const e = Math.exp(u[0]);
    return [(e + this.lowest) / (e + 1)];
  }

  prepare(u: ArrayLike<number>): number {
    const rho = (this.rho = this.constrained(u)[0]);
    return this.groups.reduce((a, g) => a + Math.log(1 + (g.length - 1) * rho) + (g.length - 1) * Math.log(1 - rho), 0);
  }

  /**
   * nlme's compSymm_fact: the first row of W is the scaled mean, 1/sqrt(n (1 + (n-1) rho)) times
   * the sum; row i >= 1 is a Helmert contrast, (i v_i - sum_{j<i} v_j) / sqrt((1 - rho) i (i + 1)).
   */
  whitenGroup(_g: number, v: Float64Array): void {
    const n = v.length;
    let sum = 0;
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (i > 0) w[i] = (i * v[i] - sum) / Math.sqrt((1 - this.rho) * i * (i + 1));
      sum += v[i];
    }
    w[0] = sum / Math.sqrt(n * (1 + (n - 1) * this.rho));
    v.set(w);
  }
}

/** nlme's corCAR1: phi^|t_i - t_j| for real times, phi = logistic(u) (starting at nlme's 0.2). */
class ContinuousAr1 extends CholeskyWhitened implements BoundCorStruct {
  readonly kind = 'corCAR1';
  readonly description = 'Continuous AR(1)';
  readonly npar = 1;
  readonly names = ['Phi'];
  readonly start = [Math.log(0.2 / 0.8)];

  constructor(
    readonly formula: string,
    groups: Int32Array[],
    private readonly times: Float64Array[],
  ) {
    super(groups);
  }

  constrained(u: ArrayLike<number>): number[] {
    return [1 / (1 + Math.exp(-u[0]))];
  }

  protected correlation(u: ArrayLike<number>, g: number, out: Float64Array): void {
    const phi = this.constrained(u)[0];
    const t = this.times[g];
    const n = t.length;
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) out[i + j * n] = phi ** Math.abs(t[i] - t[j]);
  }
}

/**
 * nlme's corSymm: one M x M correlation matrix over the positions 1..M, each group taking the
 * rows and columns of its positions. nlme's spherical parametrization (Pinheiro & Bates 1996):
 * row i of the matrix's Cholesky factor is a unit vector with angles a_i1..a_i,i-1, each
 * a = pi logistic(u), the u taken row after row.
 */
class GeneralCorrelation extends CholeskyWhitened implements BoundCorStruct {
  readonly kind = 'corSymm';
  readonly description = 'General';
  readonly npar: number;
  readonly names: string[];
  readonly start: number[];
  private cachedU: number[] = [];
  private full: Float64Array;

  constructor(
    readonly formula: string,
    groups: Int32Array[],
    private readonly positions: Int32Array[],
    readonly size: number,
  ) {
    super(groups);
    this.npar = (size * (size - 1)) / 2;
    this.start = new Array(this.npar).fill(0);
    this.names = [];
    for (let i = 1; i <= size; i++) for (let j = i + 1; j <= size; j++) this.names.push(`cor(${i},${j})`);
    this.full = new Float64Array(size * size);
  }

  /** The M x M correlation matrix at u (column-major). */
  matrix(u: ArrayLike<number>): Float64Array {
    const M = this.size;
    const L = new Float64Array(M * M);
    let k = 0;
    for (let i = 0; i < M; i++) {
      let sines = 1;
      for (let j = 0; j < i; j++) {
        const angle = Math.PI / (1 + Math.exp(-u[k++]));
        L[i + j * M] = sines * Math.cos(angle);
        sines *= Math.sin(angle);
      }
      L[i + i * M] = sines;
    }
    const C = new Float64Array(M * M);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < M; j++) {
        let s = 0;
        for (let m = 0; m <= Math.min(i, j); m++) s += L[i + m * M] * L[j + m * M];
        C[i + j * M] = s;
      }
    return C;
  }

  /** the correlations (1,2), (1,3), ..., (2,3), ... as nlme lists them */
  constrained(u: ArrayLike<number>): number[] {
    const C = this.matrix(u);
    const M = this.size;
    const out: number[] = [];
    for (let i = 0; i < M; i++) for (let j = i + 1; j < M; j++) out.push(C[i + j * M]);
    return out;
  }

  protected correlation(u: ArrayLike<number>, g: number, out: Float64Array): void {
    if (this.cachedU.length !== u.length || this.cachedU.some((v, i) => v !== u[i])) {
      this.full = this.matrix(u);
      this.cachedU = Array.from(u);
    }
    const pos = this.positions[g];
    const n = pos.length;
    const M = this.size;
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) out[i + j * n] = this.full[pos[i] + pos[j] * M];
  }
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/**
 * nlme's ARMA_untransPar: each unconstrained value u_i is a partial autocorrelation
 * tanh(u_i / 2), and the Durbin-Levinson recursion turns them into stationary (sign -1, AR) or
 * invertible (sign +1, MA) coefficients.
 */
export function partialToCoefficients(u: number[], sign: number): number[] {
  const pars = u.slice();
  const previous = new Array<number>(u.length);
  for (let i = 0; i < pars.length; i++) {
    pars[i] = Math.tanh(pars[i] / 2);
    previous[i] = pars[i];
    for (let j = 0; j < i; j++) pars[j] = previous[j] + sign * pars[i] * previous[i - j - 1];
    for (let j = 0; j < i; j++) previous[j] = pars[j];
  }
  return pars;
}

/**
 * Autocorrelations at lags 0..maxLag of X_t = sum phi_i X_{t-i} + a_t + sum theta_j a_{t-j}:
 * with psi the MA(infinity) weights, gamma_k - sum phi_i gamma_|k-i| = sum_{j>=k} theta_j psi_{j-k}
 * (theta_0 = 1) solved for k = 0..p, then the recursion (Brockwell & Davis 1991, section 3.3).
 */
export function armaAutocorrelation(phi: number[], theta: number[], maxLag: number): Float64Array {
  const p = phi.length;
  const q = theta.length;
  const th = (j: number) => (j === 0 ? 1 : j <= q ? theta[j - 1] : 0);
  const psi = new Float64Array(q + 1);
  for (let j = 0; j <= q; j++) {
    psi[j] = th(j);
    for (let i = 1; i <= Math.min(p, j); i++) psi[j] += phi[i - 1] * psi[j - i];
  }
  const rhs = (k: number) => {
    let s = 0;
    for (let j = k; j <= q; j++) s += th(j) * psi[j - k];
    return s;
  };
  const lags = Math.max(maxLag, p, q);
  const gamma = new Float64Array(lags + 1);
  // (p + 1) x (p + 1) system in gamma_0..gamma_p
  const A = new Float64Array((p + 1) * (p + 1));
  const b = new Float64Array(p + 1);
  for (let k = 0; k <= p; k++) {
    A[k + k * (p + 1)] += 1;
    for (let i = 1; i <= p; i++) A[k + Math.abs(k - i) * (p + 1)] -= phi[i - 1];
    b[k] = rhs(k);
  }
  gamma.set(qrCoef(qrDecompose(A, p + 1, p + 1), b));
  for (let k = p + 1; k <= lags; k++) {
    let s = rhs(k);
    for (let i = 1; i <= p; i++) s += phi[i - 1] * gamma[k - i];
    gamma[k] = s;
  }
  const out = new Float64Array(maxLag + 1);
  for (let k = 0; k <= maxLag; k++) out[k] = gamma[k] / gamma[0];
  return out;
}
