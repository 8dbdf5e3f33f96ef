/**
 * A fitted model is a snapshot of its optimum: evaluating its deviance function elsewhere (as
 * Satterthwaite's method, profiles and refits do) leaves its results as they were; refits reuse
 * the system's structure and give what a fresh fit gives.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datasets } from '../src/datasets';
import { conditionalVariances, ranef } from '../src/inference/conditional';
import { coefficientTests } from '../src/inference/contrast';
import { Matrix } from 'ml-matrix';
import { lm } from '../src/lmm/lm';
import { lmer } from '../src/lmm/lmer';
import type { LinearMixedModel } from '../src/lmm/model';
import type { Table } from '../src/frame/types';

function results(fit: LinearMixedModel) {
  return {
    varCorr: fit.varCorr(),
    singular: fit.isSingular(),
    condVar: conditionalVariances(fit),
    summary: fit.summary(),
    fitted: Array.from(fit.fitted()),
  };
}

function columnsOf(table: Table): Record<string, unknown[]> {
  return Object.fromEntries(table.names.map((c) => [c, Array.from(table.column(c)!.values as ArrayLike<unknown>)]));
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++)
    assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

test('evaluating the deviance function elsewhere changes no result of the fit', () => {
  const fit = lmer('Reaction ~ Days + (Days | Subject)', datasets.sleepstudy());
  const before = results(fit);
  assert.equal(before.singular, false);
  // lambda = [[0, 0], [0.5, ...]]: a singular point, where the live factor's VarCorr would read 0
  assert.ok(fit.system.evaluate([0, 0, 0.5]));
  assert.ok(fit.devfun.objective([0.5, 0.1, 0.2]) > fit.objective);
  assert.deepEqual(results(fit), before);
});

test('refit(y) reuses the structure and equals a fresh fit; the original keeps its numbers', () => {
  const data = datasets.sleepstudy();
  const fit = lmer('Reaction ~ Days + (Days | Subject)', data);
  const tests = coefficientTests(fit);
  const y = fit.frame.y!;
  // a new response: the old one with a subject-specific slope added
  const newY = Float64Array.from(y, (v, i) => v + 3 * Math.sin(fit.terms[0].codes[i]) * Number(data.column('Days')!.values[i]));
  const refitted = fit.refit(newY);
  assert.equal(refitted.system, fit.system, 'the refit shares the blocked system');
  const fresh = lmer('Reaction ~ Days + (Days | Subject)', { ...columnsOf(data), Reaction: Array.from(newY) });
  assertClose(refitted.theta, fresh.theta, 1e-5, 'theta');
  assertClose(refitted.beta, fresh.beta, 1e-8, 'beta');
  // both searches stop within 1e-5 of the optimum in theta, where the criterion is flat
  assertClose([refitted.objective], [fresh.objective], 1e-10, 'REML criterion');
  assertClose([refitted.sigma], [fresh.sigma], 1e-6, 'sigma');
  // the original's Satterthwaite df, recomputed (a new object: no cache) after the refit put its
  // own response in the shared system
  const again = coefficientTests(Object.create(fit));
  assertClose(again.df, tests.df, 1e-10, 'df after a refit');
  assert.deepEqual(fit.varCorr(), lmer('Reaction ~ Days + (Days | Subject)', data).varCorr());
});

test('refit of a crossed model (two terms) equals a fresh fit, and refitML the ML fit', () => {
  const data = datasets.Machines();
  const formula = 'score ~ Machine + (1 | Worker) + (1 | Machine:Worker)';
  const fit = lmer(formula, data);
  const y = fit.frame.y!;
  const newY = Float64Array.from(y, (v, i) => v + ((i * 7) % 5) - 2);
  const fresh = lmer(formula, { ...columnsOf(data), score: Array.from(newY) });
  const refitted = fit.refit(newY);
  assertClose(refitted.theta, fresh.theta, 1e-5, 'theta');
  assertClose(refitted.beta, fresh.beta, 1e-7, 'beta');
  const ml = fit.refitML();
  const freshMl = lmer(formula, data, { REML: false });
  assert.equal(ml.REML, false);
  assertClose([ml.objective], [freshMl.objective], 1e-9, 'ML deviance');
  assertClose(ml.beta, freshMl.beta, 1e-7, 'ML beta');
  assert.equal(fit.refitML().REML, false);
  assert.equal(ml.refitML(), ml);
});

test("fit.ranef() and ranef(fit) have lme4's shape: a row per level for each grouping factor", () => {
  const fit = lmer('Reaction ~ Days + (Days | Subject)', datasets.sleepstudy());
  assert.deepEqual(ranef(fit), fit.ranef());
  const withVariances = ranef(fit, { condVar: true }).Subject;
  assert.deepEqual([...withVariances], fit.ranef().Subject);
  assert.deepEqual(withVariances.condVar, conditionalVariances(fit).Subject);
  assert.deepEqual(Object.keys(withVariances[0]), ['level', '(Intercept)', 'Days']);
});

test('vcov() and modelMatrix() are ml-matrix matrices in the coefficients order (lmer and lm)', () => {
  const data = datasets.sleepstudy();
  const days = Array.from(data.column('Days')!.values as Float64Array);
  for (const fit of [lmer('Reaction ~ Days + (Days | Subject)', data), lm('Reaction ~ Days', data)]) {
    const v = fit.vcov();
    assert.ok(v instanceof Matrix);
    assert.deepEqual([v.rows, v.columns], [2, 2]);
    assert.ok(v.isSymmetric());
    assertClose(v.diag().map(Math.sqrt), fit.coefTable().se, 1e-14, 'sqrt(diag(vcov))');
    const X = fit.modelMatrix();
    assert.deepEqual([X.rows, X.columns], [180, 2]);
    assert.deepEqual(X.getColumn(0), new Array(180).fill(1));
    assert.deepEqual(X.getColumn(1), days);
  }
});
