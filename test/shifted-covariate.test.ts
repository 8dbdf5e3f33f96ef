/**
 * A covariate far from 0 next to an intercept: sleepstudy with Days shifted by 1e6. The shifted
 * model is the unshifted one in other coordinates (x' = x + c), so every result is known by hand
 * from the unshifted fit, itself checked against lme4 (test/fixtures/lme4-fits.json): the same
 * criterion, sigma, slope and slope inference; the intercept b0' = b0 - c b1 with its SE and df
 * those of the contrast (1, -c); the random effects' covariance Var(b0') = s00 - 2c s01 + c^2 s11,
 * Cov(b0', b1) = s01 - c s11; conditional modes b0'_i = b0_i - c b1_i.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anova, checkConvergence, conditionalVariances, confint, contrast, datasets, kenwardRoger, lm, lmer, predict, r2 } from '../src';
import { satterthwaite1D } from '../src/lmm/satterthwaite';
import type { LinearMixedModel } from '../src/lmm/model';
import { lmerBrainSync } from '../src/brain/lmerbrain';
import { hatValues } from '../src/tidy/hat';
import { ModelError } from '../src/errors';
import { lme4References } from './helpers';

const SHIFT = 1e6;
const sleep = datasets.sleepstudy();
const [reaction, days, subject] = ['Reaction', 'Days', 'Subject'].map((name) => sleep.column(name)!.values);
const data = (shift: number) => ({ Reaction: reaction, Days: Float64Array.from(days as Float64Array, (d) => d + shift), Subject: subject });
const reference = lme4References();

/** |actual - expected| within `tolerance` relative to `scale` (the size of the terms the expected value is made of) */
function near(actual: number, expected: number, tolerance: number, what: string, scale = Math.abs(expected)): void {
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(scale, 1e-300), `${what}: ${actual} vs ${expected}`);
}

/** The covariance of the two coefficients (intercept, Days) after the shift, from the unshifted one: T^-1 V T^-T, T^-1 = [[1, -c], [0, 1]]. */
function shiftedCovariance(v00: number, v01: number, v11: number, c: number) {
  return { v00: v00 - 2 * c * v01 + c * c * v11, v01: v01 - c * v11, v11 };
}

/** The (Intercept, Days) random-effects covariance of the model's first term and its residual variance. */
function subjectCovariance(fit: LinearMixedModel) {
  const rows = fit.varCorr();
  const get = (var1: string, var2: string | null) => rows.find((r) => r.grp === 'Subject' && r.var1 === var1 && r.var2 === var2)!;
  return { s00: get('(Intercept)', null).vcov, s11: get('Days', null).vcov, s01: get('(Intercept)', 'Days').vcov, cor: get('(Intercept)', 'Days').sdcor };
}

