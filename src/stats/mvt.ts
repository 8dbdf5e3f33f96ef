/**
 * Multivariate t (and normal) probabilities of rectangles, P(a <= T <= b) for T with
 * correlation matrix R and df degrees of freedom (0 for the normal), as mvtnorm's pmvt computes
 * them for emmeans's "mvt" adjustment: Genz & Bretz's (2002) separation of variables. With
 * T = C Y / s (C the Cholesky factor of R, Y standard normal, s = chi_df / sqrt(df)), the
 * probability is an integral over the unit cube of a product of univariate normal
 * probabilities, integrated by a randomized lattice (Richtmyer) rule with the baker's
 * transformation. The random shifts come from a fixed seed, so the value is deterministic;
 * points are added until three standard errors are below `absError`.
 */
import gammainc = require('@stdlib/math-base-special-gammainc');
import { chisqQuantile, normalQuantile, tUpper } from './distributions';
import { RRandom } from './rng';

export interface MvtOptions {
  /** the absolute error to reach (three standard errors of the shifts' means): 5e-5 in up to 3 dimensions, else 5e-4 (mvtnorm's default is 1e-3) */
  absError?: number;
  /** at most this many integrand evaluations */
  maxPoints?: number;
  seed?: number;
}

/**
 * The standard normal CDF for the integrand: erfc by Numerical Recipes' Chebyshev fit (relative
 * error below 1.2e-7, far below the integration's), ten times faster than the incomplete gamma.
 */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x < 0 ? 0.5 * erfc : 1 - 0.5 * erfc;
}

/** z spacing and range of the radius tables */
const RADIUS_STEP = 1 / 32;
const RADIUS_Z = 8;
const radiusTables = new Map<number, Float64Array>();

/**
 * s = sqrt(chi²_df / df) at the u quantile, for the integrand's radius: (chi²/df)^(1/3) is
 * nearly linear in z = qnorm(u) (Wilson-Hilferty), so it is tabulated once per df on a z grid
 * and interpolated by cubic Hermite steps; beyond the grid it is computed.
 */
function radius(u: number, df: number): number {
  const z = normalQuantile(u);
  if (!(Math.abs(z) < RADIUS_Z - 2 * RADIUS_STEP)) return Math.sqrt(chisqQuantile(u, df) / df);
  let table = radiusTables.get(df);
  if (!table) {
    const count = Math.round((2 * RADIUS_Z) / RADIUS_STEP) + 1;
    table = Float64Array.from({ length: count }, (_, i) => Math.cbrt(chisqQuantile(normalCdfExact(-RADIUS_Z + i * RADIUS_STEP), df) / df));
    radiusTables.set(df, table);
  }
  const x = (z + RADIUS_Z) / RADIUS_STEP;
  const i = Math.floor(x);
  const f = x - i;
  // Catmull-Rom through the four nearest nodes
  const [a, b, c, d] = [table[i - 1], table[i], table[i + 1], table[i + 2]];
  const g = b + 0.5 * f * (c - a + f * (2 * a - 5 * b + 4 * c - d + f * (3 * (b - c) + d - a)));
  return g * Math.sqrt(g);
}

/** the standard normal CDF through the incomplete gamma function, exact to rounding in both tails */
function normalCdfExact(x: number): number {
  const tail = 0.5 * gammainc(0.5 * x * x, 0.5, true, true);
  return x < 0 ? tail : 1 - tail;
}

const SHIFTS = 12;
const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109, 113];

/**
 * P(lower <= T <= upper), T multivariate t with correlation `corr` (k x k, column-major) and df
 * (0: normal). A singular `corr` (all pairwise differences of means) is integrated in its rank's
 * dimensions: each constraint bounds the last variable its row of the pivoted Cholesky factor
 * involves (Genz & Bretz's treatment of singular problems).
 */
