/**
 * Tail probabilities and quantiles against R 4.2.2 (values printed with sprintf("%.17g"); the R call
 * is beside each number). Where R 4.2.2 itself is inaccurate the reference is mpmath at 50 digits,
 * and the comment says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chisqMixtureUpper,
  chisqQuantile,
  chisqUpper,
  fUpper,
  logChisqMixtureUpper,
  logChisqUpper,
  logFUpper,
  logTTwoSided,
  logTUpper,
  negLog10,
  negLog10FromLn,
  normalQuantile,
  tQuantile,
  tTwoSided,
  tUpper,
} from '../src/stats/distributions';
import { ModelError } from '../src/errors';

const BODY = 1e-10; // relative, probabilities and quantiles
const LOG10 = 1e-8; // relative, -log10 p

function assertClose(actual: number, expected: number, relative: number, what: string): void {
  const error = expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(error <= relative, `${what}: got ${actual}, expected ${expected} (relative error ${error.toExponential(2)} > ${relative})`);
}

test('tTwoSided matches 2*pt(|t|, df, lower.tail=FALSE), incl. non-integer and infinite df', () => {
  const cases: [number, number, number][] = [
    [2.5, 10, 0.031446844236608776], // 2*pt(2.5, 10, lower.tail=FALSE)
    [-1.3, 7.5, 0.23212677881560856], // 2*pt(1.3, 7.5, lower.tail=FALSE)
    [25.7938261364, 22.8101989553, 2.2413509591565617e-18], // 2*pt(25.7938261364, 22.8101989553, lower.tail=FALSE)
    [0.01, 3, 0.99264911141285195], // 2*pt(0.01, 3, lower.tail=FALSE)
    [5, 0.7, 0.20027366964182286], // 2*pt(5, 0.7, lower.tail=FALSE)
    [3, Infinity, 0.0026997960632601892], // 2*pnorm(3, lower.tail=FALSE)
    [1e-8, 20, 0.99999999212022828], // 2*pt(1e-8, 20, lower.tail=FALSE)
    [8, 1e5, 1.2573919876256316e-15], // 2*pt(8, 1e5, lower.tail=FALSE)
    [46, 1000, 4.8634369201712224e-249], // 2*pt(46, 1000, lower.tail=FALSE)
  ];
  for (const [t, df, p] of cases) assertClose(tTwoSided(t, df), p, BODY, `tTwoSided(${t}, ${df})`);
  assert.equal(tTwoSided(0, 5), 1);
  assert.equal(tTwoSided(Infinity, 5), 0);
});

test('tUpper matches pt(t, df, lower.tail=FALSE) on both sides of 0', () => {
  const cases: [number, number, number][] = [
    [-1.3, 7.5, 0.88393661059219575], // pt(-1.3, 7.5, lower.tail=FALSE)
    [2.5, 10, 0.015723422118304388], // pt(2.5, 10, lower.tail=FALSE)
    [1e30, 3, 1.1026577908435818e-90], // pt(1e30, 3, lower.tail=FALSE)
    [2.1, 14.3, 0.026965284843638814], // pt(-2.1, 14.3) (= upper tail at 2.1)
  ];
  for (const [t, df, p] of cases) assertClose(tUpper(t, df), p, BODY, `tUpper(${t}, ${df})`);
  assert.equal(tUpper(-40, 50), 1); // pt(-40, 50, lower.tail=FALSE) is 1 in double precision
});

test('fUpper matches pf(F, df1, df2, lower.tail=FALSE), incl. infinite df', () => {
  const cases: [number, number, number, number][] = [
    [3.2, 2, 30, 0.054991816556153664], // pf(3.2, 2, 30, lower.tail=FALSE)
    [169.401361333, 1, 161.000000055, 6.412601231002908e-27], // pf(169.401361333, 1, 161.000000055, lower.tail=FALSE)
    [0.4, 4, 12.3, 0.80508424556098801], // pf(0.4, 4, 12.3, lower.tail=FALSE)
    [0.01, 3, 5, 0.99844448654743401], // pf(0.01, 3, 5, lower.tail=FALSE)
    [500, 3, 2000, 2.142247963996807e-242], // pf(500, 3, 2000, lower.tail=FALSE)
    [12, 5, Infinity, 1.2154569777183041e-11], // pf(12, 5, Inf, lower.tail=FALSE)
    [1.3, Infinity, 20, 0.24600684169414747], // pf(1.3, Inf, 20, lower.tail=FALSE)
  ];
  for (const [f, df1, df2, p] of cases) assertClose(fUpper(f, df1, df2), p, BODY, `fUpper(${f}, ${df1}, ${df2})`);
  assert.equal(fUpper(0, 3, 5), 1);
});

test('chisqUpper matches pchisq(x, df, lower.tail=FALSE), also for large df where stdlib gammainc is off', () => {
  const cases: [number, number, number][] = [
    [3.84, 1, 0.050043521248705224], // pchisq(3.84, 1, lower.tail=FALSE)
    [0.2, 2.5, 0.95303150091121869], // pchisq(0.2, 2.5, lower.tail=FALSE)
    [100, 3, 1.5541594313896051e-21], // pchisq(100, 3, lower.tail=FALSE)
    [1e-4, 1, 0.9920212873707368], // pchisq(1e-4, 1, lower.tail=FALSE)
    [30, 40, 0.87521878496747518], // pchisq(30, 40, lower.tail=FALSE)
    [1e4, 1e4, 0.49811936596618267], // pchisq(1e4, 1e4, lower.tail=FALSE)
    [10300, 1e4, 0.017638117447345399], // pchisq(10300, 1e4, lower.tail=FALSE)
    [2.5e5, 2.4e5, 2.6242833621092448e-46], // pchisq(2.5e5, 2.4e5, lower.tail=FALSE)
    [1140, 1, 6.6873310448800216e-250], // pchisq(1140, 1, lower.tail=FALSE)
  ];
  for (const [x, df, p] of cases) assertClose(chisqUpper(x, df), p, BODY, `chisqUpper(${x}, ${df})`);
  assert.equal(chisqUpper(0, 2), 1);
  assert.equal(chisqUpper(-1e-9, 1), 1);
});

test('chi-bar-square mixtures: chi2_0 is a point mass at 0', () => {
  // 0.5*pchisq(2.7, 1, lower.tail=FALSE)
  assertClose(chisqMixtureUpper(2.7, [0, 1], [0.5, 0.5]), 0.050174123231145222, BODY, 'chibar(0:1) at 2.7');
  // 0.5*pchisq(5.99, 1, lower.tail=FALSE) + 0.5*pchisq(5.99, 2, lower.tail=FALSE)
  assertClose(chisqMixtureUpper(5.99, [1, 2], [0.5, 0.5]), 0.03221191473029672, BODY, 'chibar(1:2) at 5.99');
  // -(log(0.5) + pchisq(1500, 1, lower.tail=FALSE, log.p=TRUE))/log(10)
  assertClose(negLog10FromLn(logChisqMixtureUpper(1500, [0, 1], [0.5, 0.5])), 327.7082860398304, LOG10, 'chibar(0:1) at 1500');
  assert.equal(chisqMixtureUpper(0, [0, 1], [0.5, 0.5]), 1);
  assert.throws(() => chisqMixtureUpper(1, [0, 1], [0.5]), ModelError);
  assert.throws(() => chisqMixtureUpper(1, [0, 1], [0.6, 0.6]), /sum to 1.2/);
  assert.throws(() => chisqMixtureUpper(1, [-1, 1], [0.5, 0.5]), /df\[0\]/);
});

test('-log10 p of t, F and chi-square stays exact to 1e-8 far past the double range', () => {
  const ln10 = (lnP: number) => negLog10FromLn(lnP);
  const cases: [string, number, number][] = [
    // -pbeta(1e-8^2/(20+1e-8^2), 0.5, 10, lower.tail=FALSE, log.p=TRUE)/log(10)   (p next to 1)
    ['logTTwoSided(1e-8, 20)', ln10(logTTwoSided(1e-8, 20)), 3.4221413876296727e-9],
    // -pbeta(0.5^2/(1+0.5^2), 0.5, 0.5, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logTTwoSided(0.5, 1)', ln10(logTTwoSided(0.5, 1)), 0.1519139156100629],
    // -(log(2) + pt(60, 1000, lower.tail=FALSE, log.p=TRUE))/log(10)
    ['logTTwoSided(60, 1000)', ln10(logTTwoSided(60, 1000)), 332.923977000881],
    // -(log(2) + pt(100, 1000, lower.tail=FALSE, log.p=TRUE))/log(10)
    ['logTTwoSided(100, 1000)', ln10(logTTwoSided(100, 1000)), 522.27385808063059],
    // -(log(2) + pnorm(40, lower.tail=FALSE, log.p=TRUE))/log(10)
    ['logTTwoSided(40, Inf)', ln10(logTTwoSided(40, Infinity)), 349.13597646368186],
    // -(log(2) + pt(1e200, 2.5, lower.tail=FALSE, log.p=TRUE))/log(10)   (t^2 overflows)
    ['logTTwoSided(1e200, 2.5)', ln10(logTTwoSided(1e200, 2.5)), 499.84203596335624],
    // -(log(2) + pt(37.5, 2e5, lower.tail=FALSE, log.p=TRUE))/log(10)
    ['logTTwoSided(37.5, 2e5)', ln10(logTTwoSided(37.5, 2e5)), 305.96564911016691],
    // -(log(2) + pt(1e4, 10, lower.tail=FALSE, log.p=TRUE))/log(10)
    ['logTTwoSided(1e4, 10)', ln10(logTTwoSided(1e4, 10)), 35.608899614909888],
    // either side of the switch to log space (p = 1e-250):
    // -(log(2) + pt(46, 1000, lower.tail=FALSE, log.p=TRUE))/log(10)
    ['logTTwoSided(46, 1000)', ln10(logTTwoSided(46, 1000)), 248.31305671264531],
    // -(log(2) + pt(46.5, 1000, lower.tail=FALSE, log.p=TRUE))/log(10)
    ['logTTwoSided(46.5, 1000)', ln10(logTTwoSided(46.5, 1000)), 251.51392420990442],
    // -(log(2) + pt(55, 1000, lower.tail=FALSE, log.p=TRUE))/log(10)
    ['logTTwoSided(55, 1000)', ln10(logTTwoSided(55, 1000)), 303.91923377535818],
    // -pt(60, 1000, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logTUpper(60, 1000)', ln10(logTUpper(60, 1000)), 333.22500699654495],
    // -pt(-3, 12, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logTUpper(-3, 12)', ln10(logTUpper(-3, 12)), 0.0024097756637601387],
    // -pt(3, 14.3, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logTUpper(3, 14.3)', ln10(logTUpper(3, 14.3)), 2.3293986319277344],
    // -pf(500, 3, 2000, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logFUpper(500, 3, 2000)', ln10(logFUpper(500, 3, 2000)), 241.66913026125263],
    // -pf(3600, 1, 1000, lower.tail=FALSE, log.p=TRUE)/log(10)   (F = t^2 with t = 60)
    ['logFUpper(3600, 1, 1000)', ln10(logFUpper(3600, 1, 1000)), 332.92397700088105],
    // -pf(1000, 5, Inf, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logFUpper(1000, 5, Inf)', ln10(logFUpper(1000, 5, Infinity)), 1080.762670394239],
    // -pf(2, 1e5, 1e7, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logFUpper(2, 1e5, 1e7)', ln10(logFUpper(2, 1e5, 1e7)), 6559.1721658590659],
    // -pf(50, 1e5, 1e7, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logFUpper(50, 1e5, 1e7)', ln10(logFUpper(50, 1e5, 1e7)), 782493.685253395],
    // -pf(400, 4, 30.5, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logFUpper(400, 4, 30.5)', ln10(logFUpper(400, 4, 30.5)), 25.149157990798152],
    // -pchisq(1500, 1, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logChisqUpper(1500, 1)', ln10(logChisqUpper(1500, 1)), 327.40725604416645],
    // -pchisq(5000, 10, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logChisqUpper(5000, 10)', ln10(logChisqUpper(5000, 10)), 1073.5239608161075],
    // -pchisq(1.1e6, 1e6, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logChisqUpper(1.1e6, 1e6)', ln10(logChisqUpper(1.1e6, 1e6)), 1020.6301865530005],
    // -pchisq(2e6, 1e6, lower.tail=FALSE, log.p=TRUE)/log(10)
    ['logChisqUpper(2e6, 1e6)', ln10(logChisqUpper(2e6, 1e6)), 66635.491696381199],
    // -pchisq(1140, 1, lower.tail=FALSE, log.p=TRUE)/log(10)  and  (1145, 1): either side of the switch
    ['logChisqUpper(1140, 1)', ln10(logChisqUpper(1140, 1)), 249.17474717726276],
    ['logChisqUpper(1145, 1)', ln10(logChisqUpper(1145, 1)), 250.26143204334318],
  ];
  for (const [what, actual, expected] of cases) assertClose(actual, expected, LOG10, what);
});

test('far F tail where R 4.2.2 pbeta(log.p=TRUE) is wrong: matches mpmath', () => {
  // R 4.2.2: pf(118.31461009986505, 28.465570902394578, 858743.03343272326, lower.tail=FALSE, log.p=TRUE)
  // gives -1561.509; mpmath (50 digits): log(betainc(df2/2, df1/2, 0, df2/(df2+df1*F), regularized=True))
  // = -1605.5517391975951, and the chi-square limit pchisq(F*df1, df1, lower.tail=FALSE, log.p=TRUE)
  // = -1608.79 is consistent with it (the denominator's spread adds about 3.3 in log).
  assertClose(logFUpper(118.31461009986505, 28.465570902394578, 858743.03343272326), -1605.5517391975951, 1e-12, 'logFUpper');
});

test('negLog10 and negLog10FromLn', () => {
  assert.equal(negLog10(1e-5), 5);
  assert.equal(negLog10(1), -0);
  assertClose(negLog10FromLn(Math.log(0.001)), 3, 1e-15, 'negLog10FromLn');
  assertClose(negLog10FromLn(-1000 * Math.LN10), 1000, 1e-15, 'negLog10FromLn beyond double range');
});

test('tQuantile matches qt(p, df); normal for df = Inf', () => {
  const cases: [number, number, number][] = [
    [0.975, 10, 2.2281388519862739], // qt(0.975, 10)
    [0.025, 3.7, -2.867520707191193], // qt(0.025, 3.7)
    [1e-10, 50, -7.948243747646222], // qt(1e-10, 50)
    [0.999999, 1.5, 5219.4693246068873], // qt(0.999999, 1.5)
    [1e-12, 1000, -7.1242289253143918], // qt(1e-12, 1000)
    [0.3, 1e6, -0.52440067986020866], // qt(0.3, 1e6)
    [1e-20, 30.5, -22.273887397914542], // qt(1e-20, 30.5)
    [0.975, Infinity, 1.9599639845400536], // qnorm(0.975)
  ];
  for (const [p, df, q] of cases) assertClose(tQuantile(p, df), q, BODY, `tQuantile(${p}, ${df})`);
  assert.equal(tQuantile(0.5, 7), 0);
  // far tail, beyond R 4.2.2's own accuracy (qt(1e-300, 10) = -2.5645257189179619e+30 is off by 1.2e-11);
  // the root of mpmath's log(betainc(5, 1/2, 0, 10/(10+s^2), regularized=True)/2) = log(1e-300)
  assertClose(tQuantile(1e-300, 10), -2.564525718948197828e30, 1e-13, 'tQuantile(1e-300, 10)');
  // where stdlib's t quantile is off by 8% (df 1.2, p 4e-262): the mpmath root is the quantile itself,
  // -2.699730010857246e+217, whose mpmath tail is 4.16485460670588e-262
  assertClose(tQuantile(4.1648546067057985e-262, 1.1999445830292363), -2.699730010857246e217, 1e-12, 'tQuantile far tail');
});

test('normalQuantile matches qnorm (AS 241) down to 1e-300', () => {
  const cases: [number, number][] = [
    [0.975, 1.9599639845400536], // qnorm(0.975)
    [1e-10, -6.3613409024040557], // qnorm(1e-10)
    [0.3, -0.52440051270804067], // qnorm(0.3)
    [1e-300, -37.047096299361201], // qnorm(1e-300)
    [1 - 1e-12, 7.0344869100478356], // qnorm(1 - 1e-12)
    [0.02425, -1.9729610513118845], // qnorm(0.02425)
  ];
  for (const [p, q] of cases) assertClose(normalQuantile(p), q, BODY, `normalQuantile(${p})`);
  assert.equal(normalQuantile(0.5), 0);
  assert.equal(normalQuantile(0), -Infinity);
});

test('chisqQuantile matches qchisq, lower and upper tail', () => {
  const cases: [number, number, number][] = [
    [0.95, 1, 3.841458820694124], // qchisq(0.95, 1)
    [0.05, 3.5, 0.52006871084481299], // qchisq(0.05, 3.5)
    [1e-8, 2, 2.0000000099999939e-8], // qchisq(1e-8, 2)
    [0.999, 10, 29.588298445074418], // qchisq(0.999, 10)
    [0.5, 1e4, 9999.333341235144], // qchisq(0.5, 1e4)   (stdlib alone is off by 2e-4 here)
    [1e-10, 1, 1.5707963267948935e-20], // qchisq(1e-10, 1)
  ];
  for (const [p, df, q] of cases) assertClose(chisqQuantile(p, df), q, BODY, `chisqQuantile(${p}, ${df})`);
  // qchisq(1e-100, 4, lower.tail=FALSE)
  assertClose(chisqQuantile(1e-100, 4, true), 471.45082032384823, BODY, 'chisqQuantile(1e-100, 4, upper)');
  // qchisq(0.05, 1, lower.tail=FALSE)
  assertClose(chisqQuantile(0.05, 1, true), 3.841458820694124, BODY, 'chisqQuantile(0.05, 1, upper)');
  // R 4.2.2's qchisq(1e-14, 135, lower.tail=FALSE) = 301.37677546853382 is off by 2.6e-10; the mpmath
  // root of gammainc(67.5, x/2, inf, regularized=True) = 1e-14 is 301.37677538901488
  assertClose(chisqQuantile(1e-14, 135, true), 301.37677538901488, 1e-13, 'chisqQuantile(1e-14, 135, upper)');
});

test('quantiles invert the tails far out', () => {
  for (const [p, df] of [
    [1e-250, 1.2],
    [1e-30, 4.5],
    [0.2, 17],
  ]) {
    assertClose(tUpper(-tQuantile(p, df), df), p, 1e-12, `tUpper(-tQuantile(${p}, ${df}))`);
  }
  for (const [p, df] of [
    [1e-280, 1],
    [1e-30, 250.5],
    [0.7, 3],
  ]) {
    assertClose(chisqUpper(chisqQuantile(p, df, true), df), p, 1e-12, `chisqUpper(chisqQuantile(${p}, ${df}, upper))`);
  }
});

test('invalid arguments give NaN, as R does', () => {
  assert.ok(Number.isNaN(tTwoSided(1, 0)));
  assert.ok(Number.isNaN(tTwoSided(NaN, 3)));
  assert.ok(Number.isNaN(logTTwoSided(1, -2)));
  assert.ok(Number.isNaN(fUpper(1, 2, NaN)));
  assert.ok(Number.isNaN(chisqUpper(1, 0)));
  assert.ok(Number.isNaN(tQuantile(1.5, 3)));
  assert.ok(Number.isNaN(chisqQuantile(-0.1, 3)));
  assert.ok(Number.isNaN(normalQuantile(NaN)));
});
