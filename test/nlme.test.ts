/**
 * nlme parity: lme()/gls() with variance functions and correlation structures against nlme 3.1-162
 * (test/reference/make-nlme-references.R writes test/fixtures/nlme-fits.json). Tolerances as the
 * lme4 parity tests: fixed effects 1e-6 relative, SEs 1e-4, variance parameters 1e-3, logLik 1e-4.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { DataError, ModelError } from '../src/errors';
import { readCSV } from '../src/frame/table';
import { anova } from '../src/inference/anova';
import { lm } from '../src/lmm/lm';
import { lmer } from '../src/lmm/lmer';
import { armaAutocorrelation, corAR1, corARMA, corCAR1, corCompSymm, corSymm, partialToCoefficients } from '../src/nlme/corstruct';
import { intervals, type IntervalRow, type NlmeComparisonTable } from '../src/nlme/inference';
import { gls, lme, type NlmeModel, type NlmeOptions } from '../src/nlme/lme';
import { varComb, varExp, varIdent, varPower } from '../src/nlme/varfunc';
import { fixture, relativeError } from './helpers';

interface Rows {
  name: string;
  lower: number;
  est: number;
  upper: number;
}

interface NlmeReference {
  call: {
    fn: 'lme' | 'gls';
    formula: string;
    data: string;
    REML?: boolean;
    correlation?: { kind: 'corAR1' | 'corARMA' | 'corCompSymm' | 'corCAR1' | 'corSymm'; form: string; p?: number; q?: number };
    weights?: WeightsCall;
  };
  coefficients: { term: string[]; estimate: number[]; se: number[]; df: number[]; t: number[]; p: number[] };
  logLik: number;
  AIC: number;
  BIC: number;
  sigma: number;
  nobs: number;
  corStruct: Record<string, number> | null;
  varStruct: Record<string, number> | null;
  varcorr?: { rows: string[]; StdDev: (number | null)[] };
  intervals: {
    fixed: Rows[];
    reStruct?: Record<string, Rows[]>;
    corStruct?: Rows[];
    varStruct?: Rows[];
    sigma?: { lower: number; est: number; upper: number };
  };
  anova: Record<'sequential' | 'marginal', { term: string[]; numDF: number[]; denDF: number[] | null; F: number[]; p: number[] }>;
  residuals: Record<'response' | 'pearson' | 'normalized', number[]>;
  fitted: number[];
  fitted0?: number[];
  predict: { newdata: Record<string, unknown>[]; value: number[]; value0?: number[] };
  summary: string;
}

type WeightsCall =
  { kind: 'varIdent' | 'varPower' | 'varExp'; form: string } | { kind: 'varComb'; components: { kind: 'varIdent' | 'varPower' | 'varExp'; form: string }[] };

const simpleVarFunc = { varIdent, varPower, varExp };
const weightsOf = (w: WeightsCall) =>
  w.kind === 'varComb' ? varComb(...w.components.map((c) => simpleVarFunc[c.kind](c.form))) : simpleVarFunc[w.kind](w.form);

const reference: {
  fits: Record<string, NlmeReference>;
  lrt: Record<
    string,
    { models: string[]; df: number[]; AIC: number[]; BIC: number[]; logLik: number[]; 'L.Ratio': (number | null)[] | null; p: (number | null)[] | null }
  >;
} = JSON.parse(fs.readFileSync(fixture('nlme-fits.json'), 'utf8'));

const data = (name: string) => readCSV(fixture(`${name}.csv`));

function fitReference(ref: NlmeReference): NlmeModel {
  const c = ref.call;
  const options: NlmeOptions = { REML: c.REML ?? true, dataName: c.data };
  const cor = c.correlation;
  if (cor) {
    const simple = { corAR1, corCompSymm, corCAR1, corSymm };
    options.correlation = cor.kind === 'corARMA' ? corARMA(cor.form, { p: cor.p, q: cor.q }) : simple[cor.kind](cor.form);
  }
  if (c.weights) options.weights = weightsOf(c.weights);
  return (c.fn === 'lme' ? lme : gls)(c.formula, data(c.data), options);
}

const fits = new Map<string, NlmeModel>();
const fitted = (id: string) => {
  if (!fits.has(id)) fits.set(id, fitReference(reference.fits[id]));
  return fits.get(id)!;
};

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) assert.ok(relativeError(actual[i], expected[i]) < tolerance, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

/** Residual-type vectors: absolute error against the vector's scale. */
function assertVectorClose(actual: ArrayLike<number>, expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(...expected.map(Math.abs));
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) < tolerance * scale, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

