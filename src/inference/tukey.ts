/**
 * The studentized range distribution (R's ptukey / qtukey), for Tukey's multiple comparisons.
 * The method is Copenhaver & Holland (1988, J. Statist. Comput. Simul. 30, 1-15), the one R
 * implements: the range of cc normal means is integrated by Gauss-Legendre quadrature over
 * subintervals (wRangeProbability), and the studentized range by Gauss-Legendre quadrature of
 * that probability against the density of s, the scaled chi distribution on df degrees of freedom,
 * over unit-length intervals until their contribution vanishes.
 */
import { logGamma } from '../stats/distributions';

/** Gauss-Legendre nodes and weights of order n on [-1, 1] (Newton's method on P_n). */
function gaussLegendre(n: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      // P_n(x) by the three-term recurrence, and P_n'(x) from P_n and P_{n-1}
      let p0 = 1;
      let p1 = x;
      for (let k = 2; k <= n; k++) [p0, p1] = [p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k];
      derivative = (n * (x * p1 - p0)) / (x * x - 1);
      const step = p1 / derivative;
      x -= step;
      if (Math.abs(step) < 1e-16) break;
    }
    nodes[i] = x;
    weights[i] = 2 / ((1 - x * x) * derivative * derivative);
  }
  return { nodes, weights };
}

/**
 * Phi(x) to an absolute accuracy of about 1e-16, all the quadrature needs (it takes differences
 * of Phi, as R's algorithm does): erf(z) = 2/sqrt(pi) exp(-z^2) sum_n (2z^2)^n z / (2n+1)!!, a
 * series of positive terms, so without cancellation; beyond |x| = 8.5 Phi is 0 or 1 to that accuracy.
 */
function normalCdf(x: number): number {
  if (x <= -8.5) return 0;
  if (x >= 8.5) return 1;
  const z = Math.abs(x) * Math.SQRT1_2;
  const z2 = 2 * z * z;
  let term = z;
  let sum = z;
  for (let n = 1; term > 1e-17 * sum; n++) {
    term *= z2 / (2 * n + 1);
    sum += term;
  }
  const erf = (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * sum;
  return x >= 0 ? 0.5 + 0.5 * erf : 0.5 - 0.5 * erf;
}

const RANGE_RULE = gaussLegendre(12);
const CHI_RULE = gaussLegendre(16);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * P(range of cc standard normals / 1 < w), raised to rr independent ranges: the probability
 * integral of Hartley's form, integrated from w/2 upwards on 2 or 3 subintervals up to 8.
 */
function wRangeProbability(w: number, rr: number, cc: number): number {
  const half = w * 0.5;
  if (half >= 8) return 1;
  // the part with every mean within w/2 of zero: (2 Phi(w/2) - 1)^cc, negligible below exp(-50 / cc)
  let pr = 2 * normalCdf(half) - 1;
  pr = pr >= Math.exp(-50 / cc) ? pr ** cc : 0;
  const intervals = w > 3 ? 2 : 3;
  const width = (8 - half) / intervals;
  const cc1 = cc - 1;
  let lower = half;
  let integral = 0;
  for (let k = 0; k < intervals; k++, lower += width) {
    const mid = lower + width / 2;
    let sum = 0;
    for (let j = 0; j < RANGE_RULE.nodes.length; j++) {
      const a = mid + (width / 2) * RANGE_RULE.nodes[j];
      if (a * a > 60) continue;
      // the largest mean at a, the others within (a - w, a)
      const inside = normalCdf(a) - normalCdf(a - w);
      if (inside >= Math.exp(-30 / cc1)) sum += RANGE_RULE.weights[j] * Math.exp(-0.5 * a * a) * inside ** cc1;
    }
    integral += sum * width * cc * INV_SQRT_2PI;
  }
  pr += integral;
  if (pr <= Math.exp(-30 / rr)) return 0;
  pr **= rr;
  return pr >= 1 ? 1 : pr;
}

/**
 * P(Q < q) for the studentized range Q of `nmeans` means on `df` degrees of freedom (`nranges`
 * independent ranges, 1 for Tukey's test): R's ptukey(q, nmeans, df, nranges).
 */
export function ptukey(q: number, nmeans: number, df: number, nranges = 1): number {
  if (Number.isNaN(q) || Number.isNaN(df) || nmeans < 2 || df < 2 || nranges < 1) return NaN;
  if (q <= 0) return 0;
  if (!Number.isFinite(q)) return 1;
  if (df > 25000) return wRangeProbability(q, nranges, nmeans);
  // s = sqrt(chi2_df / df) enters through x = 2 s^2, whose density is
  // df^(df/2) 2^-df / Gamma(df/2) x^(df/2 - 1) exp(-df x / 4); the integral over x runs on
  // intervals of width 2 * step, shorter for large df where the density is narrow
  const step = df <= 100 ? 1 : df <= 800 ? 0.5 : df <= 5000 ? 0.25 : 0.125;
  const logNorm = (df / 2) * Math.log(df) - df * Math.log(2) - logGamma(df / 2) + Math.log(step);
  let total = 0;
  for (let i = 1; i <= 50; i++) {
    const centre = (2 * i - 1) * step;
    let sum = 0;
    for (let j = 0; j < CHI_RULE.nodes.length; j++) {
      const x = centre + step * CHI_RULE.nodes[j];
      const logDensity = logNorm + (df / 2 - 1) * Math.log(x) - (x * df) / 4;
      if (logDensity < -30) continue;
      sum += wRangeProbability(q * Math.sqrt(x / 2), nranges, nmeans) * CHI_RULE.weights[j] * Math.exp(logDensity);
    }
    if (i * step >= 1 && sum <= 1e-14) break;
    total += sum;
  }
  return Math.min(total, 1);
}

/** The upper tail P(Q > q). */
export function ptukeyUpper(q: number, nmeans: number, df: number, nranges = 1): number {
  return 1 - ptukey(q, nmeans, df, nranges);
}

/** R's qtukey(p, nmeans, df): the p quantile of the studentized range, by bracketing and bisection-secant steps. */
export function qtukey(p: number, nmeans: number, df: number, nranges = 1): number {
  if (!(p > 0 && p < 1) || nmeans < 2 || df < 2) return p === 0 ? 0 : p === 1 ? Infinity : NaN;
  const f = (q: number) => ptukey(q, nmeans, df, nranges) - p;
  let lo = 0;
  let hi = 1;
  while (f(hi) < 0) {
    lo = hi;
    hi *= 2;
  }
  let flo = f(lo);
  let fhi = f(hi);
  for (let iteration = 0; iteration < 200 && hi - lo > 1e-10 * hi; iteration++) {
    // a secant step, kept inside the bracket's middle half so that the bracket always shrinks
    const secant = lo - (flo * (hi - lo)) / (fhi - flo);
    const mid = Math.min(Math.max(secant, lo + (hi - lo) / 4), hi - (hi - lo) / 4);
    const fm = f(mid);
    if (fm === 0) return mid;
    if (fm < 0) [lo, flo] = [mid, fm];
    else [hi, fhi] = [mid, fm];
  }
  return (lo + hi) / 2;
}
