/**
 * Results as danfojs DataFrames: data frame -> fit -> tidy/glance/augment frames against broom and
 * broom.mixed (test/reference/make-broom.R), the conversions of the other result tables, the
 * datasets as frames, and danfojs staying unloaded until a frame is asked for.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { lmerBrainSync } from '../src/brain/lmerbrain';
import { anova, coef, confint, contrast, predict, ranef } from '../src/inference';
import { augment, datasets, glance, lm, lmer, tidy, toDataFrame, type DataFrame, type LinearMixedModel } from '../src/index';
import { mimeBundleOf } from '../src/display/mime';
import { fixture, repoRoot } from './helpers';

type Columns = Record<string, (number | string | boolean | null)[]>;
interface MixedReference {
  formula: string;
  REML: boolean;
  tidy: Columns;
  ran_vals: Columns;
  ran_coefs: Columns;
  glance: Columns;
  augment: Columns;
}
interface LinearReference {
  formula: string;
  tidy: Columns;
  glance: Columns;
  augment: Columns;
}
const references: { mixed: Record<string, MixedReference>; linear: Record<string, LinearReference> } = JSON.parse(
  fs.readFileSync(fixture('broom-references.json'), 'utf8'),
);

const DATA = { sleepstudy: 'sleepstudy', pixel: 'Pixel', machines: 'Machines' } as const;
const frameFor = (name: string): DataFrame => datasets[DATA[name.split('_')[0] as keyof typeof DATA]]({ dataFrame: true });

/**
 * Every column of `frame` equals the reference's, in the same order: labels exactly (R's NA is
 * null or NaN here), numbers to `tolerance` relative to the larger of the value and the column's
 * mean magnitude (so residuals near zero are compared on their column's scale).
 */
function assertFrame(frame: DataFrame, reference: Columns, what: string, tolerance: (column: string, row: number) => number): void {
  assert.deepEqual(frame.columns, Object.keys(reference), `${what}: columns`);
  for (const name of frame.columns) {
    const actual = frame.column(name).values as (number | string | boolean | null)[];
    // jsonlite writes a one-row column as a scalar
    const expected = ([] as Columns[string]).concat(reference[name]);
    assert.equal(actual.length, expected.length, `${what} ${name}: rows`);
    const numbers = expected.filter((v): v is number => typeof v === 'number');
    const scale = numbers.reduce((s, v) => s + Math.abs(v), 0) / Math.max(numbers.length, 1);
    expected.forEach((e, i) => {
      const a = actual[i];
      if (e === null) assert.ok(a === null || Number.isNaN(a), `${what} ${name}[${i}]: ${a} where R has NA`);
      else if (typeof e === 'number') {
        assert.equal(typeof a, 'number', `${what} ${name}[${i}]`);
        const difference = Math.abs((a as number) - e);
        const error = difference === 0 ? 0 : difference / Math.max(Math.abs(e), scale);
        assert.ok(error <= tolerance(name, i), `${what} ${name}[${i}]: ${a} vs R ${e} (relative ${error.toExponential(2)})`);
      } else assert.equal(String(a), String(e), `${what} ${name}[${i}]`);
    });
  }
}

/**
 * Tolerances as the parity tests use them: fixed effects 1e-6; what depends on the variance
 * components (standard deviations, SEs, intervals, conditional modes, leverages) 1e-4, the precision
 * to which lme4's optimizer reaches theta, Satterthwaite df and p-values 1e-3; pixel_nested 3e-3 (its
 * REML criterion is flat and lme4 stops with variances 1e-4 off, see the README).
 */
const mixedTolerance =
  (name: string, reference: Columns) =>
  (column: string, row: number): number => {
    if (name === 'pixel_nested') return 3e-3;
    const fixed = column === '.fixed' || (column === 'estimate' && reference.effect?.[row] === 'fixed');
    return fixed ? 1e-6 : column === 'p.value' || column === 'df' ? 1e-3 : 1e-4;
  };

for (const [name, reference] of Object.entries(references.mixed)) {
  test(`tidy/glance/augment of ${reference.formula}${reference.REML ? '' : ' (ML)'} from a DataFrame equal broom.mixed's`, () => {
    const fit = lmer(reference.formula, frameFor(name), { REML: reference.REML });
    assertFrame(tidy(fit, { confInt: true }), reference.tidy, `${name} tidy`, mixedTolerance(name, reference.tidy));
    assertFrame(tidy(fit, { effects: 'ran_vals', confInt: true }), reference.ran_vals, `${name} ran_vals`, mixedTolerance(name, reference.ran_vals));
    assertFrame(tidy(fit, { effects: 'ran_coefs' }), reference.ran_coefs, `${name} ran_coefs`, mixedTolerance(name, reference.ran_coefs));
    assertFrame(glance(fit), reference.glance, `${name} glance`, mixedTolerance(name, reference.glance));
    assertFrame(augment(fit), reference.augment, `${name} augment`, mixedTolerance(name, reference.augment));
  });
}

