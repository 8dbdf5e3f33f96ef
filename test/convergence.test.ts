/**
 * Warnings in plain words (checked against what lme4 reports for the same fits in the R
 * references: which variance is 0, which correlation is +-1, which column was dropped) and the
 * allFit-like refits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readCSV } from '../src/frame/table';
import { checkConvergence } from '../src/inference/convergence';
import { RRandom } from '../src/stats/rng';
import { explainWarnings } from '../src/lmm/explain';
import { lmer } from '../src/lmm/lmer';
import { extraReferences, fixture, lme4References, relativeError } from './helpers';

const extra = extraReferences();

test('explained: a random intercept variance of 0 (lme4: singular, variance 0)', () => {
  const ref = extra.singular_sim;
  assert.ok(ref.singular && ref.varcorr[0].vcov < 1e-8);
  const model = lmer(ref.formula, readCSV(fixture(`${ref.data}.csv`)));
  const [e] = explainWarnings(model);
  assert.equal(e.lme4, "boundary (singular) fit: see help('isSingular')");
  assert.match(e.explanation, /^singular fit: the g intercept variance is estimated as 0; the model is too rich for these data/);
  // lme4's wording stays in the summary, the explanation follows
  const summary = model.summary();
  assert.ok(summary.indexOf("boundary (singular) fit: see help('isSingular')") < summary.indexOf('In plain words:'));
  assert.match(summary, /  - singular fit: the g intercept variance is estimated as 0/);
});

test('explained: a correlation of +1 (lme4: singular, correlation 1)', () => {
  const ref = extra.oats_slopes_singular;
  assert.equal(ref.varcorr[2].sdcor, 1);
  const model = lmer(ref.formula, readCSV(fixture(`${ref.data}.csv`)));
  assert.deepEqual(
    explainWarnings(model).map((e) => e.explanation.split(';')[0]),
    ['singular fit: the correlation of the Block intercept and nitro slope is estimated as +1'],
  );
});

test('explained: a slope variance of 0 names the slope', () => {
  // 20 subjects with their own intercepts and one common slope: the slope variance has nothing to fit
  const random = new RRandom(3);
  const y: number[] = [];
  const Days: number[] = [];
  const Subject: string[] = [];
  for (let g = 0; g < 20; g++) {
    const intercept = 10 * random.normal();
    for (let t = 0; t < 8; t++) {
      y.push(100 + intercept + 2 * t + 5 * random.normal());
      Days.push(t);
      Subject.push(`s${g}`);
    }
  }
  const model = lmer('y ~ Days + (Days || Subject)', { y, Days, Subject });
  assert.ok(model.isSingular());
  assert.deepEqual(
    explainWarnings(model).map((e) => e.explanation.split(';')[0]),
    ['singular fit: the Subject Days slope variance is estimated as 0'],
  );
});

test('explained: a dropped column is named', () => {
  const ref = extra.sleepstudy_rankdef;
  const model = lmer(ref.formula, readCSV(fixture(`${ref.data}.csv`)));
  const [e] = explainWarnings(model);
  assert.equal(e.lme4, ref.warnings![0]);
  assert.match(e.explanation, /^the fixed-effect column Days2 is a combination of other columns .* not estimable and was dropped/);
});

test('checkConvergence: the refits of sleepstudy agree, with each other and with lme4', () => {
  const ref = lme4References().sleepstudy_full;
  const model = lmer('Reaction ~ Days + (Days | Subject)', readCSV(fixture('sleepstudy.csv')));
  const check = checkConvergence(model);
  assert.equal(check.refits.length, 5);
  assert.ok(check.agree, String(check));
  for (const refit of check.refits) {
    assert.ok(refit.converged, refit.name);
    Object.values(ref.fixef).forEach((b, j) => assert.ok(relativeError(refit.fixef[j], b) < 1e-6, `${refit.name} fixef ${j}`));
    ref.varcorr.forEach((row, i) => assert.ok(Math.abs(refit.sdcor[i] - row.sdcor) < 1e-3 * Math.max(1, Math.abs(row.sdcor)), `${refit.name} sdcor ${i}`));
  }
  assert.match(String(check), /The refits agree with the fit/);
  // the model's own system is left at its optimum
  assert.equal(model.objectiveAt(model.theta), model.objective);
});

test('checkConvergence: a fit stopped early is explained and found out', () => {
  const model = lmer('Reaction ~ Days + (Days | Subject)', readCSV(fixture('sleepstudy.csv')), { maxEvaluations: 2 });
  const failure = explainWarnings(model).find((e) => e.lme4.startsWith('convergence failure'));
  assert.ok(failure, model.warnings.join('\n'));
  assert.match(failure.explanation, /stopped before reaching the optimum.*checkConvergence/);
  const check = checkConvergence(model);
  assert.ok(!check.agree);
  assert.ok(check.better && check.better.objective < model.objective);
  assert.match(String(check), /reached a lower criterion, so the fit stopped short of the optimum/);
});
