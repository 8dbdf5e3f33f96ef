/**
 * Tail probabilities and quantiles of the t, F, chi-square (and chi-bar-square) distributions.
 *
 * Tails come straight from the regularized incomplete beta/gamma functions (stdlib's ports of
 * Boost), never as 1 - (1 - p), so small p-values keep full relative precision. Below
 * LOG_SPACE_BELOW the `log*` variants switch to continued fractions evaluated in log space, so
 * -log10 p stays exact far past the double range (t = 1e4 with 10 df, chi-square of 1e5, ...).
 * Degrees of freedom may be non-integer (Satterthwaite) or Infinity (normal / chi-square limit).
 * Invalid arguments (NaN, df <= 0, p outside [0, 1]) give NaN, as R does, so that whole-brain
 * loops are not interrupted by one bad voxel.
 */
import betainc = require('@stdlib/math-base-special-betainc');
import betaln = require('@stdlib/math-base-special-betaln');
import gammainc = require('@stdlib/math-base-special-gammainc');
import gammaln = require('@stdlib/math-base-special-gammaln');
import stdlibTQuantile = require('@stdlib/stats-base-dists-t-quantile');
import stdlibChisqQuantile = require('@stdlib/stats-base-dists-chisquare-quantile');
import { ModelError } from '../errors';

/** Below this, a probability is recomputed in log space (well above the subnormal range). */
const LOG_SPACE_BELOW = 1e-250;
const CF_EPSILON = 1e-16;
const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const CF_TINY = 1e-300;
const CF_MAX_ITERATIONS = 1_000_000;

function isValidDf(df: number): boolean {
  return df > 0; // false for NaN as well; Infinity is allowed
}

/**
 * The point x of a Beta(a, b) distribution given by its odds r = x / (1 - x) = exp(lnOdds), with
 * x, 1 - x and their logs all computed without cancellation or overflow (r may be 1e300 or more).
 */
interface BetaPoint {
  x: number;
  y: number; // 1 - x
  lnX: number;
  lnY: number;
}

function betaPointFromLnOdds(lnOdds: number): BetaPoint {
  // ln(1 + e^r) written so that neither branch overflows
  const lnOnePlusOdds = lnOdds > 0 ? lnOdds + Math.log1p(Math.exp(-lnOdds)) : Math.log1p(Math.exp(lnOdds));
  const lnX = lnOdds - lnOnePlusOdds;
  const lnY = -lnOnePlusOdds;
  return { x: Math.exp(lnX), y: Math.exp(lnY), lnX, lnY };
}

/**
 * Continued fraction of I_x(a, b) (modified Lentz): I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * cf.
 * Converges quickly for x < (a + 1) / (a + b + 2), the only region where I_x(a, b) can be tiny.
 */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const keepAwayFromZero = (v: number) => (Math.abs(v) < CF_TINY ? CF_TINY : v);
  let c = 1;
  let d = 1 / keepAwayFromZero(1 - ((a + b) * x) / (a + 1));
  let h = d;
  for (let m = 1; m <= CF_MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    const even = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 / keepAwayFromZero(1 + even * d);
    c = keepAwayFromZero(1 + even / c);
    h *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 / keepAwayFromZero(1 + odd * d);
    c = keepAwayFromZero(1 + odd / c);
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < CF_EPSILON) return h;
  }
  return NaN;
}

/** ln I_x(a, b) from its continued fraction, with x given through ln x and ln(1 - x). */
function logIncompleteBetaByFraction(p: BetaPoint, a: number, b: number): number {
  return a * p.lnX + b * p.lnY - Math.log(a) - betaln(a, b) + Math.log(betaContinuedFraction(p.x, a, b));
}

/** P(X > x) for X ~ Beta(a, b) from stdlib, passing whichever of x and 1 - x is small. */
function betaUpperDirect(p: BetaPoint, a: number, b: number): number {
  return p.x < p.y ? betainc(p.x, a, b, true, true) : betainc(p.y, b, a, true, false);
}