for (const [name, reference] of Object.entries(references.linear)) {
  test(`tidy/glance/augment of lm(${reference.formula}) from a DataFrame equal broom's`, () => {
    const fit = lm(reference.formula, frameFor(name));
    const tolerance = () => 1e-8;
    assertFrame(tidy(fit, { confInt: true }), reference.tidy, `${name} tidy`, tolerance);
    assertFrame(glance(fit), reference.glance, `${name} glance`, tolerance);
    assertFrame(augment(fit), reference.augment, `${name} augment`, tolerance);
  });
}

test('tidy: effect selection, vcov scales and bad options', () => {
  const fit = lmer('Reaction ~ Days + (Days | Subject)', datasets.sleepstudy());
  const fixed = tidy(fit, { effects: 'fixed' });
  assert.deepEqual(fixed.columns, ['effect', 'term', 'estimate', 'std.error', 'statistic', 'df', 'p.value']);
  const vcov = tidy(fit, { effects: 'ran_pars', scales: 'vcov' });
  assert.deepEqual(vcov.columns, ['effect', 'group', 'term', 'estimate']);
  assert.deepEqual(vcov.column('term').values, ['var__(Intercept)', 'cov__(Intercept).Days', 'var__Days', 'var__Observation']);
  const varCorr = fit.varCorr();
  assert.deepEqual(vcov.column('estimate').values, [varCorr[0].vcov, varCorr[2].vcov, varCorr[1].vcov, varCorr[3].vcov]);
  assert.throws(() => tidy(fit, { effects: 'random' as never }), /tidy effects are 'fixed', 'ran_pars', 'ran_vals', 'ran_coefs'; not 'random'/);
  assert.throws(() => tidy(fit, { confInt: true, confLevel: 95 }), /confLevel must be between 0 and 1, not 95/);
  assert.throws(() => tidy(lm('Reaction ~ Days', datasets.sleepstudy()), { effects: 'ran_vals' }), /an lm fit has fixed effects only/);
});

test('glance of named fits: a row each, named in a first column; lm and lmer columns merged', () => {
  const sleep = datasets.sleepstudy();
  const pooled = lm('Reaction ~ Days', sleep);
  const correlated = lmer('Reaction ~ Days + (Days | Subject)', sleep);
  const both = glance({ pooled, correlated });
  assert.deepEqual(both.column('model').values, ['pooled', 'correlated']);
  assert.deepEqual(both.column('AIC').values, [pooled.AIC(), correlated.AIC()]);
  assert.ok(Number.isNaN(both.column('REMLcrit').values[0] as number));
  assert.ok(Number.isNaN(both.column('r.squared').values[1] as number));
  assert.throws(() => glance({ pooled, other: 3 as never }), /glance\(\) takes a fit or an object of named fits; 'other' is not an lm\/lmer fit/);
  // shown as a rich table, R's NA for the fixed effects' missing group
  const shown = mimeBundleOf(tidy(correlated));
  assert.match(String(shown['text/plain']), /^0 fixed +NA +\(Intercept\)/m);
  assert.match(String(shown['text/html']), /<table/);
});

test('augment(fit, data): all the data columns; rows omitted for missing values get NaN, as na.exclude', () => {
  const sleep = datasets.sleepstudy();
  const reaction = Float64Array.from(sleep.column('Reaction')!.values as Float64Array);
  reaction[3] = NaN;
  const data = {
    Reaction: reaction,
    Days: sleep.column('Days')!.values,
    Subject: sleep.column('Subject')!.values,
    note: Array.from({ length: 180 }, (_, i) => `row ${i + 1}`),
  };
  const fit = lmer('Reaction ~ Days + (Days | Subject)', data);
  const frame = augment(fit, data);
  assert.deepEqual(frame.columns.slice(0, 5), ['Reaction', 'Days', 'Subject', 'note', '.fitted']);
  const fitted = frame.column('.fitted').values as number[];
  assert.equal(fitted.length, 180);
  assert.ok(Number.isNaN(fitted[3]));
  const expected = fit.fitted();
  assert.deepEqual([fitted[2], fitted[4]], [expected[2], expected[3]]);
  // without data: the model frame, at the 179 rows used
  assert.equal(augment(fit).shape[0], 179);
  assert.throws(() => augment(fit, { Reaction: [1, 2] }), /augment data has 2 rows; the model used 179 of 180/);
});

