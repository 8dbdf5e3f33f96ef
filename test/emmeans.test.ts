/**
 * emmeans-style marginal means, contrasts and adjustments against R's emmeans 1.8.4
 * (test/reference/make-r-extensions.R), among them Dunnett's approximation and the multivariate
 * t (mvtnorm 1.1-3's pmvt), and the studentized range distribution against R's ptukey / qtukey.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelError } from '../src/errors';
import type { FittedModel } from '../src/inference/anova';
import { emmeans, type EmmContrasts } from '../src/inference/emmeans';
import { ptukey, ptukeyUpper, qtukey } from '../src/inference/tukey';
import { lm } from '../src/lmm/lm';
import { lmer } from '../src/lmm/lmer';
import { pmvt } from '../src/stats/mvt';
import { emmeansPlot } from '../src/plots/emmeans';
import { assertNear } from './inference-helpers';
import { datasets, machines, rExtensions } from './r-extensions-helpers';

const ref = rExtensions();

type RFrame = Record<string, (string | number | null)[]>;

/** Our rows (objects) against R's data frame (columns), numbers to `relative` (absolute `absolute`). */
function assertRows(
  rows: Record<string, string | number>[],
  expected: RFrame,
  fields: Record<string, string>,
  relative: number,
  what: string,
  absolute = 1e-8,
): void {
  const n = Object.values(expected)[0].length;
  assert.equal(rows.length, n, `${what}: ${rows.length} rows, R has ${n}`);
  rows.forEach((row, i) => {
    for (const [ours, theirs] of Object.entries(fields)) {
      const e = expected[theirs][i];
      if (typeof e === 'string') assert.equal(row[ours], e, `${what} row ${i + 1} ${theirs}`);
      else assertNear(row[ours] as number, e, relative, `${what} row ${i + 1} ${theirs}`, absolute);
    }
  });
}

const contrastFields = (by: string[]) => ({
  contrast: 'contrast',
  ...Object.fromEntries(by.map((b) => [b, b])),
  estimate: 'estimate',
  SE: 'SE',
  df: 'df',
  tRatio: 't.ratio',
  p: 'p.value',
});
const intervalFields = (by: string[]) => ({
  contrast: 'contrast',
  ...Object.fromEntries(by.map((b) => [b, b])),
  estimate: 'estimate',
  SE: 'SE',
  lowerCL: 'lower.CL',
  upperCL: 'upper.CL',
});

function fitCase(c: { model: string; formula: string; data: string; REML: boolean; contrasts: Record<string, 'sum'> | null }): FittedModel {
  const data = datasets[c.data]();
  const contrasts = c.contrasts ?? undefined;
  return c.model === 'lm' ? lm(c.formula, data, { contrasts }) : lmer(c.formula, data, { REML: c.REML, contrasts });
}

