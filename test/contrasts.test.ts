/**
 * Contrast codings and ordered factors against lme4/lmerTest (test/reference/make-r-extensions.R):
 * fixed effects, SEs, Satterthwaite df and Type III tables with treatment, sum, helmert, poly and
 * matrix codings; R's contrast matrices and column names; column types.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DataError, ModelError } from '../src/errors';
import { factorCoding } from '../src/frame/contrasts';
import { readCSV, setColumnTypes } from '../src/frame/table';
import { anova } from '../src/inference/anova';
import { coefficientTests } from '../src/inference/contrast';
import { lm } from '../src/lmm/lm';
import { lmer } from '../src/lmm/lmer';
import { fixture } from './helpers';
import { assertNear } from './inference-helpers';
import { cake, datasets, rExtensions } from './r-extensions-helpers';

const ref = rExtensions();

for (const r of ref.codings) {
  test(`contrasts: ${r.name} (${r.formula}) equals lmerTest`, () => {
    const model = lmer(r.formula, datasets[r.data](), { REML: r.REML, contrasts: r.contrasts ?? undefined });
    assert.deepEqual(model.xNames, r.term);
    const c = model.coefTable();
    const { df } = coefficientTests(model);
    r.term.forEach((name: string, i: number) => {
      assertNear(c.estimate[i], r.estimate[i], 1e-6, `${name} estimate`, 1e-8);
      assertNear(c.se[i], r.se[i], 1e-4, `${name} SE`);
      assertNear(df[i], r.df[i], 1e-3, `${name} df`);
    });
    const table = anova(model, { type: 3 });
    assert.deepEqual(
      table.rows.map((row) => row.term),
      r.anova_type3.term,
    );
    table.rows.forEach((row, i) => {
      for (const key of ['sumSq', 'meanSq', 'numDF', 'denDF', 'F'] as const) assertNear(row[key], r.anova_type3[key][i], 1e-3, `Type III ${row.term} ${key}`);
      assertNear(row.p, r.anova_type3.p[i], 1e-3, `Type III ${row.term} p`, 1e-12);
    });
  });
}

test('contrasts: lm with sum contrasts equals R', () => {
  const fit = lm('angle ~ recipe * temperature', cake(), { contrasts: { recipe: 'sum' } });
  assert.deepEqual(fit.xNames, ref.lm_coding.term);
  const c = fit.coefTable();
  ref.lm_coding.term.forEach((name: string, i: number) => {
    assertNear(c.estimate[i], ref.lm_coding.estimate[i], 1e-8, `${name}`, 1e-10);
    assertNear(c.se[i], ref.lm_coding.se[i], 1e-8, `${name} SE`);
  });
});

test("contrasts: R's contrast matrices", () => {
  const levels = ['a', 'b', 'c', 'd'];
  // contr.poly(4): R's printed values
  const poly = factorCoding('poly', levels, true, 'x');
  assert.deepEqual(poly.suffixes, ['.L', '.Q', '.C']);
  const expected = [
    -0.670820393249937, -0.223606797749979, 0.223606797749979, 0.670820393249937, 0.5, -0.5, -0.5, 0.5, -0.223606797749979, 0.670820393249937,
    -0.670820393249937, 0.223606797749979,
  ];
  expected.forEach((v, i) => assertNear(poly.matrix[i], v, 1e-12, `contr.poly(4)[${i}]`, 1e-15));
  assert.deepEqual(factorCoding('poly', ['1', '2', '3', '4', '5', '6'], true, 'x').suffixes, ['.L', '.Q', '.C', '^4', '^5']);
  assert.deepEqual(Array.from(factorCoding('sum', levels, false, 'x').matrix), [1, 0, 0, -1, 0, 1, 0, -1, 0, 0, 1, -1]);
  assert.deepEqual(Array.from(factorCoding('contr.helmert', levels, false, 'x').matrix), [-1, 1, 0, 0, -1, -1, 2, 0, -1, -1, -1, 3]);
  assert.deepEqual(factorCoding('treatment', levels, false, 'x').suffixes, ['b', 'c', 'd']);
  assert.deepEqual(factorCoding({ matrix: [[1], [0], [0], [-1]], names: ['AvsD'] }, levels, false, 'x').suffixes, ['AvsD']);
});

test('contrasts: bad specifications name the problem', () => {
  const data = cake();
  assert.throws(
    () => lmer('angle ~ recipe + (1 | replicate)', data, { contrasts: { recipes: 'sum' } }),
    (e: Error) => e instanceof ModelError && /'recipes'.*factors: recipe/.test(e.message),
  );
  assert.throws(
    () => lm('angle ~ recipe + temp', data, { contrasts: { temp: 'sum' } }),
    (e: Error) => e instanceof ModelError && /'temp', which is numeric/.test(e.message),
  );
  assert.throws(() => lm('angle ~ recipe', data, { contrasts: { recipe: 'deviation' as never } }), /unknown contrasts 'deviation' for 'recipe'/);
  assert.throws(() => lm('angle ~ recipe', data, { contrasts: { recipe: [[1], [0]] } }), /2 rows but the factor has 3 levels \(A, B, C\)/);
});

test('column types: factor, ordered with a level order, numeric', () => {
  const table = setColumnTypes(readCSV(fixture('cake.csv')), {
    temperature: { levels: [225, 215, 205, 195, 185, 175], ordered: true },
    temp: 'factor',
    replicate: 'numeric',
  });
  const fit = lm('angle ~ temperature + replicate', table);
  assert.deepEqual(fit.xNames, ['(Intercept)', 'temperature.L', 'temperature.Q', 'temperature.C', 'temperature^4', 'temperature^5', 'replicate']);
  // the reversed level order flips the odd polynomials
  const usual = lm('angle ~ temperature + replicate', setColumnTypes(cake(), { replicate: 'numeric' })).fixef();
  assertNear(fit.fixef()['temperature.L'], -usual['temperature.L'], 1e-10, 'reversed .L');
  assertNear(fit.fixef()['temperature.Q'], usual['temperature.Q'], 1e-10, 'reversed .Q');
  assert.deepEqual(lm('angle ~ temp', table).xNames.slice(0, 2), ['(Intercept)', 'temp185']);
  assert.throws(
    () => setColumnTypes(table, { recipe: 'numeric' }),
    (e: Error) => e instanceof DataError && /column 'recipe' of 'cake.csv' cannot be numeric: row 1 holds 'A'/.test(e.message),
  );
  assert.throws(() => setColumnTypes(table, { recipe: { levels: ['A', 'B'] } }), /value 'C' at row \d+, which is not among the levels given \(A, B\)/);
  assert.throws(() => setColumnTypes(table, { Recipe: 'factor' }), /unknown column 'Recipe'/);
});
