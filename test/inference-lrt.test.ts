/**
 * Likelihood-ratio comparisons (lme4's anova(m1, m2, ...)), lm fits under the same tests, the
 * printed tables and the `neurolmm anova` command, against R (test/fixtures/extra-tests.json).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { runAnova } from '../src/cli/anova';
import { ModelError } from '../src/errors';
import { readCSV } from '../src/frame/table';
import { anova, type LikelihoodRatioTable } from '../src/inference/anova';
import { coefficientTests } from '../src/inference/contrast';
import { chisqUpper } from '../src/stats/distributions';
import { lm } from '../src/lmm/lm';
import { lmer } from '../src/lmm/lmer';
import { fixture } from './helpers';
import { assertNear } from './inference-helpers';

const extraTests = JSON.parse(fs.readFileSync(fixture('extra-tests.json'), 'utf8'));
const sleep = readCSV(fixture('sleepstudy.csv'));

function checkTable(table: LikelihoodRatioTable, expected: any): void {
  assert.deepEqual(
    table.rows.map((r) => r.model),
    expected.model,
  );
  table.rows.forEach((row, i) => {
    assert.equal(row.npar, expected.npar[i]);
    for (const key of ['AIC', 'BIC', 'logLik', 'deviance'] as const) assertNear(row[key], expected[key][i], 1e-8, `${row.model} ${key}`);
    assertNear(row.Chisq, expected.Chisq[i], 1e-6, `${row.model} Chisq`);
    assertNear(row.Df, expected.Df[i], 0, `${row.model} Df`);
    assertNear(row.p, expected.p[i], 1e-5, `${row.model} p`);
  });
}

test('anova(lmer, lmer, lm): REML fits refitted with ML, rows ordered by npar, lm compared with lmer', () => {
  const ri = lmer('Reaction ~ Days + (1 | Subject)', sleep, { dataName: 'sleep' });
  const rs = lmer('Reaction ~ Days + (Days | Subject)', sleep, { dataName: 'sleep' });
  const ols = lm('Reaction ~ Days', sleep, { dataName: 'sleep' });
  const table = anova(ri, rs, ols, { names: ['sleep_ri', 'sleep_rs', 'sleep_lm'] });
  checkTable(table, extraTests.likelihood_ratio.sleepstudy_lm_ri_rs.table);
  assert.deepEqual(table.messages, ['refitting model(s) with ML (instead of REML)']);
  // printed as lme4 prints it
  const text = table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd());
  for (const line of [
    'refitting model(s) with ML (instead of REML)',
    'Data: sleep',
    'Models:',
    'sleep_lm: Reaction ~ Days',
    'sleep_rs: Reaction ~ Days + (Days | Subject)',
    '         npar    AIC    BIC  logLik deviance   Chisq Df Pr(>Chisq)',
    'sleep_lm    3 1906.3 1915.9 -950.15   1900.3',
    'sleep_ri    4 1802.1 1814.9 -897.04   1794.1 106.214  1  < 2.2e-16 ***',
    'sleep_rs    6 1763.9 1783.1 -875.97   1751.9  42.139  2  7.072e-10 ***',
  ])
    assert.ok(text.includes(line), `missing line ${JSON.stringify(line)} in\n${text.join('\n')}`);
  assert.match(table.toMimeBundle()['text/html'] as string, /<table>.*Pr\(&gt;Chisq\)/s);
  // the fits themselves are untouched (still REML)
  assert.equal(rs.REML, true);
});

test('anova(..., refit = false) compares the REML criteria as fitted', () => {
  const ri = lmer('Reaction ~ Days + (1 | Subject)', sleep);
  const rs = lmer('Reaction ~ Days + (Days | Subject)', sleep);
  const table = anova(ri, rs, { names: ['sleep_ri', 'sleep_rs'], refit: false });
  checkTable(table, extraTests.likelihood_ratio.sleepstudy_ri_rs_no_refit.table);
  assert.deepEqual(table.messages, []);
});

test('boundary option: 50:50 mixture of chi-square(Df - 1) and chi-square(Df)', () => {
  const ri = lmer('Reaction ~ Days + (1 | Subject)', sleep, { REML: false });
  const rs = lmer('Reaction ~ Days + (Days | Subject)', sleep, { REML: false });
  const ols = lm('Reaction ~ Days', sleep);
  const plain = anova(ols, ri, rs);
  const mixed = anova(ols, ri, rs, { boundary: true });
  assert.deepEqual(mixed.messages, []);
  // adding the random intercept (Df 1): half the chi-square(1) tail, the chi-square(0) part being 0 for Chisq > 0
  assertNear(mixed.rows[1].p, 0.5 * plain.rows[1].p, 1e-12, 'random intercept');
  // adding the slope and its covariance (Df 2): (chi2_1 + chi2_2) / 2
  const x = mixed.rows[2].Chisq;
  assertNear(mixed.rows[2].p, 0.5 * (chisqUpper(x, 1) + chisqUpper(x, 2)), 1e-12, 'random slope');
  assertNear(mixed.rows[2].negLog10P, -Math.log10(mixed.rows[2].p), 1e-10, '-log10 p');
  assert.ok(mixed.toString().includes('50:50 mixture'));
});

test('models fitted to different data are a ModelError', () => {
  const rows = Array.from({ length: sleep.nrows }, (_, i) => ({
    Reaction: (sleep.column('Reaction') as { values: Float64Array }).values[i],
    Days: (sleep.column('Days') as { values: Float64Array }).values[i],
    Subject: (sleep.column('Subject') as { values: string[] }).values[i],
  }));
  const full = lmer('Reaction ~ Days + (1 | Subject)', rows);
  const part = lmer(
    'Reaction ~ Days + (1 | Subject)',
    rows.filter((r) => r.Days < 9),
  );
  assert.throws(
    () => anova(full, part),
    (e: Error) => e instanceof ModelError && /not all fitted to the same size of dataset: MODEL1 has 180 observations, MODEL2 has 162/.test(e.message),
  );
  const logged = lm('log(Reaction) ~ Days', rows);
  assert.throws(
    () => anova(lm('Reaction ~ Days', rows), logged),
    (e: Error) => e instanceof ModelError && /response of MODEL2 differs/.test(e.message),
  );
  assert.throws(
    () => anova(full, full, { names: ['a'] }),
    (e: Error) => e instanceof ModelError && /1 model names for 2 models/.test(e.message),
  );
});

test('lm fits: coefficient tests with n - p df, and Type I sums of squares add up to the regression sum of squares', () => {
  for (const r of Object.values(extraTests.lm) as any[]) {
    const fit = lm(r.formula, readCSV(fixture(`${r.data}.csv`)));
    const tests = coefficientTests(fit);
    tests.df.forEach((df) => assert.equal(df, r.df_residual));
    tests.p.forEach((p, i) => assertNear(p, r.coefficients.p[i], 1e-8, `${r.formula} p ${i}`, 1e-300));
    assertNear(fit.logLik(), r.logLik, 1e-10, 'logLik');
    const table = anova(fit, { type: 1 });
    const [F, numDF, denDF] = r.fstatistic;
    const regressionSS = F * numDF * r.sigma ** 2;
    assertNear(
      table.rows.reduce((s, row) => s + row.sumSq, 0),
      regressionSS,
      1e-9,
      `${r.formula} sequential SS`,
    );
    table.rows.forEach((row) => assert.equal(row.denDF, denDF));
  }
});

test('anova(model) prints the lmerTest table', () => {
  const text = anova(lmer('yield ~ nitro * Variety + (1 | Block/Variety)', readCSV(fixture('Oats.csv')))).toString();
  const lines = text.split('\n').map((l) => l.trimEnd());
  assert.equal(lines[0], "Type III Analysis of Variance Table with Satterthwaite's method");
  assert.equal(lines[1], '              Sum Sq Mean Sq NumDF  DenDF  F value    Pr(>F)');
  assert.equal(lines[2], 'nitro          19536   19536     1 51.000 115.7713 1.002e-14 ***');
  assert.equal(lines[3], 'Variety          656     328     2 21.575   1.9423    0.1676');
  assert.equal(lines[4], 'nitro:Variety    168      84     2 51.000   0.4988    0.6102');
});

test('neurolmm anova: text, --json, --ml, and a single formula gives the F table', () => {
  const data = fixture('sleepstudy.csv');
  const formulas = ['Reaction ~ Days + (1 | Subject)', 'Reaction ~ Days + (Days | Subject)', 'Reaction ~ Days'];
  const text = runAnova({ data, formulas, json: false });
  assert.ok(text.startsWith('refitting model(s) with ML (instead of REML)\nData: sleepstudy\nModels:\nMODEL3: Reaction ~ Days\n'), text);
  const json = JSON.parse(runAnova({ data, formulas, json: true, ml: true }));
  assert.deepEqual(json.messages, []);
  assert.deepEqual(
    json.rows.map((r: { model: string }) => r.model),
    ['MODEL3', 'MODEL1', 'MODEL2'],
  );
  assert.equal(json.rows[0].Chisq, null);
  assertNear(json.rows[2].p, extraTests.likelihood_ratio.sleepstudy_lm_ri_rs.table.p[2], 1e-5, 'p');
  const single = JSON.parse(runAnova({ data, formulas: [formulas[1]], json: true }));
  assert.equal(single.type, 3);
  assertNear(single.rows[0].F, 45.8529615559, 1e-3, 'F of Days');
  assert.throws(() => runAnova({ data, formulas: [], json: false }), ModelError);
});