for (const c of ref.emm) {
  test(`emmeans: ${c.name} (${c.formula}, ${c.specs}) equals R's emmeans`, () => {
    const model = fitCase(c);
    const e = emmeans(model, c.specs);
    const labels = e.factors;
    // lmer fits: our optimum may differ from lme4's in the 5th digit, hence 1e-4 on SEs and df
    const tol = c.model === 'lm' ? 1e-8 : 1e-4;
    assertRows(
      e.summary(),
      c.emmeans,
      { ...Object.fromEntries(labels.map((l) => [l, l])), emmean: 'emmean', SE: 'SE', df: 'df', lowerCL: 'lower.CL', upperCL: 'upper.CL' },
      tol,
      'emmeans',
    );
    const check = (x: EmmContrasts, expected: RFrame, what: string) => assertRows(x.summary(), expected, contrastFields(e.by), tol, what, 1e-6);
    check(e.pairs(), c.pairs_tukey, 'pairs (tukey)');
    // R's qtukey stops at an accuracy of 1e-4 in the quantile, hence an absolute tolerance in SEs
    const maxSE = Math.max(...(c.pairs_tukey.SE as number[]));
    assertRows(e.pairs().confint(), c.pairs_tukey_ci, intervalFields(e.by), tol, 'pairs tukey intervals', 1e-5 * maxSE);
    check(e.pairs({ adjust: 'holm' }), c.pairs_holm, 'pairs (holm)');
    check(e.pairs({ adjust: 'bonferroni' }), c.pairs_bonferroni, 'pairs (bonferroni)');
    check(e.pairs({ adjust: 'none' }), c.pairs_none, 'pairs (none)');
    assertRows(e.pairs({ adjust: 'bonferroni' }).confint(), c.pairs_bonferroni_ci, intervalFields(e.by), tol, 'pairs bonferroni intervals');
    check(e.pairs({ reverse: true }), c.revpairs, 'revpairs');
    check(e.contrast('eff'), c.eff, 'eff (fdr)');
    check(e.contrast('trt.vs.ctrl'), c.trt_vs_ctrl, 'trt.vs.ctrl (dunnettx)');
    check(e.contrast('trt.vs.ctrlk'), c.trt_vs_ctrlk, 'trt.vs.ctrlk (dunnettx)');
    // mvtnorm integrates the multivariate t by randomized quasi-Monte Carlo to 1e-3 (abseps), we to 5e-4
    const { p: _p, ...withoutP } = contrastFields(e.by);
    // R finds Dunnett's and the multivariate t's quantiles to 5e-4 (uniroot's tol) and about 1e-3 (qmvt)
    assertRows(e.contrast('trt.vs.ctrl').confint(), c.trt_vs_ctrl_ci, intervalFields(e.by), tol, 'trt.vs.ctrl intervals', 5e-4 * maxSE);
    // the multivariate t of a family of 12 means is an 11-dimensional integral per row (a second
    // each): up to 6 means here
    const mvtCases: [EmmContrasts, RFrame, string][] =
      c.name === 'oats-factorial'
        ? []
        : [
            [e.contrast('consec'), c.consec, 'consec (mvt)'],
            [e.pairs({ adjust: 'mvt' }), c.pairs_mvt, 'pairs (mvt, singular correlation)'],
          ];
    if (mvtCases.length) assertRows(e.contrast('consec').confint(), c.consec_ci, intervalFields(e.by), tol, 'consec intervals', 5e-3 * maxSE);
    for (const [x, expected, what] of mvtCases) {
      const rows = x.summary();
      assertRows(rows, expected, withoutP, tol, what, 1e-6);
      rows.forEach((row, i) => assertNear(row.p, expected['p.value'][i] as number, 0, `${what} row ${i + 1} p.value`, 2e-3));
    }
    if (c.name !== 'oats-factorial') {
      // printed as emmeans prints them (the 12-mean table differs only in R's rounding of the last digit)
      assert.equal(String(e), c.emmeans_text.join('\n').trimEnd());
      assert.equal(String(e.pairs()), c.pairs_text.join('\n').trimEnd());
      assert.equal(String(e.contrast('eff')), c.eff_text.join('\n').trimEnd());
      assert.equal(String(e.contrast('trt.vs.ctrl')), c.trt_vs_ctrl_text.join('\n').trimEnd());
      // the mvt p-values' last printed digit is within the integration's error: the layout and notes
      const consec = String(e.contrast('consec')).split('\n');
      assert.deepEqual(
        consec.map((line) => line.replace(/ +[<.0-9]+$/, '')),
        c.consec_text.map((line: string) => line.replace(/ +[<.0-9]+$/, '')),
      );
    }
  });
}

test('emmeans: custom contrasts are unadjusted', () => {
  const model = lmer('score ~ Machine + (1 | Worker) + (1 | Worker:Machine)', machines());
  const custom = emmeans(model, 'Machine').contrast({ AvsBC: [1, -0.5, -0.5], BvsC: [0, 1, -1] });
  assertRows(custom.summary(), ref.emm_custom, contrastFields([]), 1e-4, 'custom', 1e-8);
});

