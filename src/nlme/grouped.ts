/**
 * The profiled criterion of an nlme fit with at most one grouping level, from each group's
 * cross-products of the whitened [Z X y]. With a single grouping factor Z'Z is block-diagonal
 * over groups, so the blocked system's factor reduces to a q x q Cholesky per group and one
 * (p+1) x (p+1) Schur complement; the whitened cross-products depend on the residual
 * parameters only, so a change of theta costs O(groups q^2 (p+1)) and a change of the structure's
 * parameters one pass over the data, instead of building a BlockedSystem per evaluation. Where
 * Lambda^-1 is a fixed combination of row pairs (AR(1), varIdent; see PrecisionBasis) even that
 * pass is done once: a change of u combines per-group cross-products made at construction.
 */
import { choleskyInverse } from '../linalg/dense';
import type { Evaluation } from '../lmm/blocked';
import type { ReTerm } from '../lmm/reterm';
import type { ResidualStructure } from './residual';

export class GroupedCriterion {
  /** q random effects per group, then p + 1 columns [X y] */
  private readonly q: number;
  private readonly d: number;
  /** the n x d matrix [Z X y], column-major */
  private readonly data: Float64Array;
  /** rows of each group */
  private readonly groups: Int32Array[];
  /** per group, the lower triangle of its d x d whitened cross-product (column-major) */
  private readonly products: Float64Array;
  /** per basis matrix of Lambda^-1, each group's cross-product under it (as `products`) */
  private readonly basisProducts?: Float64Array[];
  private readonly basisCoefficients?: (u: ArrayLike<number>) => number[];
  private u: number[] | undefined;
  private logdet = NaN;
  private readonly lambda: Float64Array;
  private readonly a: Float64Array;
  private readonly b: Float64Array;
  private readonly tail: Float64Array;

  /** `terms` share one grouping factor (or there are none, gls: one group of all rows). */
  constructor(
    private readonly terms: ReTerm[],
    X: Float64Array,
    y: Float64Array,
    private readonly p: number,
    private readonly residual: ResidualStructure,
  ) {
    const n = y.length;
    this.q = terms.reduce((a, t) => a + t.k, 0);
    this.d = this.q + p + 1;
    const data = new Float64Array(n * this.d);
    let at = 0;
    for (const t of terms) {
      data.set(t.z.subarray(0, n * t.k), at * n);
      at += t.k;
    }
    data.set(X.subarray(0, n * p), at * n);
    data.set(y, (at + p) * n);
    this.data = data;
    this.groups = terms.length ? groupRows(terms[0].codes, terms[0].nlevels) : [Int32Array.from({ length: n }, (_, i) => i)];
    this.products = new Float64Array(this.groups.length * this.d * this.d);
    const basis = residual.precisionBasis();
    if (basis) {
      const groupOf = new Int32Array(n);
      this.groups.forEach((rows, g) => rows.forEach((r) => (groupOf[r] = g)));
      this.basisProducts = basis.pairs.map(({ left, right }) => this.pairProducts(left, right, groupOf));
      this.basisCoefficients = basis.coefficients;
    }
    this.lambda = new Float64Array(this.q * this.q);
    this.a = new Float64Array(this.q * this.q);
    this.b = new Float64Array(this.q * (p + 1));
    this.tail = new Float64Array((p + 1) * (p + 1));
  }

  /** Whether a model's terms allow it: none, or all on one grouping factor. */
  static applies(terms: ReTerm[]): boolean {
    return terms.every((t) => t.group === terms[0].group);
  }