/** P(X <= x) for X ~ Beta(a, b), the complement of betaUpperDirect computed on its own. */
function betaLowerDirect(p: BetaPoint, a: number, b: number): number {
  return p.x < p.y ? betainc(p.x, a, b, true, false) : betainc(p.y, b, a, true, true);
}

/**
 * ln P(X > x) = ln I_{1-x}(b, a) by the continued fraction, for far tails; it is tiny only where
 * 1 - x lies in the fraction's fast region.
 */
function logBetaUpperByFraction(p: BetaPoint, a: number, b: number): number {
  return logIncompleteBetaByFraction({ x: p.y, y: p.x, lnX: p.lnY, lnY: p.lnX }, b, a);
}

/** P(X > x) for X ~ Beta(a, b); far tails via logs, as 1 - x itself may underflow there. */
function betaUpper(p: BetaPoint, a: number, b: number): number {
  const tail = betaUpperDirect(p, a, b);
  return tail >= LOG_SPACE_BELOW ? tail : Math.exp(logBetaUpperByFraction(p, a, b));
}

/** ln P(X > x) for X ~ Beta(a, b); exact in log space however small, and near 1 too. */
function logBetaUpper(p: BetaPoint, a: number, b: number): number {
  const tail = betaUpperDirect(p, a, b);
  if (tail > 0.5) return Math.log1p(-betaLowerDirect(p, a, b));
  return tail >= LOG_SPACE_BELOW ? Math.log(tail) : logBetaUpperByFraction(p, a, b);
}

/** lgamma(n + 1) - [(n + 1/2) ln n - n + ln sqrt(2 pi)], the error of Stirling's formula (Loader 2000). */
function stirlingError(n: number): number {
  if (n <= 15) return gammaln(n + 1) - (n + 0.5) * Math.log(n) + n - LN_SQRT_2PI;
  const nn = n * n;
  const [s0, s1, s2, s3, s4] = [1 / 12, 1 / 360, 1 / 1260, 1 / 1680, 1 / 1188];
  if (n > 500) return (s0 - s1 / nn) / n;
  if (n > 80) return (s0 - (s1 - s2 / nn) / nn) / n;
  if (n > 35) return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
  return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

/** x ln(x / m) + m - x without cancellation when x is near m (Loader's bd0). */
function deviancePart(x: number, m: number): number {
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    let v = (x - m) / (x + m);
    let sum = (x - m) * v;
    let term = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      term *= v;
      const next = sum + term / (2 * j + 1);
      if (next === sum) return next;
      sum = next;
    }
  }
  return x * Math.log(x / m) + m - x;
}

/** ln(z^a e^-z / Gamma(a + 1)), the Poisson-density form of the incomplete-gamma prefix, exact for large a. */
function logGammaPrefix(z: number, a: number): number {
  return -stirlingError(a) - deviancePart(a, z) - 0.5 * Math.log(2 * Math.PI * a);
}

/** sum_n z^n / ((a+1)...(a+n)): P(a, z) = prefix * series, for z < a + 1. */
function lowerGammaSeries(z: number, a: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 1; n <= CF_MAX_ITERATIONS; n++) {
    term *= z / (a + n);
    sum += term;
    if (term < sum * CF_EPSILON) return sum;
  }
  return NaN;
}

/** Continued fraction (modified Lentz) with Q(a, z) = a * prefix * cf, for z > a + 1. */
function upperGammaContinuedFraction(z: number, a: number): number {
  const keepAwayFromZero = (v: number) => (Math.abs(v) < CF_TINY ? CF_TINY : v);
  let b = z + 1 - a;
  let c = 1 / CF_TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i <= CF_MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = 1 / keepAwayFromZero(an * d + b);
    c = keepAwayFromZero(b + an / c);
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < CF_EPSILON) return h;
  }
  return NaN;
}

/** Both tails of the regularized incomplete gamma function, P(a, z) and Q(a, z), and their logs. */
interface GammaTails {
  lower: number;
  upper: number;
  logLower: number;
  logUpper: number;
}