test('emmeans: bad specs name the problem', () => {
  const model = lmer('score ~ Machine + (1 | Worker) + (1 | Worker:Machine)', machines());
  assert.throws(
    () => emmeans(model, 'Worker'),
    (e: Error) => e instanceof ModelError && /'Worker' is not a factor of the model; its factors are: Machine/.test(e.message),
  );
  assert.throws(() => emmeans(model, 'Machine').contrast({ AvsB: [1, -1] }), /contrast 'AvsB' has 2 coefficients but there are 3 means \(A, B, C\)/);
  assert.throws(() => emmeans(model, 'Machine', { at: { score: 1 } }), /'at' names 'score', which is not a numeric covariate/);
});

test("ptukey and qtukey equal R's", () => {
  const t = ref.tukey;
  t.q.forEach((q: number, i: number) => {
    const what = `ptukey(${q}, ${t.nmeans[i]}, ${t.df[i]})`;
    assertNear(ptukey(q, t.nmeans[i], t.df[i]), t.p[i], 1e-9, what, 1e-12);
    assertNear(ptukeyUpper(q, t.nmeans[i], t.df[i]), t.upper[i], 1e-6, `${what} upper`, 1e-12);
  });
  // R's qtukey stops at an accuracy of 1e-4
  const seen = new Set<string>();
  t.nmeans.forEach((k: number, i: number) => {
    const key = `${k},${t.df[i]}`;
    if (seen.has(key)) return;
    seen.add(key);
    assertNear(qtukey(0.95, k, t.df[i]), t.q95[i], 1e-4, `qtukey(0.95, ${k}, ${t.df[i]})`);
  });
  assert.equal(ptukey(0, 3, 10), 0);
  assert.ok(Number.isNaN(ptukey(1, 1, 10)));
});

test('emmeansPlot: means with their confidence intervals, one trace per by-group', () => {
  const model = lmer(ref.emm[2].formula, datasets.cake());
  const e = emmeans(model, '~ temperature | recipe');
  const figure = emmeansPlot(e).toJSON() as unknown as {
    data: { name: string; x: string[]; y: number[]; error_y: { array: number[]; arrayminus: number[] } }[];
  };
  assert.deepEqual(
    figure.data.map((d) => d.name),
    ['recipe = A', 'recipe = B', 'recipe = C'],
  );
  const s = e.summary();
  const first = figure.data[0];
  assert.deepEqual(first.x, ['175', '185', '195', '205', '215', '225']);
  first.y.forEach((y, i) => {
    assert.equal(y, s[i].emmean);
    assertNear(first.error_y.array[i], s[i].upperCL - s[i].emmean, 1e-12, 'upper bar');
    assertNear(first.error_y.arrayminus[i], s[i].emmean - s[i].lowerCL, 1e-12, 'lower bar');
  });
});

test('pmvt: the largest of the pairwise differences of 4 means is the studentized range', () => {
  // (Y_a - Y_b) / sqrt(2) for independent t means with a common scale: correlations 0, +-1/2
  const pairs = [
    [0, 1],
    [0, 2],
    [0, 3],
    [1, 2],
    [1, 3],
    [2, 3],
  ];
  const m = pairs.length;
  const corr = new Float64Array(m * m);
  pairs.forEach(([a, b], i) =>
    pairs.forEach(([c, d], j) => (corr[i + j * m] = ((a === c ? 1 : 0) - (a === d ? 1 : 0) - (b === c ? 1 : 0) + (b === d ? 1 : 0)) / 2)),
  );
  for (const [h, df] of [
    [2.5, 12],
    [1.8, 5],
    [3.1, 0],
  ]) {
    const p = pmvt(new Array(m).fill(-h), new Array(m).fill(h), corr, df);
    assertNear(p.value, ptukey(h * Math.SQRT2, 4, df === 0 ? Infinity : df), 0, `h = ${h}, df = ${df}`, 5e-4);
    assert.ok(p.error <= 5e-4);
  }
});