function assertIntervals(actual: IntervalRow[] | undefined, expected: Rows[] | undefined, tolerance: number, what: string): void {
  if (!expected) return assert.equal(actual, undefined, what);
  assert.deepEqual(
    actual!.map((r) => r.name),
    expected.map((r) => r.name),
    what,
  );
  expected.forEach((r, i) => {
    // relative to the bound, or to the interval's width where a bound is near 0
    const scale = Math.max(Math.abs(r.upper - r.lower), 1e-300);
    for (const k of ['lower', 'est', 'upper'] as const)
      assert.ok(Math.abs(actual![i][k] - r[k]) < tolerance * Math.max(Math.abs(r[k]), scale), `${what} ${r.name} ${k}: ${actual![i][k]} vs ${r[k]}`);
  });
}

/** A printed line with its numbers masked: the layout, not the last digits of the optimum. */
const layout = (line: string) =>
  line
    .replace(/-?\d+(\.\d+)?(e[-+]\d+)?/g, '#')
    .replace(/\s+/g, ' ')
    .trimEnd();

for (const [id, ref] of Object.entries(reference.fits)) {
  const label = `${ref.call.fn}(${ref.call.formula}${ref.call.correlation ? `, ${ref.call.correlation.kind}` : ''}${ref.call.weights ? `, ${ref.call.weights.kind}` : ''}${ref.call.REML === false ? ', ML' : ''})`;

  test(`nlme parity ${id}: ${label} estimates`, () => {
    const m = fitted(id);
    assert.equal(m.nobs, ref.nobs);
    const c = m.coefTable();
    assert.deepEqual(c.term, ref.coefficients.term);
    const worst = Math.max(...c.estimate.map((b, i) => relativeError(b, ref.coefficients.estimate[i])));
    // where nlme stopped short of the optimum (a flat likelihood: BodyWeight's random slopes with
    // varPower), ours must be the higher likelihood, as in the lme4 parity tests
    if (worst > 1e-6) assert.ok(m.logLik() > ref.logLik && worst < 1e-5, `fixed effects differ by ${worst} (logLik ${m.logLik()} vs ${ref.logLik})`);
    assertClose(c.se, ref.coefficients.se, 1e-4, 'SE');
    assert.deepEqual(c.df, ref.coefficients.df, 'denominator df');
    assertClose(c.t, ref.coefficients.t, 1e-4, 't');
    c.p.forEach((p, i) => assert.ok(Math.abs(p - ref.coefficients.p[i]) < 1e-6 || relativeError(p, ref.coefficients.p[i]) < 1e-3, `p[${i}]`));
    assert.ok(Math.abs(m.logLik() - ref.logLik) < 1e-4, `logLik ${m.logLik()} vs ${ref.logLik}`);
    assert.ok(Math.abs(m.AIC() - ref.AIC) < 1e-4, `AIC ${m.AIC()} vs ${ref.AIC}`);
    assert.ok(Math.abs(m.BIC() - ref.BIC) < 1e-4, `BIC ${m.BIC()} vs ${ref.BIC}`);
    assert.ok(relativeError(m.sigma, ref.sigma) < 1e-3, `sigma ${m.sigma} vs ${ref.sigma}`);
    for (const [mine, theirs, what] of [
      [m.corStruct(), ref.corStruct, 'corStruct'],
      [m.varStruct(), ref.varStruct, 'varStruct'],
    ] as const) {
      assert.deepEqual(Object.keys(mine), Object.keys(theirs ?? {}), what);
      for (const [k, v] of Object.entries(theirs ?? {})) assert.ok(relativeError(mine[k], v) < 1e-3, `${what} ${k}: ${mine[k]} vs ${v}`);
    }
    // nested fits: VarCorr has a heading row per level ("Block =") with no SD
    if (ref.varcorr)
      assertClose(
        m.varCorr().map((r) => r.sd),
        ref.varcorr.StdDev.filter((sd): sd is number => sd !== null),
        1e-3,
        'random-effects SDs',
      );
  });

  test(`nlme parity ${id}: intervals()`, () => {
    const m = fitted(id);
    const iv = intervals(m);
    assertIntervals(iv.fixed, ref.intervals.fixed, 1e-4, 'fixed');
    // the R script's exact-Hessian intervals cover one grouping level
    if (!ref.intervals.sigma) return;
    for (const [group, rows] of Object.entries(ref.intervals.reStruct ?? {})) assertIntervals(iv.reStruct?.[group], rows, 1e-3, `reStruct ${group}`);
    assertIntervals(iv.corStruct, ref.intervals.corStruct, 1e-3, 'corStruct');
    assertIntervals(iv.varStruct, ref.intervals.varStruct, 1e-3, 'varStruct');
    for (const k of ['lower', 'est', 'upper'] as const) assert.ok(relativeError(iv.sigma[k], ref.intervals.sigma![k]) < 1e-3, `sigma ${k}`);
  });

  test(`nlme parity ${id}: anova() F tests with nlme's denominator df`, () => {
    const m = fitted(id);
    for (const type of ['sequential', 'marginal'] as const) {
      const table = anova(m, { type });
      const r = ref.anova[type];
      assert.deepEqual(
        table.rows.map((x) => x.term),
        r.term,
      );
      assert.deepEqual(
        table.rows.map((x) => x.numDF),
        r.numDF,
      );
      assert.deepEqual(
        table.rows.map((x) => x.denDF),
        r.denDF ?? r.term.map(() => m.n - m.p),
        `${type} denDF`,
      );
      assertClose(
        table.rows.map((x) => x.F),
        r.F,
        1e-4,
        `${type} F`,
      );
      table.rows.forEach((x, i) => assert.ok(Math.abs(x.p - r.p[i]) < 1e-6 || relativeError(x.p, r.p[i]) < 1e-3, `${type} p[${i}]`));
    }
  });

  test(`nlme parity ${id}: residuals, fitted values, predictions`, () => {
    const m = fitted(id);
    for (const type of ['response', 'pearson', 'normalized'] as const) assertVectorClose(m.residuals({ type }), ref.residuals[type], 1e-4, `${type} residuals`);
    assertVectorClose(m.fitted(), ref.fitted, 1e-6, 'fitted');
    if (ref.fitted0) assertVectorClose(m.fitted({ level: 0 }), ref.fitted0, 1e-6, 'fitted, level 0');
    assertVectorClose(m.predict(ref.predict.newdata as Record<string, string | number>[]), ref.predict.value, 1e-6, 'predict');
    if (ref.predict.value0)
      assertVectorClose(m.predict(ref.predict.newdata as Record<string, string | number>[], { level: 0 }), ref.predict.value0, 1e-6, 'predict, level 0');
  });

  test(`nlme parity ${id}: summary laid out as nlme's`, () => {
    const mine = fitted(id).summary().split('\n');
    const theirs = ref.summary.split('\n');
    assert.equal(mine.length, theirs.length);
    theirs.forEach((line, i) => {
      // the correlation table's abbreviated column names: R's abbreviate() also drops spaces and digits
      if (i > 0 && theirs[i - 1].trim() === 'Correlation:' && /\s/.test(ref.coefficients.term.join(''))) return;
      assert.equal(layout(mine[i]), layout(line), `line ${i + 1}`);
    });
  });
}