  /** Sets u and returns log|Lambda|; NaN where it is not positive definite. */
  private setResidual(u: ArrayLike<number>): number {
    if (this.u && this.u.every((v, i) => v === u[i])) return this.logdet;
    this.u = Array.from(u);
    this.logdet = this.residual.setParameters(u);
    if (!Number.isFinite(this.logdet)) return this.logdet;
    const { d, groups, products } = this;
    if (this.basisProducts) {
      const c = this.basisCoefficients!(u);
      products.fill(0);
      this.basisProducts.forEach((b, k) => {
        for (let i = 0; i < b.length; i++) products[i] += c[k] * b[i];
      });
      return this.logdet;
    }
    const w = this.residual.whiten({ data: this.data, ncol: d });
    const n = w.length / d;
    products.fill(0);
    groups.forEach((rows, g) => {
      const o = g * d * d;
      for (let j = 0; j < d; j++) {
        const cj = j * n;
        for (let i = j; i < d; i++) {
          const ci = i * n;
          let s = 0;
          for (const r of rows) s += w[ci + r] * w[cj + r];
          products[o + i + j * d] = s;
        }
      }
    });
    return this.logdet;
  }

  /** Per group, the lower triangle of sum over pairs of a_i b_j' (+ a_j b_i' off the diagonal), a, b rows of the data. */
  private pairProducts(left: Int32Array, right: Int32Array, groupOf: Int32Array): Float64Array {
    const { d, data } = this;
    const n = data.length / d;
    const out = new Float64Array(this.groups.length * d * d);
    for (let t = 0; t < left.length; t++) {
      const a = left[t];
      const b = right[t];
      const o = groupOf[a] * d * d;
      for (let j = 0; j < d; j++)
        for (let i = j; i < d; i++) {
          const x = data[a + i * n] * data[b + j * n];
          out[o + i + j * d] += a === b ? x : x + data[b + i * n] * data[a + j * n];
        }
    }
    return out;
  }

  /** The blocked system's evaluation at (theta, u) and log|Lambda|; null where not positive definite. */
  evaluate(theta: ArrayLike<number>, u: ArrayLike<number>): { e: Evaluation; logdet: number } | null {
    const logdet = this.setResidual(u);
    if (!Number.isFinite(logdet)) return null;
    const e = this.factor(theta);
    return e && { e, logdet };
  }

  /**
   * At (theta, u): the fixed effects, the spherical random effects per term (level-major, as
   * BlockedSystem.solve gives them) and (X'V^-1 X)^-1 / sigma^2; null where not positive definite.
   */
  solve(theta: ArrayLike<number>, u: ArrayLike<number>): { beta: Float64Array; u: Float64Array[]; unscaledVcov: Float64Array } | null {
    if (!Number.isFinite(this.setResidual(u))) return null;
    const { q, p } = this;
    const m = p + 1;
    const G = this.groups.length;
    const factors = new Float64Array(G * q * q);
    const reduced = new Float64Array(G * q * m);
    if (!this.factor(theta, factors, reduced)) return null;
    const { tail } = this;
    // L_X' beta = l_y, the tail factor's last row
    const beta = new Float64Array(p);
    for (let i = p - 1; i >= 0; i--) {
      let s = tail[p + i * m];
      for (let k = i + 1; k < p; k++) s -= tail[k + i * m] * beta[k];
      beta[i] = s / tail[i + i * m];
    }
    const L = new Float64Array(p * p);
    for (let j = 0; j < p; j++) for (let i = j; i < p; i++) L[i + j * p] = tail[i + j * m];
    // per group: L_g' u_g = c_y - C_X beta
    const spherical = this.terms.map((t) => new Float64Array(t.nlevels * t.k));
    const v = new Float64Array(q);
    for (let g = 0; g < G; g++) {
      const a = factors.subarray(g * q * q);
      const c = reduced.subarray(g * q * m);
      for (let i = 0; i < q; i++) {
        let s = c[i + p * q];
        for (let j = 0; j < p; j++) s -= c[i + j * q] * beta[j];
        v[i] = s;
      }
      for (let i = q - 1; i >= 0; i--) {
        let s = v[i];
        for (let k = i + 1; k < q; k++) s -= a[k + i * q] * v[k];
        v[i] = s / a[i + i * q];
      }
      let off = 0;
      this.terms.forEach((t, ti) => {
        for (let j = 0; j < t.k; j++) spherical[ti][g * t.k + j] = v[off + j];
        off += t.k;
      });
    }
    return { beta, u: spherical, unscaledVcov: choleskyInverse(L, p) };
  }

