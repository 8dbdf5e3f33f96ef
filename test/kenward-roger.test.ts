/**
 * Kenward-Roger against pbkrtest 0.5.2 / lmerTest 3.1-3 / emmeans (test/reference/make-r-extensions.R):
 * the adjusted covariance, coefficient df, Type I and III anova tables and emmeans's
 * Kenward-Roger tables, on sleepstudy, Machines, Oats and Penicillin (two random terms); and on
 * a crossed design of 1,728 observations with vector-valued terms (make-kenward-roger.R).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { ModelError } from '../src/errors';
import { readCSV } from '../src/frame/table';
import { anova } from '../src/inference/anova';
import { coefficientTests, contrast } from '../src/inference/contrast';
import { emmeans } from '../src/inference/emmeans';
import { kenwardRoger } from '../src/inference/kenward-roger';
import { lmer } from '../src/lmm/lmer';
import { fixture } from './helpers';
import { assertNear } from './inference-helpers';
import { datasets, rExtensions } from './r-extensions-helpers';

const ref = rExtensions();
// our REML optimum may differ from lme4's in the fifth digit of theta (see the lme4 parity tests)
const TOLERANCE = 1e-4;

for (const c of ref.kenward_roger) {
  test(`Kenward-Roger: ${c.name} (${c.formula}) equals pbkrtest / lmerTest`, () => {
    const model = lmer(c.formula, datasets[c.data]());
    const kr = kenwardRoger(model);
    Array.from(kr.vcovAdjusted).forEach((v, i) => assertNear(v, c.vcov_adjusted[i], TOLERANCE, `vcovAdj[${i}]`, 1e-9));
    Array.from(kr.vcov).forEach((v, i) => assertNear(v, model.vcovMatrix()[i], 1e-8, `vcov[${i}]`, 1e-12));
    const t = coefficientTests(model, 'Kenward-Roger');
    c.term.forEach((name: string, j: number) => {
      assertNear(t.se[j], c.se[j], TOLERANCE, `${name} SE`);
      assertNear(t.df[j], c.df[j], TOLERANCE, `${name} df`);
      assertNear(t.p[j], c.p[j], 1e-3, `${name} p`, 1e-12);
    });
    for (const type of [1, 3] as const) {
      const expected = type === 1 ? c.anova_type1 : c.anova_type3;
      const table = anova(model, { type, ddf: 'Kenward-Roger' });
      assert.deepEqual(
        table.rows.map((r) => r.term),
        expected.term,
      );
      if (expected.term.length) assert.match(String(table), /^Type I+ Analysis of Variance Table with Kenward-Roger's method/);
      table.rows.forEach((row, i) => {
        for (const key of ['sumSq', 'meanSq', 'numDF', 'denDF', 'F'] as const)
          assertNear(row[key], expected[key][i], TOLERANCE, `Type ${type} ${row.term} ${key}`);
        assertNear(row.p, expected.p[i], 1e-3, `Type ${type} ${row.term} p`, 1e-12);
      });
    }
    if (c.emmeans) {
      const e = emmeans(model, c.specs, { df: 'kenward-roger' });
      e.summary().forEach((row, i) => {
        assertNear(row.emmean, c.emmeans.emmean[i], 1e-6, `emmean ${i}`);
        assertNear(row.SE, c.emmeans.SE[i], TOLERANCE, `emmean SE ${i}`);
        assertNear(row.df, c.emmeans.df[i], TOLERANCE, `emmean df ${i}`);
      });
      e.pairs()
        .summary()
        .forEach((row, i) => {
          assert.equal(row.contrast, c.pairs.contrast[i]);
          assertNear(row.SE, c.pairs.SE[i], TOLERANCE, `pair SE ${i}`);
          assertNear(row.df, c.pairs.df[i], TOLERANCE, `pair df ${i}`);
          assertNear(row.p, c.pairs['p.value'][i], 1e-3, `pair p ${i}`, 1e-8);
        });
      assert.match(String(e), /Degrees-of-freedom method: kenward-roger/);
    }
  });
}

test('Kenward-Roger: a contrast uses the adjusted covariance; ML fits are refused as in lmerTest', () => {
  const model = lmer('Reaction ~ Days + (Days | Subject)', datasets.sleepstudy());
  const t = contrast(model, { Days: 1 }, { ddf: 'Kenward-Roger' }).toJSON();
  const kr = kenwardRoger(model);
  assert.equal(t.kind, 't');
  if (t.kind === 't') {
    assertNear(t.se, Math.sqrt(kr.vcovAdjusted[3]), 1e-12, 'SE');
    assertNear(t.df, ref.kenward_roger[0].df[1], TOLERANCE, 'df');
  }
  const ml = lmer('Reaction ~ Days + (Days | Subject)', datasets.sleepstudy(), { REML: false });
  assert.throws(
    () => anova(ml, { ddf: 'Kenward-Roger' }),
    (e: Error) => e instanceof ModelError && /only available for REML model fits/.test(e.message),
  );
});

test('Kenward-Roger on 1,728 crossed observations with a slope on each factor equals pbkrtest (make-kenward-roger.R)', () => {
  const c = JSON.parse(fs.readFileSync(fixture('kenward-roger-crossed.json'), 'utf8'));
  const data = readCSV(fixture('kr-crossed.csv'));
  // at lme4's theta (our optimum differs in its fifth digit) the algebra is compared alone, to rounding
  const model = lmer(c.formula, data, { start: c.theta, maxEvaluations: 1 });
  assert.deepEqual(model.theta, c.theta);
  const exact = 1e-9;
  const kr = kenwardRoger(model);
  Array.from(kr.vcovAdjusted).forEach((v, i) => assertNear(v, c.vcov_adjusted[i], exact, `vcovAdj[${i}]`));
  const t = coefficientTests(model, 'Kenward-Roger');
  c.term.forEach((name: string, j: number) => {
    assertNear(t.se[j], c.se[j], exact, `${name} SE`);
    assertNear(t.df[j], c.df[j], exact, `${name} df`);
    assertNear(t.p[j], c.p[j], 1e-6, `${name} p`, 1e-12);
  });
  const table = anova(model, { type: 3, ddf: 'Kenward-Roger' });
  assert.deepEqual(
    table.rows.map((r) => r.term),
    c.anova_type3.term,
  );
  table.rows.forEach((row, i) => {
    for (const key of ['numDF', 'denDF', 'F'] as const) assertNear(row[key], c.anova_type3[key][i], exact, `${row.term} ${key}`);
    assertNear(row.p, c.anova_type3.p[i], 1e-6, `${row.term} p`, 1e-12);
  });
  // and at our own optimum, within the parity tests' tolerance
  const fitted = coefficientTests(lmer(c.formula, data), 'Kenward-Roger');
  c.term.forEach((name: string, j: number) => assertNear(fitted.df[j], c.df[j], TOLERANCE, `${name} df at our optimum`));
});