test('(Days | Subject) with Days + 1e6: the unshifted fit in the shifted coordinates', () => {
  const formula = 'Reaction ~ Days + (Days | Subject)';
  const base = lmer(formula, data(0));
  const ref = reference.sleepstudy_full;
  // the unshifted fit is lme4's
  near(base.objective, ref.REMLcrit!, 1e-9, 'unshifted REML criterion');
  base.coefTable().se.forEach((se, j) => near(se, ref.coefficients.se[j], 1e-5, `unshifted SE ${j}`));

  const fit = lmer(formula, data(SHIFT));
  near(fit.objective, ref.REMLcrit!, 1e-9, 'REML criterion');
  near(fit.logLik(), base.logLik(), 1e-9, 'logLik');
  near(fit.sigma, ref.sigma, 1e-6, 'sigma');
  assert.ok(fit.optimizer.converged);
  assert.equal(fit.isSingular(), false);
  // lme4 warns about the columns' spreads only, and Days + 1e6 spreads as Days does
  assert.deepEqual(fit.warnings, []);

  // fixed effects: b0' = b0 - c b1, Var by T^-1 V T^-T; the intercept's df are those of the contrast (1, -c)
  const [b0, b1] = base.beta;
  near(fit.beta[1], b1, 1e-6, 'slope');
  near(fit.beta[0], b0 - SHIFT * b1, 1e-6, 'intercept', SHIFT * b1);
  near(fit.beta[0] + SHIFT * fit.beta[1], b0, 1e-7, "the shifted fit's intercept at Days = 0", SHIFT * b1);
  const V = base.vcovMatrix();
  const expectedV = shiftedCovariance(V[0], V[2], V[3], SHIFT);
  const fitV = fit.vcovMatrix();
  near(fitV[0], expectedV.v00, 1e-5, 'Var(intercept)');
  near(fitV[2], expectedV.v01, 1e-5, 'Cov(intercept, slope)');
  near(fitV[3], expectedV.v11, 1e-5, 'Var(slope)');
  const tests = fit.toJSON().coefficients;
  near(tests.df![1], ref.coefficients.df[1], 1e-5, 'slope df');
  near(tests.df![0], satterthwaite1D(base, [1, -SHIFT]).df, 1e-4, 'intercept df');
  near(tests.t[1], ref.coefficients.t[1], 1e-5, 'slope t');
  near(tests.p![1], ref.coefficients.p[1], 1e-4, 'slope p');

  // random effects: Var(b0') = s00 - 2c s01 + c^2 s11, Cov(b0', b1) = s01 - c s11, and the correlation with them
  const s = subjectCovariance(base);
  const expectedS = shiftedCovariance(s.s00, s.s01, s.s11, SHIFT);
  const fitS = subjectCovariance(fit);
  near(fitS.s00, expectedS.v00, 1e-5, 'Var(b0)');
  near(fitS.s01, expectedS.v01, 1e-5, 'Cov(b0, b1)');
  near(fitS.s11, s.s11, 1e-5, 'Var(b1)');
  near(fitS.cor, expectedS.v01 / Math.sqrt(expectedS.v00 * expectedS.v11), 1e-6, 'correlation');
  // theta: the Cholesky factor of Sigma' / sigma^2 (its last element from det Sigma' = det Sigma)
  const s2 = base.sigma ** 2;
  const det = s.s00 * s.s11 - s.s01 * s.s01;
  near(fit.theta[0], Math.sqrt(expectedS.v00 / s2), 1e-5, 'theta 1');
  near(fit.theta[1], expectedS.v01 / Math.sqrt(expectedS.v00 * s2), 1e-5, 'theta 2');
  near(fit.theta[2], Math.sqrt(det / expectedS.v00 / s2), 1e-4, 'theta 3');

  // conditional modes b0'_i = b0_i - c b1_i, and their conditional variances by T_t^-1 V T_t^-T
  const baseModes = base.ranef().Subject;
  fit.ranef().Subject.forEach((row, i) => {
    const expected = baseModes[i];
    assert.equal(row.level, expected.level);
    near(row.Days as number, expected.Days as number, 1e-4, `b1 of ${row.level}`, 1);
    near((row['(Intercept)'] as number) + SHIFT * (row.Days as number), expected['(Intercept)'] as number, 1e-4, `b0 at Days = 0 of ${row.level}`, 1);
  });
  const basePost = conditionalVariances(base).Subject[0].postVar;
  conditionalVariances(fit).Subject[0].postVar.forEach((P, i) => {
    const B = basePost[i];
    const expected = shiftedCovariance(B[0], B[2], B[3], SHIFT);
    near(P[0], expected.v00, 1e-5, `postVar intercept ${i}`);
    near(P[3], B[3], 1e-5, `postVar slope ${i}`);
  });

  // what is seen on the data's scale is the same
  const fitted = fit.fitted();
  base.fitted().forEach((v, i) => near(fitted[i], v, 1e-6, `fitted ${i}`));
  near(predict(fit, { Days: [SHIFT + 4.5], Subject: ['309'] })[0], predict(base, { Days: [4.5], Subject: ['309'] })[0], 1e-6, 'prediction');
  const leverages = hatValues(fit)!;
  hatValues(base)!.forEach((h, i) => near(leverages[i], h, 1e-6, `leverage ${i}`));
  near(r2(fit).values.conditional, r2(base).values.conditional, 1e-6, 'conditional R2');
  near(kenwardRoger(fit).ddf([Float64Array.of(0, 1)]), kenwardRoger(base).ddf([Float64Array.of(0, 1)]), 1e-5, 'Kenward-Roger df');
  const type3 = anova(fit, { type: 3 }).rows[0];
  near(type3.F, ref.anova_type3![0]['F value'] as number, 1e-5, 'anova F');
  near(type3.denDF, ref.anova_type3![0].DenDF as number, 1e-5, 'anova DenDF');
  // profiling the intercept's SD and its correlation near -1 would be ill-conditioned: refused with a message
  assert.throws(
    () => confint(fit, { method: 'profile' }),
    (e: unknown) => e instanceof ModelError && /centre them, or use method 'boot'/.test(e.message),
  );
  // the allFit-like check starts and searches where lme4's start is meaningful: every refit agrees
  const check = checkConvergence(fit);
  assert.ok(check.agree, String(check));
  near(check.refits[4].fixef[0], fit.beta[0], 1e-6, "Nelder-Mead's intercept, on the user's scale");
  const slope = contrast(fit, { Days: 1 });
  near((slope.test as { df: number }).df, ref.coefficients.df[1], 1e-5, 'contrast df');
});

