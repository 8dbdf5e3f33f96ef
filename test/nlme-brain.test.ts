/**
 * lme()/gls() over images against the ROI fits: at sampled voxels of a small simulated study
 * (TENT-basis betas: subjects x basis functions, AR(1) over the basis order, a group with its own
 * residual SD), every map equals what lme()/gls() give on that voxel's data alone (BrainFit.voxel,
 * an NlmeModel, whose numbers test/nlme.test.ts checks against nlme), including its structure
 * parameters and nlme's anova() tables; missing images, zeros, masks and workers as for lmer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrainFit } from '../src/brain/fit';
import { VoxelStatus } from '../src/brain/layout';
import { glsBrainSync, lmeBrain, lmeBrainSync } from '../src/brain/nlmebrain';
import { ModelError } from '../src/errors';
import { corAR1, corARMA, corCompSymm, varIdent } from '../src/nlme';
import { nlmeAnova } from '../src/nlme/inference';
import type { NlmeModel } from '../src/nlme/lme';
import { RRandom } from '../src/stats/rng';
import { logTUpper, negLog10FromLn } from '../src/stats/distributions';

const SUBJECTS = 14;
const BASIS = 6;

/** subjects x basis functions; `order` is the basis function's position (AR(1) runs over it) */
function studyTable() {
  const table = { Subj: [] as string[], Time: [] as string[], order: [] as number[], Group: [] as string[] };
  for (let s = 0; s < SUBJECTS; s++)
    for (let t = 0; t < BASIS; t++) {
      table.Subj.push(`s${String(s + 1).padStart(2, '0')}`);
      table.Time.push(`t${t}`);
      table.order.push(t);
      table.Group.push(s % 2 ? 'patient' : 'control');
    }
  return table;
}

/** Image-major betas: an HRF scaled per voxel, a subject intercept, AR(1) noise, patients noisier. */
function studyImages(nvox: number, seed: number): Float32Array {
  const rng = new RRandom(seed);
  const n = SUBJECTS * BASIS;
  const Y = new Float32Array(n * nvox);
  for (let v = 0; v < nvox; v++) {
    const phi = 0.2 + (0.5 * v) / nvox;
    for (let s = 0; s < SUBJECTS; s++) {
      const b = 0.6 * rng.normal();
      let e = rng.normal();
      for (let t = 0; t < BASIS; t++) {
        if (t > 0) e = phi * e + Math.sqrt(1 - phi * phi) * rng.normal();
        const hrf = (v % 3) * Math.sin((Math.PI * t) / (BASIS - 1));
        Y[(s * BASIS + t) * nvox + v] = hrf + b + e * (s % 2 ? 1.6 : 1);
      }
    }
  }
  return Y;
}

const unit = (p: number, j: number) => Array.from({ length: p }, (_, i) => (i === j ? 1 : 0));
const close = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

/** Every map of `fit` at voxel i against the ROI fit of the voxel's data (float32 maps: 1e-6). */
function checkVoxel(fit: BrainFit<NlmeModel>, i: number, anova?: 'sequential' | 'marginal'): void {
  const model = fit.voxel(i);
  const where = `voxel ${i}`;
  const at = (name: string, v: number | string = 0) => fit.map(name, v)[i];
  assert.equal(fit.status[i], VoxelStatus.fitted, `${where} not fitted`);
  assert.equal(at('n'), model.n, `${where} n`);
  assert.equal(at('edf'), model.n - model.p);
  assert.ok(Math.abs(fit.llh[i] - model.logLik()) < 1e-8, `${where} llh ${fit.llh[i]} vs ${model.logLik()}`);
  model.beta.forEach((b, j) => close(at('beta', j), b, 1e-6, `${where} beta ${j}`));
  close(at('sigma2'), model.sigma ** 2, 1e-6, `${where} sigma2`);
  model.terms.forEach((t, k) => close(at('D', k), t.covariance(1)[0], 1e-6, `${where} D`));
  for (const [name, value] of Object.entries(model.corStruct())) close(at(name), value, 1e-6, `${where} ${name}`);
  const vs = model.varStruct();
  if (Object.keys(vs).length) for (const [stratum, ratio] of Object.entries(vs)) close(at('varIdent', stratum), ratio, 1e-6, `${where} varIdent ${stratum}`);
  // contrasts: nlme's anova(fit, L = ...) on the same rows (t^2 = F, nlme's df)
  for (const c of fit.contrasts) {
    const row = nlmeAnova(model, { L: c.rows }).rows[0];
    if (c.kind === 'T') {
      const t = at('conT', c.name);
      close(t * t, row.F, 1e-5, `${where} ${c.name} t^2`);
      assert.equal(at('conT_swedf', c.name), row.denDF);
      close(at('conTp', c.name), row.p, 1e-5, `${where} ${c.name} p`);
      close(at('conTlp', c.name), negLog10FromLn(logTUpper(t, row.denDF)), 1e-5, `${where} ${c.name} conTlp`);
      const se = Math.sqrt(c.rows[0].reduce((s, a, j) => s + c.rows[0].reduce((u, b, k) => u + a * b * model.testCovariance()[j + k * model.p], 0), 0));
      close(at('conSE', c.name), se, 1e-6, `${where} ${c.name} SE`);
    } else {
      close(at('conF', c.name), row.F, 1e-5, `${where} ${c.name} F`);
      assert.equal(at('conF_swedf', c.name), row.denDF);
      close(at('conFp', c.name), row.p, 1e-5, `${where} ${c.name} F p`);
    }
  }
  if (anova)
    nlmeAnova(model, { type: anova }).rows.forEach((r) => {
      close(at('anovaF', r.term), r.F, 1e-5, `${where} ${anova} F ${r.term}`);
      assert.equal(at('anovaF_df', r.term), r.denDF);
      close(10 ** -at('anovaFlp', r.term), r.p, 1e-4, `${where} ${anova} p ${r.term}`);
    });
}

