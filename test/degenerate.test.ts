/**
 * Degenerate responses and badly scaled covariates: a constant response, an exact linear response
 * (R's "essentially perfect fit" and a residual SE at rounding level, computed by QR), and
 * sleepstudy with Days rescaled, where the criterion must be the unscaled fit's up to the exact
 * log-Jacobian of the reparametrization.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { datasets } from '../src/datasets';
import { ModelError } from '../src/errors';
import { lm } from '../src/lmm/lm';
import { lmer } from '../src/lmm/lmer';
import { relativeError, repoRoot } from './helpers';

/** R 4.x summary(lm(...)) on the same data (test/reference/make-degenerate.R) */
const reference = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'reference', 'degenerate.json'), 'utf8'));

const x = Array.from({ length: 10 }, (_, i) => i + 1);
const PERFECT = 'essentially perfect fit: summary may be unreliable';

test("an exact linear response: the coefficients, a residual SE at rounding level and R's warning", () => {
  const fit = lm('y ~ x', { x, y: x.map((v) => 2 + 3 * v) });
  assert.ok(Math.abs(fit.fixef()['(Intercept)'] - 2) < 1e-13 && Math.abs(fit.fixef().x - 3) < 1e-14);
  // R: 1.29e-15; the normal equations gave 1.6e-7
  assert.ok(fit.sigma < 1e-14, `sigma ${fit.sigma}`);
  assert.ok(reference.linear.sigma < 1e-14);
  assert.ok(fit.warnings.includes(PERFECT));
  assert.match(fit.summary(), /essentially perfect fit: summary may be unreliable$/);
  // an ordinary fit has no such warning
  assert.ok(!lm('y ~ x', { x, y: x.map((v) => 2 + 3 * v + Math.sin(v)) }).warnings.includes(PERFECT));
});

test('a constant response: lm fits it as R does, lmer says the response is constant', () => {
  const fit = lm('y ~ x', { x, y: x.map(() => 5) });
  // R's own numbers: the same QR (LINPACK dqrdc2) gives the same rounding
  assert.ok(relativeError(fit.sigma, reference.constant.sigma) < 1e-6, `sigma ${fit.sigma} vs R ${reference.constant.sigma}`);
  assert.ok(relativeError(fit.fixef().x, reference.constant.slope) < 1e-6);
  assert.equal(fit.fixef()['(Intercept)'].toPrecision(12), '5.00000000000');
  assert.ok(fit.warnings.includes(PERFECT));
  const g = x.flatMap((v) => [`a${v % 3}`, `b${v % 3}`]);
  assert.throws(
    () => lmer('y ~ 1 + (1 | g)', { y: g.map(() => 5), g }),
    (e: unknown) => e instanceof ModelError && e.message === 'the response is constant (all 20 values are 5): there is no variation for the model to explain',
  );
});

test('rescaled Days in sleepstudy: the REML criterion is the unscaled one plus the log-Jacobian, the deviance the same', () => {
  const s = datasets.sleepstudy();
  const days = Float64Array.from(s.column('Days')!.values as Float64Array);
  const data = (scale: number) => ({
    Reaction: s.column('Reaction')!.values as Float64Array,
    D: days.map((d) => d * scale),
    Subject: s.column('Subject')!.values as string[],
  });
  const formula = 'Reaction ~ D + (D | Subject)';
  const base = lmer(formula, data(1));
  const baseML = lmer(formula, data(1), { REML: false });
  for (const scale of [1e6, 1e-6]) {
    const fit = lmer(formula, data(scale));
    // X = X~ T with T = diag(1, scale): log det(X'V^-1 X) gains 2 log(scale), nothing else changes
    const jacobian = 2 * Math.log(scale);
    assert.ok(Math.abs(fit.objective - (base.objective + jacobian)) < 1e-6, `scale ${scale}: REML ${fit.objective} vs ${base.objective + jacobian}`);
    const ml = lmer(formula, data(scale), { REML: false });
    assert.ok(Math.abs(ml.objective - baseML.objective) < 1e-6, `scale ${scale}: deviance ${ml.objective} vs ${baseML.objective}`);
    assert.ok(relativeError(fit.sigma, base.sigma) < 1e-6);
    assert.ok(relativeError(fit.fixef().D * scale, base.fixef().D) < 1e-6);
    assert.ok(
      relativeError(
        fit.varCorr().find((r) => r.var1 === 'D' && r.var2 === null)!.sdcor * scale,
        base.varCorr().find((r) => r.var1 === 'D' && r.var2 === null)!.sdcor,
      ) < 1e-5,
    );
    assert.equal(fit.isSingular(), false, 'the fit is not singular, whatever the units of D');
    assert.ok(fit.optimizer.converged);
    // lme4's message about the scales
    assert.ok(fit.warnings.includes('Some predictor variables are on very different scales: consider rescaling'));
  }
  assert.deepEqual(base.warnings, []);
});