test('Days + 1e6 as a fixed effect only, and in lm: the same fits', () => {
  const ref = reference.sleepstudy_ri;
  const base = lmer('Reaction ~ Days + (1 | Subject)', data(0));
  const fit = lmer('Reaction ~ Days + (1 | Subject)', data(SHIFT));
  near(fit.objective, ref.REMLcrit!, 1e-9, 'REML criterion');
  near(fit.sigma, ref.sigma, 1e-6, 'sigma');
  near(fit.beta[1], ref.fixef.Days, 1e-6, 'slope');
  near(fit.beta[0] + SHIFT * fit.beta[1], ref.fixef['(Intercept)'], 1e-7, 'the intercept at Days = 0', SHIFT * ref.fixef.Days);
  near(fit.varCorr()[0].vcov, ref.varcorr[0].vcov, 1e-5, 'Var(b0)');
  const tests = fit.toJSON().coefficients;
  near(tests.se[1], ref.coefficients.se[1], 1e-5, 'slope SE');
  near(tests.df![1], ref.coefficients.df[1], 1e-5, 'slope df');
  near(tests.df![0], satterthwaite1D(base, [1, -SHIFT]).df, 1e-4, 'intercept df');
  // profile intervals: the variance parameters' and the slope's are the unshifted ones; the
  // intercept's, of b0 - c b1 = -c (b1 - b0 / c), tend to -c times the slope's moved by -b0 / c
  const [interval, baseInterval] = [fit, base].map((m) => confint(m, { method: 'profile' }).toJSON());
  for (let k = 0; k < 4; k++) {
    if (k === 2) continue;
    near(interval.lower[k], baseInterval.lower[k], 1e-6, `profile lower ${interval.names[k]}`);
    near(interval.upper[k], baseInterval.upper[k], 1e-6, `profile upper ${interval.names[k]}`);
  }
  const moved = -base.beta[0] / SHIFT;
  near(interval.lower[2], -SHIFT * (baseInterval.upper[3] + moved), 1e-5, 'profile lower (Intercept)');
  near(interval.upper[2], -SHIFT * (baseInterval.lower[3] + moved), 1e-5, 'profile upper (Intercept)');
  // ML refits (the likelihood-ratio test) map the same way
  const lrt = anova(lmer('Reaction ~ 1 + (1 | Subject)', data(SHIFT)), fit);
  const baseLrt = anova(lmer('Reaction ~ 1 + (1 | Subject)', data(0)), base);
  near(lrt.rows[1].deviance, baseLrt.rows[1].deviance, 1e-9, 'ML deviance');
  near(lrt.rows[1].Chisq, baseLrt.rows[1].Chisq, 1e-6, 'chi-squared');

  const ols = lm('Reaction ~ Days', data(0));
  const shifted = lm('Reaction ~ Days', data(SHIFT));
  near(shifted.sigma, ols.sigma, 1e-9, 'lm sigma');
  near(shifted.beta[1], ols.beta[1], 1e-9, 'lm slope');
  near(shifted.beta[0], ols.beta[0] - SHIFT * ols.beta[1], 1e-9, 'lm intercept', SHIFT * ols.beta[1]);
  near(shifted.coefTable().se[1], ols.coefTable().se[1], 1e-9, 'lm slope SE');
});

test('a whole-brain fit with Days + 1e6: the unshifted maps, the intercept and D in the shifted coordinates', () => {
  const n = reaction.length;
  const voxels = 2;
  const images = Float32Array.from({ length: n * voxels }, (_, k) => (reaction[Math.floor(k / voxels)] as number) + 7 * Math.sin(k) * ((k % voxels) + 1));
  const brain = (shift: number) =>
    lmerBrainSync('Reaction ~ Days + (Days | Subject)', data(shift), { images, contrasts: { Days: 'Days', atDay5: [1, 5 + shift] } });
  const base = brain(0);
  const fit = brain(SHIFT);
  for (let v = 0; v < voxels; v++) near(fit.llh[v], base.llh[v], 1e-9, `llh ${v}`);
  // the contrasts are the user's: the slope, and the mean at day 5 whatever the shift
  for (const name of ['con', 'conSE', 'conT', 'conT_swedf']) {
    const shifted = fit.map(name);
    base.map(name).forEach((value, i) => near(shifted[i], value, 1e-5, `${name}[${i}]`));
  }
  // beta: the intercept b0 - c b1 (volumes intercept then Days, voxel-major within a volume)
  const [b, bBase] = [fit.map('beta'), base.map('beta')];
  for (let v = 0; v < voxels; v++) {
    near(b[voxels + v], bBase[voxels + v], 1e-5, `slope ${v}`);
    near(b[v] + SHIFT * b[voxels + v], bBase[v], 1e-5, `intercept at Days = 0, voxel ${v}`, SHIFT * bBase[voxels + v]);
  }
  // D: var(intercept), cov(Days, intercept), var(Days) per voxel, as Var(b0') and Cov(b0', b1) above
  const [D, DBase] = [fit.map('D'), base.map('D')];
  for (let v = 0; v < voxels; v++) {
    const expected = shiftedCovariance(DBase[v], DBase[voxels + v], DBase[2 * voxels + v], SHIFT);
    near(D[v], expected.v00, 1e-5, `D var(intercept) ${v}`);
    near(D[voxels + v], expected.v01, 1e-5, `D cov ${v}`);
    near(D[2 * voxels + v], expected.v11, 1e-5, `D var(Days) ${v}`);
  }
});