for (const [id, ref] of Object.entries(reference.lrt)) {
  test(`nlme parity: anova(${ref.models.join(', ')}) likelihood-ratio table`, () => {
    const table = anova(fitted(ref.models[0]), fitted(ref.models[1]), { names: ref.models }) as NlmeComparisonTable;
    assert.deepEqual(
      table.rows.map((r) => r.df),
      ref.df,
      id,
    );
    assertClose(
      table.rows.map((r) => r.AIC),
      ref.AIC,
      1e-6,
      'AIC',
    );
    assertClose(
      table.rows.map((r) => r.BIC),
      ref.BIC,
      1e-6,
      'BIC',
    );
    assertClose(
      table.rows.map((r) => r.logLik),
      ref.logLik,
      1e-6,
      'logLik',
    );
    const ratio = ref['L.Ratio']?.[1];
    if (ratio == null) assert.ok(Number.isNaN(table.rows[1].L_Ratio), 'no test between models with equal df');
    else {
      assert.ok(Math.abs(table.rows[1].L_Ratio - ratio) < 1e-4, `L.Ratio ${table.rows[1].L_Ratio} vs ${ratio}`);
      assert.ok(relativeError(table.rows[1].p, ref.p![1]!) < 1e-3);
      assert.match(String(table), /1 vs 2/);
    }
  });
}