/**
 * P(a, z) from the series (z < a + 1) or Q(a, z) from the continued fraction, each scaled by the
 * saddle-point prefix; the other tail is the complement, which is >= 0.13 there, so little is
 * lost. The exception, a < 1 with z < a + 1, where Q can be small though z is not large, takes
 * Q from stdlib's gammainc (which is used nowhere else: in stdlib 0.3.1 it is wrong by up to
 * 1e-2 near the mean for a >= 1000).
 */
function gammaTails(z: number, a: number): GammaTails {
  if (z < a + 1) {
    const logLower = logGammaPrefix(z, a) + Math.log(lowerGammaSeries(z, a));
    const lower = Math.exp(logLower);
    if (a < 1) {
      const upper = gammainc(z, a, true, true);
      return { lower, upper, logLower, logUpper: upper > 0.5 ? Math.log1p(-lower) : Math.log(upper) };
    }
    return { lower, upper: 1 - lower, logLower, logUpper: Math.log1p(-lower) };
  }
  const logUpper = Math.log(a) + logGammaPrefix(z, a) + Math.log(upperGammaContinuedFraction(z, a));
  const upper = Math.exp(logUpper);
  return { lower: -Math.expm1(logUpper), upper, logLower: Math.log1p(-upper), logUpper };
}

/** P(|T| > |t|) with t = exp(lnAbsT) for T ~ t(df); the point of Beta(1/2, df/2) at t^2 / (df + t^2). */
function tPoint(lnAbsT: number, df: number): BetaPoint {
  return betaPointFromLnOdds(2 * lnAbsT - Math.log(df));
}

/** ln P(|T| > |t|) for T ~ t(df) (df = Infinity: standard normal). */
export function logTTwoSided(t: number, df: number): number {
  if (Number.isNaN(t) || !isValidDf(df)) return NaN;
  if (t === 0) return 0;
  const absT = Math.abs(t);
  // |Z| > z is a chi-square(1) tail at z^2, which keeps the normal case exact in log space too
  if (df === Infinity) return gammaTails(0.5 * absT * absT, 0.5).logUpper;
  if (absT === Infinity) return -Infinity;
  const point = tPoint(Math.log(absT), df);
  // t's quartiles lie outside the normal's at every df, so below the normal's upper quartile the
  // tail is above 1/2: its log from the lower part straight away, as logBetaUpper finds it
  // after computing the upper one (half the work for the t statistics of null voxels)
  if (absT < NORMAL_UPPER_QUARTILE) return Math.log1p(-betaLowerDirect(point, 0.5, 0.5 * df));
  return logBetaUpper(point, 0.5, 0.5 * df);
}

/** qnorm(0.75) rounded down */
const NORMAL_UPPER_QUARTILE = 0.6744897;

/** P(|T| > |t|) for T ~ t(df): the two-sided p-value of a t statistic. */
export function tTwoSided(t: number, df: number): number {
  if (Number.isNaN(t) || !isValidDf(df)) return NaN;
  if (t === 0) return 1;
  const absT = Math.abs(t);
  if (df === Infinity) return gammaTails(0.5 * absT * absT, 0.5).upper;
  if (absT === Infinity) return 0;
  return betaUpper(tPoint(Math.log(absT), df), 0.5, 0.5 * df);
}

/** P(T > t) for T ~ t(df): the upper one-sided p-value. */
export function tUpper(t: number, df: number): number {
  const halfTwoSided = 0.5 * tTwoSided(t, df);
  if (t >= 0 || Number.isNaN(halfTwoSided)) return halfTwoSided;
  // the lower tail beyond |t| is small; 1 minus it is at least 1/2, so no precision is lost
  return 1 - halfTwoSided;
}

/** ln P(T > t) for T ~ t(df). */
export function logTUpper(t: number, df: number): number {
  if (t >= 0) return logTTwoSided(t, df) - Math.LN2;
  return Math.log1p(-0.5 * tTwoSided(t, df));
}