const NVOX = 9;
const p = BASIS;
const contrasts = { t1: unit(p, 1), 't2-t1': [0, -1, 1, 0, 0, 0], all: Array.from({ length: p }, (_, j) => unit(p, j)) };

test('lme with AR(1) at every voxel: the ROI lme() fit of each voxel, missing images and a mask', () => {
  const images = studyImages(NVOX, 1);
  // voxel 2 misses two images (NaN and BLMM's zero), voxel 4 a whole subject; voxel 7 is outside the mask
  images[5 * NVOX + 2] = NaN;
  images[40 * NVOX + 2] = 0;
  for (let t = 0; t < BASIS; t++) images[(3 * BASIS + t) * NVOX + 4] = NaN;
  const mask = Array.from({ length: NVOX }, (_, v) => (v === 7 ? 0 : 1));
  const fit = lmeBrainSync('y ~ Time - 1 + (1 | Subj)', studyTable(), { images, mask, contrasts, correlation: corAR1('~ order | Subj'), anova: 'sequential' });
  assert.equal(fit.counts().fitted, NVOX - 1);
  assert.equal(fit.status[7], VoxelStatus.outsideMask);
  assert.equal(fit.map('n')[2], SUBJECTS * BASIS - 2);
  assert.equal(fit.map('n')[4], SUBJECTS * BASIS - BASIS);
  assert.deepEqual(fit.mapInfo('Phi').volumes, ['Phi']);
  assert.deepEqual(fit.mapInfo('anovaF').volumes, ['Time']);
  assert.match(fit.summary(), /Correlation: corAR1\(~order \| Subj\)/);
  for (const i of [0, 2, 4, 8]) checkVoxel(fit, i, 'sequential');
});

test('lme with varIdent by group, ML, marginal F tests; workers give the same maps', async () => {
  const images = studyImages(NVOX, 2);
  const options = { images, contrasts: { t1: unit(p + 1, 2) }, weights: varIdent('~ 1 | Group'), method: 'ML' as const, anova: 'marginal' as const };
  const formula = 'y ~ Group + Time + (1 | Subj)';
  const fit = lmeBrainSync(formula, studyTable(), options);
  assert.equal(fit.REML, false);
  assert.deepEqual(fit.mapInfo('varIdent').volumes, ['control', 'patient']);
  assert.deepEqual(fit.mapInfo('anovaF').volumes, ['(Intercept)', 'Group', 'Time']);
  for (const i of [1, 5]) checkVoxel(fit, i, 'marginal');
  const threaded = await lmeBrain(formula, studyTable(), { ...options, workers: 2, chunkSize: 4 });
  for (const name of fit.mapNames) assert.deepEqual(threaded.map(name), fit.map(name), `map ${name} on two workers`);
});

test('gls (no random effects) with compound symmetry and varIdent; ARMA(1,1) under lme', () => {
  const images = studyImages(4, 3);
  const table = studyTable();
  const cs = glsBrainSync('y ~ Time - 1', table, { images, contrasts, correlation: corCompSymm('~ 1 | Subj'), weights: varIdent('~ 1 | Group') });
  assert.ok(['Rho', 'varIdent'].every((m) => cs.mapNames.includes(m)));
  assert.ok(!cs.mapNames.includes('D') || cs.mapInfo('D').nvol === 0);
  for (const i of [0, 3]) checkVoxel(cs, i);
  const arma = lmeBrainSync('y ~ Time - 1 + (1 | Subj)', table, { images, contrasts, correlation: corARMA('~ order | Subj', { p: 1, q: 1 }) });
  assert.deepEqual(
    ['Phi1', 'Theta1'].map((m) => arma.mapInfo(m).nvol),
    [1, 1],
  );
  checkVoxel(arma, 1);
});

test('whole-brain nlme models: bad input is one clear message before any fitting', () => {
  const images = studyImages(2, 4);
  const table = studyTable();
  assert.throws(
    () => glsBrainSync('y ~ Time + (1 | Subj)', table, { images }),
    (e: Error) => e instanceof ModelError && /gls\(\) takes no random-effects terms/.test(e.message),
  );
  assert.throws(
    () => lmeBrainSync('y ~ Time', table, { images }),
    (e: Error) => e instanceof ModelError && /no random effects/.test(e.message),
  );
  assert.throws(
    () => lmeBrainSync('y ~ Time + (1 | Subj)', table, { images, anova: 'typeII' as never }),
    (e: Error) => e instanceof ModelError && /anova must be 'sequential' or 'marginal'/.test(e.message),
  );
  assert.throws(
    () => lmeBrainSync('y ~ Time + (1 | Subj)', table, { images, correlation: corAR1('~ nosuch | Subj') }),
    (e: Error) => /nosuch/.test(e.message),
  );
});
