/**
 * Group-analysis teaching cases, checked against R's t.test (test/fixtures/extra-tests.json, data
 * ttest_sim.csv) and against textbook formulas computed by hand in the test:
 * one-sample t = intercept-only lm; paired t = lmer(y ~ cond + (1 | subject)); the two-sample t
 * from dummy, +1/-1 and group-intercept codings; a linear trend contrast over four levels,
 * between subjects (pooled-variance t) and within subjects (repeated-measures error term).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { readCSV } from '../src/frame/table';
import { coefficientTests, tTest } from '../src/inference/contrast';
import { tQuantile, tTwoSided } from '../src/stats/distributions';
import { RRandom } from '../src/stats/rng';
import { lm } from '../src/lmm/lm';
import { lmer } from '../src/lmm/lmer';
import { fixture } from './helpers';
import { assertNear } from './inference-helpers';

const reference = JSON.parse(fs.readFileSync(fixture('extra-tests.json'), 'utf8')).t_test;
const data = readCSV(fixture('ttest_sim.csv'));
const column = (name: string) => Array.from((data.column(name) as { values: Float64Array }).values);
const labels = (name: string) => (data.column(name) as { values: string[] }).values;
const before = column('before');
const after = column('after');
const ids = labels('id');
const groups = labels('group');

const mean = (x: number[]) => x.reduce((a, b) => a + b, 0) / x.length;
const sumSq = (x: number[]) => {
  const m = mean(x);
  return x.reduce((s, v) => s + (v - m) ** 2, 0);
};

test('one-sample t-test = intercept-only lm tested against mu (t.test(before, mu = 9))', () => {
  const r = reference.one_sample;
  const fit = lm('before ~ 1', data);
  const t = tTest(fit, [1], { rhs: 9 });
  // by hand
  const se = Math.sqrt(sumSq(before) / (before.length - 1) / before.length);
  assertNear(t.se, se, 1e-12, 'SE by hand');
  assertNear(t.t, (mean(before) - 9) / se, 1e-12, 't by hand');
  assertNear(t.t, r.statistic, 1e-10, 't');
  assert.equal(t.df, r.df);
  assertNear(t.p, r.p, 1e-9, 'p');
  assertNear(t.se, r.stderr, 1e-10, 'SE');
  assertNear(t.lower, r.conf_int[0], 1e-10, 'lower');
  assertNear(t.upper, r.conf_int[1], 1e-10, 'upper');
});

test("one-sided one-sample t-test (t.test(after - before, alternative = 'greater'))", () => {
  const r = reference.one_sample_greater;
  const fit = lm('I(after - before) ~ 1', data);
  const t = tTest(fit, [1]);
  assertNear(t.t, r.statistic, 1e-10, 't');
  assertNear(t.pUpper, r.p, 1e-9, 'upper-tail p');
  assertNear(t.negLog10PUpper, -Math.log10(r.p), 1e-9, '-log10 of the upper-tail p');
  assertNear(t.estimate - tQuantile(0.95, t.df) * t.se, r.conf_int[0], 1e-9, 'one-sided lower bound');
});

test('paired t-test = lmer(y ~ cond + (1 | subject)): same t, and Satterthwaite gives n - 1 df', () => {
  const r = reference.paired;
  const long = ids.flatMap((id, i) => [
    { id, cond: 'before', y: before[i] },
    { id, cond: 'after', y: after[i] },
  ]);
  const model = lmer('y ~ cond + (1 | id)', long);
  assert.deepEqual(model.xNames, ['(Intercept)', 'condbefore']);
  // the coefficient is before - after; t.test(after, before) tests after - before
  const t = tTest(model, { condbefore: -1 });
  assertNear(t.estimate, r.estimate[0], 1e-9, 'mean difference');
  assertNear(t.t, r.statistic, 1e-6, 't');
  assertNear(t.df, r.df, 1e-6, 'Satterthwaite df = n - 1');
  assertNear(t.p, r.p, 1e-5, 'p');
  assertNear(t.se, r.stderr, 1e-6, 'SE');
  assertNear(t.lower, r.conf_int[0], 1e-6, 'lower');
  assertNear(t.upper, r.conf_int[1], 1e-6, 'upper');
  const summary = coefficientTests(model);
  assertNear(summary.df[1], 13, 1e-6, 'summary df');
});

test('two-sample t-test: dummy, +1/-1 contrast and group-intercept codings give the same test (var.equal = TRUE)', () => {
  const r = reference.two_sample_equal_var;
  const rows = ids.map((id, i) => ({ id, group: groups[i], code: groups[i] === 'a' ? 1 : -1, before: before[i] }));
  const dummy = tTest(lm('before ~ group', rows), { groupb: -1 });
  const effect = tTest(lm('before ~ code', rows), { code: 1 });
  const cellMeans = tTest(lm('before ~ 0 + group', rows), { groupa: 1, groupb: -1 });
  // by hand: pooled variance
  const a = before.filter((_, i) => groups[i] === 'a');
  const b = before.filter((_, i) => groups[i] === 'b');
  const pooled = (sumSq(a) + sumSq(b)) / (a.length + b.length - 2);
  const tHand = (mean(a) - mean(b)) / Math.sqrt(pooled * (1 / a.length + 1 / b.length));
  for (const [name, t] of [
    ['dummy', dummy],
    ['+1/-1', effect],
    ['group intercepts', cellMeans],
  ] as const) {
    assertNear(t.t, tHand, 1e-10, `${name}: t by hand`);
    assertNear(t.t, r.statistic, 1e-10, `${name}: t`);
    assert.equal(t.df, r.df, `${name}: df`);
    assertNear(t.p, r.p, 1e-9, `${name}: p`);
  }
  // the +1/-1 coefficient is half the difference; the others are the difference itself
  assertNear(effect.estimate * 2, r.estimate[0] - r.estimate[1], 1e-10, 'effect coding estimate');
  assertNear(dummy.estimate, r.estimate[0] - r.estimate[1], 1e-10, 'dummy estimate');
  assertNear(cellMeans.lower, r.conf_int[0], 1e-9, 'interval');
});

/** Four levels with a linear trend, simulated with R's generator (set.seed(2024)). */
function trendData(subjects: number, subjectSd: number) {
  const rng = new RRandom(2024);
  const rows: { s: string; level: string; y: number }[] = [];
  for (let s = 0; s < subjects; s++) {
    const subjectEffect = subjectSd * rng.normal();
    for (let k = 0; k < 4; k++) rows.push({ s: `s${s}`, level: `L${k + 1}`, y: 10 + 0.8 * k + subjectEffect + rng.normal() });
  }
  return rows;
}
const TREND = [-1.5, -0.5, 0.5, 1.5];

