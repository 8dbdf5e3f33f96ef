/**
 * Satterthwaite's df for lme() fits against test/fixtures/nlme-satterthwaite.json
 * (test/reference/make-nlme-satterthwaite.R: lmerTest's method over nlme's variance parameters,
 * by central differences of nlme's REML/ML log-likelihood; lmerTest itself where there is no
 * residual structure).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { ModelError } from '../src/errors';
import { readCSV } from '../src/frame/table';
import { lmer } from '../src/lmm/lmer';
import { corAR1 } from '../src/nlme/corstruct';
import { nlmeAnova } from '../src/nlme/inference';
import { gls, lme, type NlmeOptions } from '../src/nlme/lme';
import { varIdent } from '../src/nlme/varfunc';
import { coefficientTests, contrast, type FTestResult } from '../src/inference/contrast';
import { fixture, relativeError } from './helpers';

interface SatterthwaiteReference {
  call: { formula: string; data: string; REML?: boolean; correlation?: { kind: 'corAR1'; form: string }; weights?: { kind: 'varIdent'; form: string } };
  terms: string[];
  coef_df: number[];
  L: number[][];
  F_ddf: number;
  lmerTest_df?: number[];
}

const reference: { fits: Record<string, SatterthwaiteReference> } = JSON.parse(fs.readFileSync(fixture('nlme-satterthwaite.json'), 'utf8'));

function fit(ref: SatterthwaiteReference) {
  const c = ref.call;
  const options: NlmeOptions = { REML: c.REML ?? true };
  if (c.correlation) options.correlation = corAR1(c.correlation.form);
  if (c.weights) options.weights = varIdent(c.weights.form);
  return lme(c.formula, readCSV(fixture(`${c.data}.csv`)), options);
}

// the reference differentiates by central differences (about 6 digits), neurolmm by Richardson extrapolation
const TOLERANCE = 1e-4;

for (const [id, ref] of Object.entries(reference.fits)) {
  test(`Satterthwaite df of lme ${id}: coefficients, a joint F test, anova`, () => {
    const m = fit(ref);
    const table = m.coefTable({ ddf: 'Satterthwaite' });
    ref.coef_df.forEach((df, j) => assert.ok(relativeError(table.df[j], df) < TOLERANCE, `${ref.terms[j]}: ${table.df[j]} vs ${df}`));
    assert.ok(relativeError((contrast(m, ref.L).test as FTestResult).denDF, ref.F_ddf) < TOLERANCE);
    // a one-column term's marginal F test is its coefficient's t test
    const marginal = nlmeAnova(m, { type: 'marginal', ddf: 'Satterthwaite' });
    const last = marginal.rows.at(-1)!;
    if (last.numDF === 1) assert.ok(relativeError(last.denDF, ref.coef_df.at(-1)!) < TOLERANCE);
    const joint = nlmeAnova(m, { L: ref.L, ddf: 'Satterthwaite' });
    assert.ok(relativeError(joint.rows[0].denDF, ref.F_ddf) < TOLERANCE);
  });
}

test("lme without a residual structure has lmerTest's Satterthwaite df for the same lmer model", () => {
  const ref = reference.fits.ovary_plain;
  const m = fit(ref);
  const df = m.coefTable({ ddf: 'Satterthwaite' }).df;
  ref.lmerTest_df!.forEach((d, j) => assert.ok(relativeError(df[j], d) < 1e-5, `${df[j]} vs lmerTest ${d}`));
  const lmerDf = coefficientTests(lmer(ref.call.formula, readCSV(fixture('Ovary.csv')))).df;
  df.forEach((d, j) => assert.ok(relativeError(d, lmerDf[j]) < 1e-5));
});

test("Satterthwaite's df: nlme's df stay the default; gls and unknown methods are refused", () => {
  const m = fit(reference.fits.ovary_ar1);
  assert.deepEqual(m.coefTable().df, [295, 295, 295]);
  assert.throws(
    () => m.coefTable({ ddf: 'KR' as never }),
    (e: Error) => e instanceof ModelError && /unknown ddf/.test(e.message),
  );
  const g = gls('follicles ~ sin(2*pi*Time) + cos(2*pi*Time)', readCSV(fixture('Ovary.csv')), { correlation: corAR1('~ 1 | Mare') });
  assert.throws(
    () => g.coefTable({ ddf: 'Satterthwaite' }),
    (e: Error) => e instanceof ModelError && /gls/.test(e.message),
  );
  assert.match(nlmeAnova(m, { ddf: 'Satterthwaite' }).toString(), /denDF/);
});