/** The point of Beta(df1/2, df2/2) at df1 F / (df2 + df1 F). */
function fPoint(f: number, df1: number, df2: number): BetaPoint {
  return betaPointFromLnOdds(Math.log(f) + Math.log(df1) - Math.log(df2));
}

function isValidFArgs(f: number, df1: number, df2: number): boolean {
  return !Number.isNaN(f) && isValidDf(df1) && isValidDf(df2) && !(df1 === Infinity && df2 === Infinity);
}

/** P(F > f) for F ~ F(df1, df2); df2 = Infinity gives the chi-square(df1)/df1 limit. */
export function fUpper(f: number, df1: number, df2: number): number {
  if (!isValidFArgs(f, df1, df2)) return NaN;
  if (f <= 0) return 1;
  if (f === Infinity) return 0;
  if (df2 === Infinity) return chisqUpper(f * df1, df1);
  if (df1 === Infinity) return chisqLower(df2 / f, df2);
  return betaUpper(fPoint(f, df1, df2), 0.5 * df1, 0.5 * df2);
}

/** ln P(F > f) for F ~ F(df1, df2). */
export function logFUpper(f: number, df1: number, df2: number): number {
  if (!isValidFArgs(f, df1, df2)) return NaN;
  if (f <= 0) return 0;
  if (f === Infinity) return -Infinity;
  if (df2 === Infinity) return logChisqUpper(f * df1, df1);
  if (df1 === Infinity) return Math.log(chisqLower(df2 / f, df2));
  return logBetaUpper(fPoint(f, df1, df2), 0.5 * df1, 0.5 * df2);
}

/** P(X > x) for X ~ chi-square(df). */
export function chisqUpper(x: number, df: number): number {
  if (Number.isNaN(x) || !isValidDf(df) || df === Infinity) return NaN;
  if (x <= 0) return 1;
  return gammaTails(0.5 * x, 0.5 * df).upper;
}

/** P(X <= x) for X ~ chi-square(df), x > 0: the F(Infinity, df2) tail. */
function chisqLower(x: number, df: number): number {
  return gammaTails(0.5 * x, 0.5 * df).lower;
}

/** ln P(X > x) for X ~ chi-square(df). */
export function logChisqUpper(x: number, df: number): number {
  if (Number.isNaN(x) || !isValidDf(df) || df === Infinity) return NaN;
  if (x <= 0) return 0;
  return gammaTails(0.5 * x, 0.5 * df).logUpper;
}

/** Checks a chi-bar-square mixture and returns, per component, the log of its weight. */
function mixtureLogWeights(dfs: readonly number[], weights: readonly number[]): number[] {
  if (dfs.length === 0 || dfs.length !== weights.length) {
    throw new ModelError(`chi-square mixture needs one weight per degree of freedom (got ${dfs.length} df and ${weights.length} weights)`);
  }
  dfs.forEach((df, i) => {
    if (!(df >= 0) || df === Infinity) throw new ModelError(`chi-square mixture: df[${i}] = ${df} must be finite and >= 0`);
  });
  weights.forEach((w, i) => {
    if (!(w >= 0)) throw new ModelError(`chi-square mixture: weight[${i}] = ${w} must be >= 0`);
  });
  const total = weights.reduce((s, w) => s + w, 0);
  if (Math.abs(total - 1) > 1e-12) throw new ModelError(`chi-square mixture: weights sum to ${total}, not 1`);
  return weights.map(Math.log);
}

/**
 * ln P(X >= x) for X a mixture of chi-square(dfs[i]) with the given weights; chi-square(0) is a
 * point mass at 0 (so it contributes only when x <= 0). The boundary test of one variance uses
 * dfs [0, 1], weights [0.5, 0.5].
 */
