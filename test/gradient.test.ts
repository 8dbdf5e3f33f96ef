/**
 * The analytic gradient of the profiled deviance (BlockedSystem.gradient) against central
 * differences, REML and ML, one to four terms, scalar and vector terms, away from the optimum.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readCSV } from '../src/frame/table';
import { lmer } from '../src/lmm/lmer';
import { assertGradientMatchesDifferences, extraReferences, fixture, lme4References } from './helpers';

const references = { ...lme4References(), ...extraReferences() };
const cases = [
  'sleepstudy_full',
  'sleepstudy_full_ml',
  'sleepstudy_uncorr',
  'pixel_nested',
  'penicillin',
  'machines_cov3',
  'oats_nested',
  'orthodont_slopes_ml',
];

for (const id of cases) {
  test(`gradient of the profiled deviance: ${id}`, () => {
    const ref = references[id];
    const model = lmer(ref.formula, readCSV(fixture(`${ref.data}.csv`)), { REML: ref.REML });
    const theta = model.theta.map((v, i) => v + 0.05 * (i + 1) * (v >= 0 ? 1 : -1) + 0.02);
    // f carries rounding noise of ~1e-10: smaller steps measure noise
    assertGradientMatchesDifferences(model, theta, ref.REML, 1e-4, 1e-4);
  });
}

test('no analytic gradient where lambda is singular (a zero diagonal)', () => {
  const ref = references.sleepstudy_full;
  const model = lmer(ref.formula, readCSV(fixture('sleepstudy.csv')));
  model.system.evaluate([0, 0.1, 0.2]);
  assert.equal(model.system.gradient(true), null);
});

test('gradient on a wide crossed tail (InstEval: sparse factor, selected inverse, threads), REML and ML', () => {
  const table = readCSV(fixture('InstEval.csv'));
  for (const REML of [true, false]) {
    const model = lmer('y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)', table, { REML, maxEvaluations: 1 });
    assertGradientMatchesDifferences(model, [0.3, 0.4, 0.12], REML, 1e-5, 1e-5);
  }
});
