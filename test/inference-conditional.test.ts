/**
 * Conditional modes and variances, coef, fitted, residuals, predictions, confidence intervals and
 * simulation, against lme4 (test/fixtures/extra-fits.json, extra-tests.json), R's generator and
 * hand-derivable cases.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { DataError } from '../src/errors';
import { readCSV } from '../src/frame/table';
import { coef, conditionalVariances, predict, ranef, residuals } from '../src/inference/conditional';
import { bootPercentile, confint, sdcorParameters } from '../src/inference/confint';
import { choleskyInverse, choleskyLower } from '../src/linalg/dense';
import { RRandom } from '../src/stats/rng';
import { refit, simulate } from '../src/inference/simulate';
import { lm } from '../src/lmm/lm';
import { lmer } from '../src/lmm/lmer';
import type { LinearMixedModel } from '../src/lmm/model';
import { fixture } from './helpers';
import { assertNear, atTheta, fitReference, inferenceReferences } from './inference-helpers';

const references = inferenceReferences();
const extraTests = JSON.parse(fs.readFileSync(fixture('extra-tests.json'), 'utf8'));
const withCondVar = Object.entries(references).filter(([, r]) => r.ranef_condvar);

function checkCondVar(model: LinearMixedModel, expected: NonNullable<(typeof references)[string]['ranef_condvar']>, relative: number, what: string): void {
  const ours = conditionalVariances(model);
  assert.deepEqual(Object.keys(ours).sort(), Object.keys(expected).sort());
  for (const [group, blocks] of Object.entries(expected)) {
    assert.equal(ours[group].length, blocks.length, `${what}: blocks of ${group}`);
    blocks.forEach((block, b) => {
      const mine = ours[group][b];
      assert.deepEqual(mine.names, block.names);
      assert.deepEqual(mine.levels, block.levels);
      // small entries are compared on the scale of the residual variance (a singular fit's are ~0)
      const scale = Math.max(...block.postVar.flat().map(Math.abs), model.sigma ** 2);
      block.postVar.forEach((pv, l) =>
        pv.forEach((v, i) => assertNear(mine.postVar[l][i], v, relative, `${what}: postVar ${group} ${block.levels[l]} [${i}]`, relative * scale)),
      );
    });
  }
}

for (const [id, ref] of withCondVar) {
  test(`conditional variances, coef, fitted and residuals match lme4: ${id} (${ref.formula})`, (t) => {
    const model = fitReference(ref);
    const view = atTheta(model, ref.theta);
    checkCondVar(view, ref.ranef_condvar!, 1e-7, 'at lme4 theta');
    const lme4Criterion = (ref.REML ? ref.REMLcrit : ref.deviance) as number;
    // where the optima differ (lme4 short, or the engine's optimizer worse) the conditional quantities move with theta
    const sameOptimum = Math.abs(model.objective - lme4Criterion) < 1e-7;
    const tol = sameOptimum ? 1e-4 : 5e-3;
    if (model.objective <= lme4Criterion + 1e-6) checkCondVar(model, ref.ranef_condvar!, tol, 'at our optimum');
    else {
      t.diagnostic(`engine criterion ${model.objective} is worse than lme4's ${lme4Criterion} (lmer-parity fails too): compared at lme4's theta only`);
      return;
    }

    const ours = coef(model);
    for (const [group, rows] of Object.entries(ref.coef!)) {
      rows.forEach((row, i) => {
        assert.equal(ours[group][i].level, row.level);
        for (const [name, value] of Object.entries(row))
          if (name !== 'level') assertNear(ours[group][i][name] as number, value as number, tol, `coef ${group} ${row.level} ${name}`, tol);
      });
    }
    const fittedValues = predict(model);
    const resid = residuals(model);
    ref.fitted_head!.forEach((v, i) => assertNear(fittedValues[i], v, tol, `fitted[${i}]`));
    ref.residuals_head!.forEach((v, i) => assertNear(resid[i], v, tol, `residual[${i}]`, tol * Math.abs(ref.fitted_head![i])));
    const wald = confint(model, { method: 'Wald' });
    const w = ref.confint_wald!;
    w.term.forEach((term, i) => {
      const j = wald.names.indexOf(term);
      assertNear(wald.lower[j], w.lower[i], tol, `Wald lower ${term}`, tol);
      assertNear(wald.upper[j], w.upper[i], tol, `Wald upper ${term}`, tol);
    });
  });
}

test('random intercept: postVar = sigma^2 lambda^2 / (1 + n_l lambda^2), by hand (Dyestuff, 5 per batch)', () => {
  const model = lmer('Yield ~ 1 + (1 | Batch)', readCSV(fixture('Dyestuff.csv')));
  const lambda = model.theta[0];
  const expected = (model.sigma ** 2 * lambda ** 2) / (1 + 5 * lambda ** 2);
  const blocks = ranef(model, { condVar: true }).Batch.condVar!;
  assert.equal(blocks.length, 1);
  blocks[0].postVar.forEach((v) => assertNear(v[0], expected, 1e-12, 'postVar'));
  blocks[0].condSD.forEach((sd) => assertNear(sd[0], Math.sqrt(expected), 1e-12, 'condSD'));
  assert.equal(ranef(model).Batch.condVar, undefined);
});

test('crossed terms: postVar equals the diagonal blocks of a dense inverse (Penicillin, plate x sample)', () => {
  const model = lmer('diameter ~ 1 + (1 | plate) + (1 | sample)', readCSV(fixture('Penicillin.csv')));
  // dense Lambda'Z'Z Lambda + I over all random effects (each term has k = 1)
  const sizes = model.terms.map((t) => t.nlevels);
  const q = sizes.reduce((a, b) => a + b, 0);
  const offsets = sizes.map((_, t) => sizes.slice(0, t).reduce((a, b) => a + b, 0));
  const A: number[][] = Array.from({ length: q }, (_, i) => Array.from({ length: q }, (_, j) => (i === j ? 1 : 0)));
  for (let r = 0; r < model.n; r++) {
    const cols = model.terms.map((t, ti) => ({ index: offsets[ti] + t.codes[r], value: t.lambda[0] }));
    for (const a of cols) for (const b of cols) A[a.index][b.index] += a.value * b.value;
  }
  // Gauss-Jordan inverse
  const inv: number[][] = A.map((row, i) => [...row, ...Array.from({ length: q }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < q; c++) {
    const pivot = inv[c][c];
    inv[c] = inv[c].map((v) => v / pivot);
    for (let r = 0; r < q; r++) if (r !== c) inv[r] = inv[r].map((v, j) => v - inv[r][c] * inv[c][j]);
  }
  const cv = conditionalVariances(model);
  model.terms.forEach((term, t) => {
    const block = cv[term.group][0];
    term.levels.forEach((_, l) => {
      const i = offsets[t] + l;
      assertNear(block.postVar[l][0], model.sigma ** 2 * term.lambda[0] ** 2 * inv[i][q + i], 1e-10, `${term.group} ${l}`);
    });
  });
});

test('residuals: response = pearson for unweighted fits; scaled divides by sigma', () => {
  const model = lmer('Reaction ~ Days + (Days | Subject)', readCSV(fixture('sleepstudy.csv')));
  const y = model.frame.y!;
  const f = predict(model);
  const r = residuals(model);
  r.forEach((v, i) => assert.equal(v, y[i] - f[i]));
  assert.deepEqual(residuals(model, { type: 'pearson' }), r);
  residuals(model, { scaled: true }).forEach((v, i) => assertNear(v, r[i] / model.sigma, 1e-15, 'scaled'));
});

test('predict on new data matches lme4 (population and conditional; unseen levels fall back to the population)', () => {
  for (const p of Object.values(extraTests.predict) as any[]) {
    const ref = p.model === 'sleepstudy_full' ? references.sleepstudy_full : references[p.model];
    const model = fitReference(ref);
    const population = predict(model, p.newdata, { re: 'none' });
    const conditional = predict(model, p.newdata);
    p.fixed_only.forEach((v: number, i: number) => assertNear(population[i], v, 1e-9, `${p.model} fixed-only ${i}`));
    p.with_random.forEach((v: number, i: number) => assertNear(conditional[i], v, 1e-6, `${p.model} with random ${i}`));
    assert.throws(
      () => predict(model, p.newdata, { allowNewLevels: false }),
      (e: Error) => e instanceof DataError && /new levels detected/.test(e.message),
    );
  }
  // a missing grouping value gives NaN, a missing covariate too
  const model = fitReference(references.sleepstudy_full);
  const out = predict(model, [
    { Days: 1, Subject: null },
    { Days: null, Subject: '308' },
    { Days: 1, Subject: '308' },
  ]);
  assert.ok(Number.isNaN(out[0]) && Number.isNaN(out[1]) && Number.isFinite(out[2]));
  // lm: X beta
  const ols = lm('Reaction ~ Days', readCSV(fixture('sleepstudy.csv')));
  assertNear(predict(ols, [{ Days: 2 }])[0], ols.beta[0] + 2 * ols.beta[1], 1e-14, 'lm prediction');
});

test('predict with a factor in a random-effects term (0 + Machine | Worker) reproduces the fitted values', () => {
  const data = readCSV(fixture('Machines.csv'));
  const model = lmer('score ~ Machine + (0 + Machine | Worker)', data);
  const rows = Array.from({ length: data.nrows }, (_, i) => {
    const row: Record<string, string | number> = {};
    for (const name of data.names) {
      const col = data.column(name)!;
      row[name] = col.kind === 'numeric' ? col.values[i] : (col.values[i] as string);
    }
    return row;
  });
  const fitted = predict(model);
  predict(model, rows).forEach((v, i) => assertNear(v, fitted[i], 1e-12, `row ${i}`));
});

test('profile intervals reproduce lme4 (confint(fm1) of the sleepstudy random-slope model)', () => {
  const model = lmer('Reaction ~ Days + (Days | Subject)', readCSV(fixture('sleepstudy.csv')));
  const ci = confint(model, { method: 'profile' });
  // lme4's example output; lme4 interpolates its profile by splines, so agreement is to ~1e-5
  const expected: [string, number, number][] = [
    ['.sig01', 14.3814924, 37.7159953],
    ['.sig02', -0.4815008, 0.6849863],
    ['.sig03', 3.8011643, 8.7533658],
    ['.sigma', 22.8982662, 28.8579942],
    ['(Intercept)', 237.6806955, 265.1295147],
    ['Days', 7.3586533, 13.5759188],
  ];
  assert.deepEqual(
    ci.names,
    expected.map((e) => e[0]),
  );
  expected.forEach(([name, lo, hi], i) => {
    assertNear(ci.lower[i], lo, 1e-4, `${name} lower`);
    assertNear(ci.upper[i], hi, 1e-4, `${name} upper`);
  });
  assert.deepEqual(ci.columns, ['2.5 %', '97.5 %']);
  assert.ok(ci.toString().split('\n')[0].includes('2.5 %'));
});

test("R's generator: set.seed(42); runif(3), rnorm(5); set.seed(123); rnorm(3)", () => {
  const u = new RRandom(42);
  [0.914806043496355, 0.937075413297862, 0.286139534786344].forEach((v) => assertNear(u.uniform(), v, 1e-14, 'runif'));
  const z = new RRandom(42).normals(5);
  [1.37095844714667, -0.564698171396089, 0.363128411337339, 0.63286260496104, 0.404268323140999].forEach((v, i) => assertNear(z[i], v, 1e-13, 'rnorm'));
  const w = new RRandom(123).normals(3);
  [-0.560475646552213, -0.23017748948328, 1.55870831414912].forEach((v, i) => assertNear(w[i], v, 1e-13, 'rnorm'));
});

test('simulate: X beta + sigma (Z Lambda u + e) with all u drawn before the residuals (lme4 order)', () => {
  const model = lmer('Reaction ~ Days + (Days | Subject)', readCSV(fixture('sleepstudy.csv')));
  const sims = simulate(model, { nsim: 2, seed: 7 });
  assert.deepEqual(simulate(model, { nsim: 2, seed: 7 }), sims);
  const rng = new RRandom(7);
  const term = model.terms[0];
  const q = term.nlevels * 2;
  const u = rng.normals(2 * q);
  const e = rng.normals(2 * model.n);
  const days = model.frame.X.subarray(model.n, 2 * model.n);
  const [l11, l21, l22] = [term.lambda[0], term.lambda[1], term.lambda[3]];
  for (let s = 0; s < 2; s++)
    for (let i = 0; i < model.n; i++) {
      const base = s * q + term.codes[i] * 2;
      // b = Lambda u for this subject: intercept l11 u0, slope l21 u0 + l22 u1
      const b0 = l11 * u[base];
      const b1 = l21 * u[base] + l22 * u[base + 1];
      const expected = model.beta[0] + model.beta[1] * days[i] + model.sigma * (b0 + b1 * days[i] + e[s * model.n + i]);
      assertNear(sims[s][i], expected, 1e-12, `sim ${s} row ${i}`);
    }
  // lm: R's simulate.lm, fitted + sigma e
  const ols = lm('Reaction ~ Days', readCSV(fixture('sleepstudy.csv')));
  const y = simulate(ols, { seed: 42 })[0];
  const z = new RRandom(42).normals(ols.n);
  const f = ols.fitted();
  y.forEach((v, i) => assertNear(v, f[i] + ols.sigma * z[i], 1e-12, `lm sim ${i}`));
});

test('simulated responses have the model moments (random intercept: var = sigma^2 (1 + lambda^2))', () => {
  const model = lmer('Yield ~ 1 + (1 | Batch)', readCSV(fixture('Dyestuff.csv')));
  const sims = simulate(model, { nsim: 4000, seed: 1 });
  const first = sims.map((y) => y[0]);
  const m = first.reduce((a, b) => a + b, 0) / first.length;
  const v = first.reduce((a, b) => a + (b - m) ** 2, 0) / (first.length - 1);
  const variance = model.sigma ** 2 * (1 + model.theta[0] ** 2);
  assert.ok(Math.abs(m - model.beta[0]) < 4 * Math.sqrt(variance / 4000), `mean ${m}`);
  assert.ok(Math.abs(v / variance - 1) < 0.1, `variance ratio ${v / variance}`);
  // two observations of the same batch covary by sigma^2 lambda^2
  const second = sims.map((y) => y[1]);
  const m2 = second.reduce((a, b) => a + b, 0) / second.length;
  const cov = first.reduce((a, b, i) => a + (b - m) * (second[i] - m2), 0) / (first.length - 1);
  assert.ok(Math.abs(cov / (model.sigma ** 2 * model.theta[0] ** 2) - 1) < 0.15, `covariance ratio`);
});

test("bootstrap: boot's percentile interpolation, refits on simulated responses, seeded intervals", () => {
  // (R + 1) alpha integral: an order statistic; otherwise interpolated on the normal scale
  const values = Array.from({ length: 39 }, (_, i) => i + 1);
  assert.equal(bootPercentile(values, 0.025), 1);
  assert.equal(bootPercentile(values, 0.5), 20);
  const t = bootPercentile(values, 0.1); // rk = 4: the 4th
  assert.equal(t, 4);
  const between = bootPercentile(values, 0.11); // rk = 4.4
  assert.ok(between > 4 && between < 5);
  const model = lmer('Yield ~ 1 + (1 | Batch)', readCSV(fixture('Dyestuff.csv')));
  const y = simulate(model, { seed: 3 })[0];
  const again = refit(model, y) as LinearMixedModel;
  assert.equal(again.REML, true);
  assert.deepEqual(Array.from(again.frame.y!), Array.from(y));
  const boot = confint(model, { method: 'boot', nsim: 200, seed: 11 });
  assert.deepEqual(boot, confint(model, { method: 'boot', nsim: 200, seed: 11 }));
  assert.deepEqual(boot.names, ['.sig01', '.sigma', '(Intercept)']);
  // the intercept interval is close to the profile interval (1486.5, 1568.5) and contains the estimate
  const i = 2;
  assert.ok(boot.lower[i] < model.beta[0] && model.beta[0] < boot.upper[i]);
  assert.ok(Math.abs(boot.lower[i] - 1486.5) < 15 && Math.abs(boot.upper[i] - 1568.5) < 15, `${boot.lower[i]} ${boot.upper[i]}`);
  // sigma's interval brackets the estimate
  const [sd, sigma] = sdcorParameters(model);
  assert.ok(boot.lower[1] < sigma && sigma < boot.upper[1]);
  assert.ok(boot.lower[0] < sd && sd < boot.upper[0]);
});

test('conditional variances of a model with a 4,000-level crossed tail from the sparse factor, per cluster against a dense inverse', () => {
  // 1,000 clusters of 6 subjects x 4 items, each subject seeing each item of its cluster once:
  // a dense inverse of the items' Schur complement (4,000 x 4,000) would take minutes, the
  // factor's is block diagonal. Clusters are independent, so each one's block of
  // (Lambda'Z'Z Lambda + I)^{-1} is the inverse of its own block, dense and small.
  const clusters = 1000;
  const subjects = 6;
  const items = 4;
  const rng = new RRandom(13);
  const subjectEffect = rng.normals(clusters * subjects);
  const itemEffect = rng.normals(clusters * items);
  const rows: { y: number; x: number; subject: string; item: string }[] = [];
  for (let c = 0; c < clusters; c++)
    for (let s = 0; s < subjects; s++)
      for (let i = 0; i < items; i++) {
        const x = rng.uniform();
        const y = 1 + 0.5 * x + subjectEffect[c * subjects + s] * (1 + x) + 0.7 * itemEffect[c * items + i] + rng.normals(1)[0];
        rows.push({ y, x, subject: `s${c}.${s}`, item: `i${c}.${i}` });
      }
  const model = lmer('y ~ x + (1 + x | subject) + (1 | item)', rows);
  const started = Date.now();
  const cv = conditionalVariances(model);
  const seconds = (Date.now() - started) / 1000;
  assert.equal(model.terms[0].group, 'subject');
  assert.equal(cv.item[0].levels.length, clusters * items);
  const s2 = model.sigma ** 2;
  // the random effects each cluster's rows touch, in a local order: term, level, component
  const n = model.n;
  const byCluster: number[][] = Array.from({ length: clusters }, () => []);
  rows.forEach((row, r) => byCluster[Number(row.subject.slice(1).split('.')[0])].push(r));
  for (const c of [0, 1, 517, clusters - 1]) {
    const local = new Map<string, number>();
    const columns: { t: number; l: number; a: number }[] = [];
    for (const r of byCluster[c])
      model.terms.forEach((term, t) => {
        for (let a = 0; a < term.k; a++) {
          const key = `${t}:${term.codes[r]}:${a}`;
          if (!local.has(key)) {
            local.set(key, columns.length);
            columns.push({ t, l: term.codes[r], a });
          }
        }
      });
    const q = columns.length;
    const A = new Float64Array(q * q);
    for (let i = 0; i < q; i++) A[i + i * q] = 1;
    for (const r of byCluster[c]) {
      // the row of Z Lambda on this cluster's columns
      const entries = model.terms.flatMap((term, t) =>
        Array.from({ length: term.k }, (_, a) => {
          let v = 0;
          for (let b = a; b < term.k; b++) v += term.z[r + b * n] * model.lambda[t][b + a * term.k];
          return { index: local.get(`${t}:${term.codes[r]}:${a}`)!, v };
        }),
      );
      for (const e of entries) for (const f of entries) A[e.index + f.index * q] += e.v * f.v;
    }
    assert.ok(choleskyLower(A, q));
    const G = choleskyInverse(A, q);
    for (const [t, term] of model.terms.entries()) {
      const k = term.k;
      const levels = new Set(columns.filter((col) => col.t === t).map((col) => col.l));
      for (const l of levels) {
        const at = (a: number) => local.get(`${t}:${l}:${a}`)!;
        const lam = model.lambda[t];
        for (let i = 0; i < k; i++)
          for (let j = 0; j < k; j++) {
            let v = 0;
            for (let a = 0; a <= i; a++) for (let b = 0; b <= j; b++) v += lam[i + a * k] * G[at(a) + at(b) * q] * lam[j + b * k];
            assertNear(cv[term.group][0].postVar[l][i + j * k], s2 * v, 1e-9, `${term.group} ${term.levels[l]} [${i}, ${j}]`);
          }
      }
    }
  }
  assert.ok(seconds < 60, `conditional variances took ${seconds} s`);
});