test('gls without structures is lm; lme without structures is lmer', () => {
  const orthodont = data('Orthodont');
  const g = gls('distance ~ age * Sex', orthodont, { REML: false });
  const l = lm('distance ~ age * Sex', orthodont);
  assertClose(g.beta, l.beta, 1e-10, 'beta');
  assert.ok(Math.abs(g.logLik() - l.logLik()) < 1e-8);
  // gls's varBeta uses the REML-like sigma also under ML: lm's standard errors
  assertClose(g.coefTable().se, l.coefTable().se, 1e-10, 'SE');
  const m = lme('distance ~ age + (age | Subject)', orthodont);
  const r = lmer('distance ~ age + (age | Subject)', orthodont);
  assert.ok(Math.abs(m.logLik() - r.logLik()) < 1e-6);
  assertClose(m.beta, r.beta, 1e-5, 'beta');
});

test("nlme's random = '~ 1 | g' is the formula's (1 | g); method: 'ML' is REML: false", () => {
  const ovary = data('Ovary');
  const a = lme('follicles ~ sin(2*pi*Time) + cos(2*pi*Time)', ovary, { random: '~ 1 | Mare', correlation: corAR1('~ 1 | Mare'), method: 'ML' });
  const b = fitted('ovary_ar1_ml');
  assert.ok(Math.abs(a.logLik() - b.logLik()) < 1e-9);
  assert.throws(() => lme('follicles ~ Time', ovary, { random: '~ 1' }), ModelError);
  assert.throws(() => lme('follicles ~ Time + (1 | Mare)', ovary, { method: 'ML', REML: true }), ModelError);
  assert.throws(() => lme('follicles ~ Time + (1 | Mare)', ovary, { method: 'ml' as 'ML' }), /must be 'REML' or 'ML'/);
});

test('corARMA(p = 1) is corAR1; a correlation without groups in lme uses the random-effects groups', () => {
  const ovary = data('Ovary');
  const ar1 = fitted('ovary_ar1');
  const arma = lme('follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + (1 | Mare)', ovary, { correlation: corARMA('~ 1', { p: 1 }) });
  assert.ok(Math.abs(arma.logLik() - ar1.logLik()) < 1e-7);
  assert.ok(Math.abs(arma.corStruct().Phi1 - ar1.corStruct().Phi) < 1e-4);
});

test('ARMA autocorrelations and the partial-autocorrelation transform', () => {
  assertClose(armaAutocorrelation([0.5], [], 3), [1, 0.5, 0.25, 0.125], 1e-14, 'AR(1)');
  const theta = 0.4;
  assertClose(armaAutocorrelation([], [theta], 2), [1, theta / (1 + theta * theta), 0], 1e-14, 'MA(1)');
  // AR(2): rho1 = phi1 / (1 - phi2), rho2 = phi1 rho1 + phi2
  const [p1, p2] = [0.6, -0.2];
  const rho1 = p1 / (1 - p2);
  assertClose(armaAutocorrelation([p1, p2], [], 2), [1, rho1, p1 * rho1 + p2], 1e-14, 'AR(2)');
  // one partial autocorrelation is Fisher's z of phi
  assert.ok(Math.abs(partialToCoefficients([Math.log(1.5 / 0.5)], -1)[0] - 0.5) < 1e-14);
});