export function pmvt(
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  corr: ArrayLike<number>,
  df: number,
  options: MvtOptions = {},
): { value: number; error: number } {
  const k = lower.length;
  const cdf = (x: number) => (df > 0 ? 1 - tUpper(x, df) : normalCdfExact(x));
  if (k === 1) return { value: Math.max(0, cdf(upper[0]) - cdf(lower[0])), error: 0 };
  const { A, rank, last } = pivotedCholesky(corr, k);
  // lattice dimensions: the normals but the last, and the radius of the t
  const dims = rank - 1 + (df > 0 ? 1 : 0);
  if (dims > PRIMES.length) throw new RangeError(`pmvt: at most ${PRIMES.length + 1} independent variables`);
  if (dims === 0) return { value: Math.max(0, cdf(Math.min(...Array.from(upper))) - cdf(Math.max(...Array.from(lower)))), error: 0 };
  const z = PRIMES.slice(0, dims).map((p) => Math.sqrt(p) % 1);
  const y = new Float64Array(rank);
  // the constraints bounding each variable
  const bounding = Array.from({ length: rank }, (_, i) => Array.from(last).flatMap((c, j) => (c === i ? [j] : [])));
  const integrand = (w: Float64Array) => {
    const s = df > 0 ? radius(w[dims - 1], df) : 1;
    let f = 1;
    for (let i = 0; i < rank; i++) {
      let lo = -Infinity;
      let hi = Infinity;
      for (const j of bounding[i]) {
        let sum = 0;
        for (let l = 0; l < i; l++) sum += A[j + l * k] * y[l];
        const c = A[j + i * k];
        const from = (lower[j] * s - sum) / c;
        const to = (upper[j] * s - sum) / c;
        lo = Math.max(lo, c > 0 ? from : to);
        hi = Math.min(hi, c > 0 ? to : from);
      }
      if (!(hi > lo)) return 0;
      const plo = normalCdf(lo);
      const phi = normalCdf(hi);
      f *= phi - plo;
      if (!(f > 0)) return 0;
      if (i < rank - 1) y[i] = normalQuantile(Math.min(1 - 1e-16, Math.max(1e-300, plo + w[i] * (phi - plo))));
    }
    return f;
  };
  // low-dimensional integrals converge fast: there the last printed digit of a p-value is kept
  const absError = options.absError ?? (dims <= 3 ? 5e-5 : 5e-4);
  const maxPoints = options.maxPoints ?? 200_000;
  const random = new RRandom(options.seed ?? 17);
  const shifts = Array.from({ length: SHIFTS }, () => Float64Array.from({ length: dims }, () => random.uniform()));
  const sums = new Float64Array(SHIFTS);
  const w = new Float64Array(dims);
  let points = 0;
  let value = 0;
  let error = Infinity;
  for (let n = 0, batch = 256; points < maxPoints; batch *= 2) {
    for (let j = n + 1; j <= n + batch; j++)
      for (let r = 0; r < SHIFTS; r++) {
        for (let d = 0; d < dims; d++) {
          const x = (j * z[d] + shifts[r][d]) % 1;
          w[d] = Math.abs(2 * x - 1);
        }
        sums[r] += integrand(w);
      }
    n += batch;
    points = n * SHIFTS;
    const means = Array.from(sums, (v) => v / n);
    value = means.reduce((a, b) => a + b, 0) / SHIFTS;
    const variance = means.reduce((a, m) => a + (m - value) ** 2, 0) / (SHIFTS * (SHIFTS - 1));
    error = 3 * Math.sqrt(variance);
    if (error <= absError) break;
  }
  return { value: Math.min(1, Math.max(0, value)), error };
}

/**
 * R = A A' by Cholesky with diagonal pivoting, stopped at the rank: A (k x rank, column-major,
 * rows in R's order), and for each row the last column it involves (its pivot column, or for a
 * row dependent on the pivots the last nonzero one).
 */
function pivotedCholesky(R: ArrayLike<number>, k: number): { A: Float64Array; rank: number; last: Int32Array } {
  const A = new Float64Array(k * k);
  const d = Float64Array.from({ length: k }, (_, i) => R[i + i * k]);
  const done = new Uint8Array(k);
  const last = new Int32Array(k).fill(-1);
  const tolerance = 1e-10 * Math.max(...d);
  let rank = 0;
  for (; rank < k; rank++) {
    let pivot = -1;
    for (let i = 0; i < k; i++) if (!done[i] && (pivot < 0 || d[i] > d[pivot])) pivot = i;
    if (pivot < 0 || !(d[pivot] > tolerance)) break;
    done[pivot] = 1;
    const r = Math.sqrt(d[pivot]);
    for (let i = 0; i < k; i++) {
      if (done[i] && i !== pivot) continue;
      let v = R[i + pivot * k];
      for (let m = 0; m < rank; m++) v -= A[i + m * k] * A[pivot + m * k];
      A[i + rank * k] = i === pivot ? r : v / r;
      if (i !== pivot) d[i] -= A[i + rank * k] ** 2;
    }
    last[pivot] = rank;
  }
  for (let i = 0; i < k; i++)
    if (!done[i])
      for (let m = rank - 1; m >= 0; m--)
        if (Math.abs(A[i + m * k]) > 1e-8) {
          last[i] = m;
          break;
        }
  return { A, rank, last };
}
