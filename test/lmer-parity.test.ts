/**
 * lme4 parity: every model of shared/reference/lme4-fits.json refitted from its CSV.
 *
 * Fixed effects must agree to 1e-6 relative. Where lme4's optimizer (BOBYQA, ftol 1e-8) stopped
 * short of the optimum our optimizer reaches, the honest comparison is different: our criterion
 * must then be at least as good as lme4's, and our fixed effects at lme4's theta must reproduce
 * lme4's to 1e-8, which pins the difference on lme4's theta, not on our algebra.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readCSV } from '../src/frame/table';
import { lmer } from '../src/lmm/lmer';
import { extraReferences, fixture, lme4References, relativeError } from './helpers';

// the 12 shared references and 17 fits on data the engine was not built on (test/reference/make-references.R)
const references = { ...lme4References(), ...extraReferences() };

for (const [id, ref] of Object.entries(references)) {
  test(`lme4 parity: ${id} (${ref.formula}${ref.REML ? '' : ', ML'})`, () => {
    const model = lmer(ref.formula, readCSV(fixture(`${ref.data}.csv`)), { REML: ref.REML });
    assert.equal(model.nobs, ref.nobs);
    for (const w of ref.warnings ?? [])
      assert.ok(
        model.warnings.some((m) => m.startsWith(w.slice(0, 40))),
        `missing warning: ${w}`,
      );
    assert.deepEqual(model.xNames, Object.keys(ref.fixef));

    const lme4Criterion = (ref.REML ? ref.REMLcrit : ref.deviance) as number;
    assert.ok(model.objective <= lme4Criterion + 1e-6, `criterion ${model.objective} worse than lme4's ${lme4Criterion}`);
    assert.ok(model.logLik() >= ref.logLik - 1e-4, `logLik ${model.logLik()} vs ${ref.logLik}`);
    assert.ok(Math.abs(model.AIC() - ref.AIC) < 1e-4 || model.AIC() < ref.AIC);

    const fixef = model.fixef();
    const worstFixef = Math.max(...model.xNames.map((n) => relativeError(fixef[n], ref.fixef[n])));
    if (worstFixef > 1e-6) {
      // lme4 stopped early: only allowed when our optimum is strictly better
      assert.ok(model.objective < lme4Criterion - 1e-9, `fixef differ by ${worstFixef} without a better optimum`);
      assert.ok(worstFixef < 1e-4, `fixef differ by ${worstFixef}`);
      const e = model.system.evaluate(ref.theta);
      assert.ok(e);
      const betaAtLme4Theta = model.system.solve().beta;
      model.xNames.forEach((n, i) => assert.ok(relativeError(betaAtLme4Theta[i], ref.fixef[n]) < 1e-8, `beta(theta_lme4) ${n}`));
      model.system.evaluate(model.theta);
    }

    const coefs = model.coefTable();
    coefs.se.forEach((se, i) => assert.ok(relativeError(se, ref.coefficients.se[i]) < 1e-4, `SE ${coefs.term[i]}: ${se} vs ${ref.coefficients.se[i]}`));
    coefs.t.forEach((t, i) => assert.ok(relativeError(t, ref.coefficients.t[i]) < 1e-4, `t ${coefs.term[i]}`));

    const vc = model.varCorr();
    assert.equal(vc.length, ref.varcorr.length);
    vc.forEach((row, i) => {
      const r = ref.varcorr[i];
      assert.equal(row.grp, r.grp);
      assert.equal(row.var1, r.var1);
      assert.equal(row.var2, r.var2);
      const ok = relativeError(row.vcov, r.vcov) < 1e-3 || Math.abs(row.vcov - r.vcov) < 1e-4;
      assert.ok(ok, `VarCorr ${row.grp} ${row.var1} ${row.var2}: ${row.vcov} vs ${r.vcov}`);
    });
    assert.ok(relativeError(model.sigma, ref.sigma) < 1e-4);
    model.theta.forEach((t, i) => assert.ok(Math.abs(t - ref.theta[i]) < 1e-3 * Math.max(1, Math.abs(ref.theta[i])), `theta[${i}]`));
    assert.equal(model.isSingular(), ref.singular);

    if (ref.ranef) {
      // modes near zero are compared on the scale of their column; where lme4 stopped short of
      // the optimum (criterion worse by > 1e-9) its theta moves the modes by up to 1e-4 of that scale
      const lme4Short = model.objective < lme4Criterion - 1e-9;
      const ranef = model.ranef();
      assert.deepEqual(Object.keys(ranef).sort(), Object.keys(ref.ranef).sort());
      for (const [grp, rows] of Object.entries(ref.ranef)) {
        const ours = new Map(ranef[grp].map((r) => [r.level, r]));
        assert.equal(ours.size, rows.length, `levels of ${grp}`);
        const columns = Object.keys(rows[0]).filter((k) => k !== 'level' && k !== '_row');
        for (const col of columns) {
          const scale = Math.max(...rows.map((r) => Math.abs(r[col] as number)));
          for (const r of rows) {
            const mine = ours.get(r.level)?.[col] as number;
            const want = r[col] as number;
            const tolerance = lme4Short ? 1e-3 * scale : 1e-3 * Math.max(Math.abs(want), 1e-3 * scale) + 1e-12;
            assert.ok(Math.abs(mine - want) <= tolerance, `ranef ${grp} ${r.level} ${col}: ${mine} vs ${want}`);
          }
        }
      }
    }
  });
}

test('summary prints lme4 layout (sleepstudy, random slopes)', () => {
  const model = lmer('Reaction ~ Days + (Days | Subject)', readCSV(fixture('sleepstudy.csv')), { dataName: 'sleepstudy' });
  const text = model.summary();
  for (const line of [
    'REML criterion at convergence: 1743.6',
    '-3.9536 -0.4634  0.0231  0.4634  5.1793',
    ' Groups   Name        Variance Std.Dev. Corr',
    '          Days         35.07    5.922   0.07',
    ' Residual             654.94   25.592',
    'Number of obs: 180, groups:  Subject, 18',
    '(Intercept)  251.405      6.825',
    'Days          10.467      1.546',
    'Days -0.138',
  ])
    assert.ok(text.includes(line), `summary lacks ${JSON.stringify(line)}:\n${text}`);
});