test('bad structures and data give one clear error', () => {
  const ovary = data('Ovary');
  const orthodont = data('Orthodont');
  assert.throws(() => lme('follicles ~ Time', ovary), /lme\(\) needs random effects/);
  assert.throws(() => gls('follicles ~ Time + (1 | Mare)', ovary), /gls\(\) takes no random-effects terms/);
  assert.throws(() => varIdent('~ Time'), ModelError);
  assert.throws(() => varPower('~ 1 | Sex'), ModelError);
  assert.throws(() => corARMA('~ 1 | g'), /corARMA needs/);
  assert.throws(
    () => gls('follicles ~ Time', ovary, { correlation: corAR1('~ Time | Mare') }),
    (e: Error) => e instanceof DataError && /integer values/.test(e.message),
  );
  assert.throws(
    () => gls('distance ~ age', orthodont, { correlation: corAR1('~ age | Sex') }),
    (e: Error) => e instanceof DataError && /unique values within groups/.test(e.message),
  );
  assert.throws(
    () => lme('distance ~ age + (1 | Subject)', orthodont, { correlation: corAR1('~ 1 | Sex') }),
    (e: Error) => e instanceof DataError && /nested within the random-effects groups/.test(e.message),
  );
  assert.throws(() => gls('distance ~ age', orthodont, { weights: varIdent('~ 1 | Nope') }), /unknown column 'Nope'/);
  assert.throws(
    () => gls('distance ~ age', orthodont, { weights: varPower('~ age - 8') }),
    (e: Error) => e instanceof DataError && /is 0 at row 1/.test(e.message),
  );
  const crossed = { y: [1, 2, 3, 4, 5, 6, 7, 8], a: ['a', 'a', 'b', 'b', 'a', 'a', 'b', 'b'], b: ['x', 'y', 'x', 'y', 'x', 'y', 'x', 'y'] };
  assert.throws(() => lme('y ~ 1 + (1 | a) + (1 | b)', crossed), /nested grouping factors/);
  const missing = { y: [1, 2, 3, 4, 5, 6], t: [1, 2, 3, 1, 2, 3], g: ['a', 'a', 'a', null, 'b', 'b'] };
  assert.throws(
    () => gls('y ~ t', missing, { correlation: corAR1('~ t | g') }),
    (e: Error) => e instanceof DataError && /missing at row 4/.test(e.message),
  );
});

test('printed anova tables and intervals as nlme prints them', () => {
  const m = fitted('ovary_ar1');
  const lines = String(anova(m)).split('\n');
  // R:  '(Intercept)            1   295 163.29306  <.0001'
  assert.equal(lines[0], '                   numDF denDF   F-value p-value');
  assert.match(lines[1], /^\(Intercept\) {12}1 {3}295 163\.29\d{3} {2}<\.0001$/);
  assert.match(String(anova(fitted('ovary_gls_ar1'))), /^Denom\. DF: 305 \n/);
  const text = String(intervals(m)).split('\n');
  assert.equal(text[0], 'Approximate 95% confidence intervals');
  assert.ok(text.includes(' Correlation structure:') && text.includes(' Within-group standard error:') && text.includes('  Level: Mare '));
  const L = anova(m, { L: [0, 1, 0] });
  assert.ok(relativeError(L.rows[0].F, anova(m, { type: 'marginal' }).rows[1].F) < 1e-10, 'L picking one coefficient is its marginal F test');
});

test('corCAR1 takes real times, corSymm integer positions from 1, varComb two or more functions', () => {
  const ovary = data('Ovary');
  const car1 = lme('follicles ~ Time + (1 | Mare)', ovary, { correlation: corCAR1('~ Time | Mare') });
  assert.ok(car1.corStruct().Phi > 0 && car1.corStruct().Phi < 1);
  const positions = { y: [1, 3, 2, 5, 4, 6], t: [0, 1, 2, 0, 1, 2], g: ['a', 'a', 'a', 'b', 'b', 'b'] };
  assert.throws(
    () => gls('y ~ 1', positions, { correlation: corSymm('~ t | g') }),
    (e: Error) => e instanceof DataError && /a position, 1 or more; it is 0 at row 1/.test(e.message),
  );
  assert.throws(
    () => varComb(varIdent('~ 1 | g')),
    (e: Error) => e instanceof ModelError && /two or more/.test(e.message),
  );
});