  /**
   * Factors the system at theta (the residual parameters set): each group's L_g and
   * C_g = L_g^-1 lambda' Z'[X y] (kept in `factors`, `reduced` when given), the tail's factor in `tail`.
   */
  private factor(theta: ArrayLike<number>, factors?: Float64Array, reduced?: Float64Array): Evaluation | null {
    const { q, d, p, lambda, tail, products } = this;
    const m = p + 1;
    // block-diagonal lambda of the terms, lower triangle from theta column by column
    lambda.fill(0);
    let off = 0;
    let t = 0;
    for (const term of this.terms) {
      for (let j = 0; j < term.k; j++) for (let i = j; i < term.k; i++) lambda[off + i + (off + j) * q] = theta[t++];
      off += term.k;
    }
    tail.fill(0);
    let logdetZ = 0;
    for (let g = 0; g < this.groups.length; g++) {
      const o = g * d * d;
      const a = factors ? factors.subarray(g * q * q, (g + 1) * q * q) : this.a;
      const b = reduced ? reduced.subarray(g * q * m, (g + 1) * q * m) : this.b;
      // a = lambda' Z'Z lambda + I (lower), b = lambda' Z'[X y]
      for (let j = 0; j < q; j++)
        for (let i = j; i < q; i++) {
          let s = i === j ? 1 : 0;
          for (let k = i; k < q; k++) for (let l = j; l < q; l++) s += lambda[k + i * q] * product(products, o, d, k, l) * lambda[l + j * q];
          a[i + j * q] = s;
        }
      for (let j = 0; j < m; j++)
        for (let i = 0; i < q; i++) {
          let s = 0;
          for (let k = i; k < q; k++) s += lambda[k + i * q] * products[o + q + j + k * d];
          b[i + j * q] = s;
        }
      if (!smallCholesky(a, q)) return null;
      for (let i = 0; i < q; i++) logdetZ += 2 * Math.log(a[i + i * q]);
      // b <- L^-1 b; tail += [X y]'[X y] - b'b
      for (let j = 0; j < m; j++)
        for (let i = 0; i < q; i++) {
          let s = b[i + j * q];
          for (let k = 0; k < i; k++) s -= a[i + k * q] * b[k + j * q];
          b[i + j * q] = s / a[i + i * q];
        }
      for (let j = 0; j < m; j++)
        for (let i = j; i < m; i++) {
          let s = products[o + q + i + (q + j) * d];
          for (let k = 0; k < q; k++) s -= b[k + i * q] * b[k + j * q];
          tail[i + j * m] += s;
        }
    }
    if (!smallCholesky(tail, m)) return null;
    let logdetX = 0;
    for (let i = 0; i < p; i++) logdetX += 2 * Math.log(tail[i + i * m]);
    const r = tail[p + p * m];
    return { logdetZ, logdetX, pwrss: r * r };
  }
}

/** In-place lower Cholesky factor of a small n x n matrix (lower triangle read); false if not positive definite. */
function smallCholesky(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let djj = a[j + j * n];
    for (let k = 0; k < j; k++) djj -= a[j + k * n] * a[j + k * n];
    if (!(djj > 0)) return false;
    const ljj = Math.sqrt(djj);
    a[j + j * n] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i + j * n];
      for (let k = 0; k < j; k++) s -= a[i + k * n] * a[j + k * n];
      a[i + j * n] = s / ljj;
    }
  }
  return true;
}

/** element (i, j) of a group's symmetric product, stored as its lower triangle */
function product(products: Float64Array, o: number, d: number, i: number, j: number): number {
  return i >= j ? products[o + i + j * d] : products[o + j + i * d];
}

function groupRows(codes: Int32Array, nlevels: number): Int32Array[] {
  const counts = new Int32Array(nlevels);
  for (const c of codes) counts[c]++;
  const out = Array.from(counts, (c) => new Int32Array(c));
  counts.fill(0);
  codes.forEach((c, r) => (out[c][counts[c]++] = r));
  return out;
}