test('linear contrast [-1.5, -0.5, 0.5, 1.5] between subjects: pooled-variance t by hand', () => {
  // each subject in one level: 6 per level, no subject effect
  const rows = trendData(24, 0).map((r, i) => ({ ...r, level: `L${(i % 4) + 1}` }));
  const fit = lm('y ~ 0 + level', rows);
  const t = tTest(fit, TREND);
  const byLevel = [0, 1, 2, 3].map((k) => rows.filter((r) => r.level === `L${k + 1}`).map((r) => r.y));
  const estimate = TREND.reduce((s, c, k) => s + c * mean(byLevel[k]), 0);
  const df = rows.length - 4;
  const pooled = byLevel.reduce((s, ys) => s + sumSq(ys), 0) / df;
  const se = Math.sqrt(pooled * TREND.reduce((s, c, k) => s + (c * c) / byLevel[k].length, 0));
  assertNear(t.estimate, estimate, 1e-12, 'estimate');
  assertNear(t.se, se, 1e-12, 'SE');
  assert.equal(t.df, df);
  assertNear(t.t, estimate / se, 1e-12, 't');
  assertNear(t.p, tTwoSided(estimate / se, df), 1e-12, 'p');
});

test('linear contrast within subjects: lmer(y ~ 0 + level + (1 | s)) = repeated-measures contrast with (S-1)(k-1) df', () => {
  const S = 8;
  const rows = trendData(S, 3);
  const model = lmer('y ~ 0 + level + (1 | s)', rows);
  const t = tTest(model, TREND);
  // two-way layout without interaction: e = y - subject mean - level mean + grand mean
  const y = (s: number, k: number) => rows[s * 4 + k].y;
  const grand = mean(rows.map((r) => r.y));
  const subjectMean = Array.from({ length: S }, (_, s) => mean([0, 1, 2, 3].map((k) => y(s, k))));
  const levelMean = [0, 1, 2, 3].map((k) => mean(Array.from({ length: S }, (_, s) => y(s, k))));
  let sse = 0;
  for (let s = 0; s < S; s++) for (let k = 0; k < 4; k++) sse += (y(s, k) - subjectMean[s] - levelMean[k] + grand) ** 2;
  const df = (S - 1) * 3;
  const mse = sse / df;
  const estimate = TREND.reduce((acc, c, k) => acc + c * levelMean[k], 0);
  const se = Math.sqrt((mse * TREND.reduce((acc, c) => acc + c * c, 0)) / S);
  assert.ok(model.theta[0] > 0.5, 'the subject variance is estimated away from 0');
  assertNear(t.estimate, estimate, 1e-10, 'estimate');
  assertNear(t.se, se, 1e-6, 'SE');
  assertNear(t.t, estimate / se, 1e-6, 't');
  assertNear(t.df, df, 1e-6, 'Satterthwaite df = (S-1)(k-1)');
  assertNear(t.p, tTwoSided(estimate / se, df), 1e-5, 'p');
});