test('toDataFrame: ranef, coef, anova, likelihood-ratio, contrast, predict and confint tables carry their numbers', () => {
  const sleep = datasets.sleepstudy();
  const fit = lmer('Reaction ~ Days + (Days | Subject)', sleep);
  const modes = ranef(fit, { condVar: true }).Subject;
  const re = toDataFrame(ranef(fit, { condVar: true }));
  assert.deepEqual(re.columns, ['grpvar', 'term', 'grp', 'condval', 'condsd']);
  assert.equal(re.shape[0], 36);
  assert.deepEqual(re.iloc({ rows: [18] }).values[0], ['Subject', 'Days', '308', modes[0].Days, modes.condVar![0].condSD[0][1]]);

  const coefficients = toDataFrame(coef(fit));
  assert.deepEqual(coefficients.columns, ['group', 'level', '(Intercept)', 'Days']);
  assert.equal(coefficients.column('Days').values[1], coef(fit).Subject[1].Days);

  const table = anova(fit);
  assert.deepEqual(tidy(table).values[0], ['Days', table.rows[0].sumSq, table.rows[0].meanSq, 1, table.rows[0].denDF, table.rows[0].F, table.rows[0].p]);
  const lrt = anova(lmer('Reaction ~ Days + (1 | Subject)', sleep), fit);
  const lrtFrame = toDataFrame(lrt);
  assert.deepEqual(lrtFrame.columns, ['term', 'npar', 'AIC', 'BIC', 'logLik', 'deviance', 'statistic', 'df', 'p.value']);
  assert.deepEqual(lrtFrame.column('statistic').values[1], lrt.rows[1].Chisq);

  const test = contrast(fit, { Days: 1 });
  const c = tidy(test);
  assert.deepEqual(c.columns, ['estimate', 'std.error', 'df', 'statistic', 'p.value', 'conf.low', 'conf.high']);
  assert.equal(c.column('statistic').values[0], test.test.kind === 't' ? test.test.t : NaN);

  const newdata = { Days: [0, 5], Subject: ['308', '308'] };
  const predictions = toDataFrame({ ...newdata, prediction: predict(fit, newdata) });
  assert.deepEqual(predictions.columns, ['Days', 'Subject', 'prediction']);
  assert.deepEqual(predictions.column('prediction').values, Array.from(predict(fit, newdata)));

  const intervals = confint(fit);
  assert.deepEqual(toDataFrame(intervals).column('conf.low').values.slice(4), intervals.lower.slice(4));
  assert.deepEqual(toDataFrame(fit.varCorr() as unknown as Record<string, number | string | null>[]).columns, ['grp', 'var1', 'var2', 'vcov', 'sdcor']);
});

test('datasets as DataFrames: factors as strings, the same fits as the tables', () => {
  const machines = datasets.Machines({ dataFrame: true });
  assert.deepEqual(machines.columns, ['Worker', 'Machine', 'score']);
  assert.deepEqual(machines.dtypes, ['string', 'string', 'float32']);
  assert.equal(machines.column('Worker').values[0], '1');
  const fromFrame = lmer('score ~ Machine + (1 | Worker) + (1 | Worker:Machine)', machines);
  const fromTable = lmer('score ~ Machine + (1 | Worker) + (1 | Worker:Machine)', datasets.Machines());
  assert.deepEqual(fromFrame.theta, fromTable.theta);
  // R's level order: Worker levels numerically, as factor() on the numbers
  assert.deepEqual(
    fromFrame.ranef().Worker.map((r) => r.level),
    ['1', '2', '3', '4', '5', '6'],
  );
  assert.deepEqual(toDataFrame(datasets.Pixel()).shape, [102, 4]);
});

test("a whole-brain fit: voxel(i)'s tidy frame is broom.mixed's at that voxel; map ranges and counts as frames", () => {
  const sleep = datasets.sleepstudy();
  const reaction = sleep.column('Reaction')!.values as Float64Array;
  const nvox = 2;
  const images = new Float32Array(180 * nvox);
  for (let i = 0; i < 180; i++) {
    images[i * nvox] = reaction[i];
    images[i * nvox + 1] = reaction[i] / 2;
  }
  const fit = lmerBrainSync('Reaction ~ Days + (Days | Subject)', { Days: sleep.column('Days')!.values, Subject: sleep.column('Subject')!.values }, { images });
  const voxel: LinearMixedModel = fit.voxel(0);
  // the images hold float32 values: 1e-7 relative differences on top of the tolerances
  assertFrame(tidy(voxel, { confInt: true }), references.mixed.sleepstudy.tidy, 'voxel 0 tidy', () => 1e-3);
  assertFrame(augment(voxel), references.mixed.sleepstudy.augment, 'voxel 0 augment', () => 1e-3);
  const ranges = tidy(fit);
  assert.deepEqual(ranges.columns, ['map', 'volume', 'min', 'max']);
  const report = fit.report();
  assert.deepEqual(
    ranges.column('max').values,
    report.ranges.map((r) => r.max),
  );
  const counts = glance(fit);
  assert.deepEqual((counts.values[0] as number[]).slice(0, 4), [180, 2, 2, 2]);
});

test('danfojs is not loaded by require("neurolmm") and an lmer fit, only when a frame is asked for', () => {
  const script = `
    const neurolmm = require(${JSON.stringify(path.join(repoRoot, 'dist', 'src', 'index.js'))});
    const loaded = () => Object.keys(require.cache).some((file) => file.includes('/node_modules/danfojs/'));
    const fit = neurolmm.lmer('Reaction ~ Days + (Days | Subject)', neurolmm.datasets.sleepstudy());
    const before = loaded();
    neurolmm.tidy(fit);
    console.log(JSON.stringify({ before, after: loaded() }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
  assert.deepEqual(out, { before: false, after: true });
});
