/**
 * Nakagawa's R² and the ICC against performance 0.10.2 / insight 0.19.0
 * (test/reference/make-r-extensions.R), and a hand-derivable case.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { icc, r2, varianceComponents } from '../src/inference/r2';
import { lmer } from '../src/lmm/lmer';
import { assertNear } from './inference-helpers';
import { datasets, rExtensions } from './r-extensions-helpers';

const ref = rExtensions();

for (const c of ref.r2) {
  test(`r2 and icc: ${c.name} (${c.formula}) equal performance's`, () => {
    const model = lmer(c.formula, datasets[c.data](), { REML: c.REML });
    const v = varianceComponents(model);
    // variance components to the lme4 parity tolerance (our optimum may differ in the 5th digit)
    assertNear(v.fixed, c.var_fixed, 1e-3, 'var.fixed', 1e-9);
    assertNear(v.random, c.var_random, 1e-3, 'var.random');
    assertNear(v.residual, c.var_residual, 1e-3, 'var.residual');
    const r = r2(model);
    const i = icc(model);
    assertNear(r.values.conditional, c.r2_conditional, 1e-4, 'conditional R2');
    assertNear(r.values.marginal, c.r2_marginal, 1e-4, 'marginal R2', 1e-9);
    assertNear(i.values.adjusted, c.icc_adjusted, 1e-4, 'adjusted ICC');
    assertNear(i.values.unadjusted, c.icc_unadjusted, 1e-4, 'unadjusted ICC');
    assert.equal(String(r), c.r2_text.join('\n'));
    assert.equal(String(i), c.icc_text.join('\n'));
  });
}

test('r2: a random intercept model by hand', () => {
  const model = lmer('Reaction ~ Days + (1 | Subject)', datasets.sleepstudy());
  const v = varianceComponents(model);
  // var.random of a random intercept is its variance; var.fixed is beta_Days² var(Days) (Days 0..9 for every subject)
  const intercept = model.varCorr()[0].vcov;
  assertNear(v.random, intercept, 1e-12, 'random');
  const days = model.fixef().Days;
  const n = model.n;
  assertNear(v.fixed, (days * days * (8.25 * n)) / (n - 1), 1e-12, 'fixed');
  assertNear(icc(model).values.adjusted, intercept / (intercept + model.sigma ** 2), 1e-12, 'ICC');
});