export function logChisqMixtureUpper(x: number, dfs: readonly number[], weights: readonly number[]): number {
  const logWeights = mixtureLogWeights(dfs, weights);
  if (Number.isNaN(x)) return NaN;
  const terms = dfs.map((df, i) => {
    if (weights[i] === 0) return -Infinity;
    const logTail = df === 0 ? (x <= 0 ? 0 : -Infinity) : logChisqUpper(x, df);
    return logWeights[i] + logTail;
  });
  const largest = Math.max(...terms);
  if (largest === -Infinity) return -Infinity;
  return largest + Math.log(terms.reduce((s, term) => s + Math.exp(term - largest), 0));
}

/** P(X >= x) for a chi-square mixture (chi-bar-square); see logChisqMixtureUpper. */
export function chisqMixtureUpper(x: number, dfs: readonly number[], weights: readonly number[]): number {
  return Math.exp(logChisqMixtureUpper(x, dfs, weights));
}

/** -log10 p. */
/** ln Gamma(x) for x > 0. */
export const logGamma = (x: number): number => gammaln(x);

export function negLog10(p: number): number {
  return -Math.log10(p);
}

/** -log10 p from ln p, the form in which the log-space tails return far-tail p-values. */
export function negLog10FromLn(lnP: number): number {
  return -lnP / Math.LN10;
}

function isProbability(p: number): boolean {
  return p >= 0 && p <= 1;
}

/**
 * The p-quantile (lower tail) of the standard normal distribution: Wichura's AS 241 (PPND16),
 * the algorithm of R's qnorm, accurate to about 1e-16 down to p = 1e-300.
 */
export function normalQuantile(p: number): number {
  if (!isProbability(p)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q *
        (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r + 67265.770927008700853) * r + 45921.953931549871457) * r + 13731.693765509461125) * r +
          1971.5909503065514427) *
          r +
          133.14166789178437745) *
          r +
          3.387132872796366608)) /
      (((((((r * 5226.495278852545925 + 28729.085735721942674) * r + 39307.89580009271061) * r + 21213.794301586595867) * r + 5394.1960214247511077) * r +
        687.1870074920579083) *
        r +
        42.313330701600911252) *
        r +
        1)
    );
  }
  // the smaller tail, taken as given (1 - p is exact for p > 1/2)
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let value: number;
  if (r <= 5) {
    r -= 1.6;
    value =
      (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r + 0.24178072517745061177) * r + 1.27045825245236838258) * r +
        3.64784832476320460504) *
        r +
        5.7694972214606914055) *
        r +
        4.6303378461565452959) *
        r +
        1.42343711074968357734) /
      (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r + 0.14810397642748007459) * r +
        0.68976733498510000455) *
        r +
        1.6763848301838038494) *
        r +
        2.05319162663775882187) *
        r +
        1);
  } else {
    r -= 5;
    value =
      (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r + 0.026532189526576123093) * r +
        0.29656057182850489123) *
        r +
        1.7848265399172913358) *
        r +
        5.4637849111641143699) *
        r +
        6.6579046435011037772) /
      (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r + 7.868691311456132591e-4) * r +
        0.0148753612908506148525) *
        r +
        0.13692988092273580531) *
        r +
        0.59983220655588793769) *
        r +
        1);
  }
  return q < 0 ? -value : value;
}

/**
 * Newton's method for ln tail(e^u) = logTarget in u = ln x, where tail is one tail probability of
 * a positive variable: on this scale far-tail quantiles (x of 1e-200 or 1e+200) converge as fast
 * as central ones. Steps are capped at 1 in u so that a poor start cannot overshoot wildly.
 */
function solveLogTail(logTailAndSlope: (u: number) => { logTail: number; slope: number }, logTarget: number, u0: number): number {
  let u = u0;
  for (let iteration = 0; iteration < 200; iteration++) {
    const { logTail, slope } = logTailAndSlope(u);
    const step = Math.max(-1, Math.min(1, (logTail - logTarget) / slope));
    if (!Number.isFinite(step)) return u;
    u -= step;
    if (Math.abs(step) <= 1e-15 * Math.max(1, Math.abs(u))) return u;
  }
  return u;
}

/** A start for a quantile solver: stdlib's value when it is usable, else a tail approximation. */
function startingLog(stdlibValue: number, fallbackLog: () => number): number {
  return Number.isFinite(stdlibValue) && stdlibValue > 0 ? Math.log(stdlibValue) : fallbackLog();
}

/**
 * The p-quantile (lower tail) of t(df); df = Infinity gives the normal quantile. stdlib's value
 * (off by up to 1e-2, or infinite, when p < 1e-200 and df is small) is polished by Newton steps
 * on ln P(T > |t|), so the far tails are exact too.
 */
export function tQuantile(p: number, df: number): number {
  if (!isProbability(p) || !isValidDf(df)) return NaN;
  if (df === Infinity) return normalQuantile(p);
  if (p === 0.5) return 0;
  // by symmetry work with the smaller tail, P(T > s) = min(p, 1 - p), s > 0 (1 - p is exact above 1/2)
  const tail = p < 0.5 ? p : 1 - p;
  if (tail === 0) return p < 0.5 ? -Infinity : Infinity;
  const logBetaHalf = betaln(0.5 * df, 0.5);
  const logTailAndSlope = (u: number) => {
    const s = Math.exp(u);
    const logTail = logTUpper(s, df);
    // slope of ln P(T > e^u) in u: -s f(s) / P(T > s), f the t density
    const logDensity = -logBetaHalf - 0.5 * Math.log(df) - 0.5 * (df + 1) * Math.log1p((s * s) / df);
    return { logTail, slope: -Math.exp(u + logDensity - logTail) };
  };
  // far tail: P(T > s) ~ df^(df/2 - 1) s^-df / B(df/2, 1/2)
  const farTailLog = () => ((0.5 * df - 1) * Math.log(df) - logBetaHalf - Math.log(tail)) / df;
  const s = Math.exp(solveLogTail(logTailAndSlope, Math.log(tail), startingLog(-stdlibTQuantile(tail, df), farTailLog)));
  return p < 0.5 ? -s : s;
}

/**
 * The p-quantile of chi-square(df): the x with P(X <= x) = p, or with P(X > x) = p when
 * upperTail (needed for tiny upper tails, 1 - 1e-100 being 1). stdlib's value (off by up to
 * 1e-4 for large df, 0 or infinite in the far tails) is polished by Newton steps on the log of
 * whichever tail is below 1/2, so tiny tails stay exact.
 */
export function chisqQuantile(p: number, df: number, upperTail = false): number {
  if (!isProbability(p) || !isValidDf(df) || df === Infinity) return NaN;
  if (p === 0) return upperTail ? Infinity : 0;
  if (p === 1) return upperTail ? 0 : Infinity;
  const shape = 0.5 * df;
  // the smaller tail, taken as given (its complement is exact when it is the larger one)
  const useUpper = upperTail ? p < 0.5 : p > 0.5;
  const logTarget = Math.log(useUpper === upperTail ? p : 1 - p);
  // in the gamma variable z = x / 2: d ln P / d ln z = a * prefix / P, d ln Q / d ln z = -a * prefix / Q
  const logTailAndSlope = (u: number) => {
    const z = Math.exp(u);
    const tails = gammaTails(z, shape);
    const logTail = useUpper ? tails.logUpper : tails.logLower;
    const slope = Math.exp(Math.log(shape) + logGammaPrefix(z, shape) - logTail);
    return { logTail, slope: useUpper ? -slope : slope };
  };
  const farTailLog = () => {
    if (!useUpper) return (logTarget + gammaln(shape + 1)) / shape; // P(a, z) ~ z^a / Gamma(a + 1)
    const z = -logTarget + (shape - 1) * Math.log(-logTarget) - gammaln(shape); // Q(a, z) ~ z^(a-1) e^-z / Gamma(a)
    return Math.log(Math.max(z, shape + 1));
  };
  const u = solveLogTail(logTailAndSlope, logTarget, startingLog(0.5 * stdlibChisqQuantile(upperTail ? 1 - p : p, df), farTailLog));
  return 2 * Math.exp(u);
}
