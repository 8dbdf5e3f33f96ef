/**
 * The whole-brain engine against the ROI engine: at sampled voxels, with and without missing
 * images, for a random-intercept and an intercept + slope design, every map equals what lmer()
 * gives on that voxel's data alone (BrainFit.voxel(i), a plain LinearMixedModel, and the ROI
 * inference functions on it).
 *
 * Tolerances: beta 1e-6 relative to max(|beta|, SE(beta)) (coefficients near zero are as precise
 * as the rest in absolute terms, so |beta| alone would measure the optimizers' last digits of
 * theta), sigma2 and D 1e-4 relative (D relative to the term's largest variance, so a covariance
 * near zero is measured on its term's scale), llh 1e-6 absolute, conT_swedf 1e-3 relative.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lmerBrain, lmerBrainSync, prepare } from '../src/brain/lmerbrain';
import { BrainDesign } from '../src/brain/design';
import { BrainFit, compareFits } from '../src/brain/fit';
import { VoxelStatus } from '../src/brain/layout';
import { SyntheticDataset } from '../src/brain/synthetic';
import { DataError, ModelError } from '../src/errors';
import { fTest } from '../src/inference/contrast';
import { logTTwoSided, logTUpper, negLog10FromLn, logChisqMixtureUpper } from '../src/stats/distributions';
import { satterthwaite1D } from '../src/lmm/satterthwaite';
import { LinearMixedModel } from '../src/lmm/model';

const FIXED = 'sex + age + time + nih + site';
const INTERCEPT = `y ~ ${FIXED} + (1 | subject)`;
const SLOPE = `y ~ ${FIXED} + (1 + time | subject)`;
/** 80 subjects, 180 images: enough for an identifiable intercept + slope model */
const VISITS: [number, number, number] = [10, 40, 30];
/** small datasets without the surface's medial wall and coverage patches (tests that want them say so) */
const SMALL = { visits: VISITS, medialWall: 0, patchy: 0 };

function unit(p: number, j: number): number[] {
  return Array.from({ length: p }, (_, i) => (i === j ? 1 : 0));
}

/** theta from D = lambda lambda' (vech, one term): lambda is D's lower Cholesky factor. */
function thetaFromD(fit: BrainFit, i: number): number[] {
  const d = Array.from({ length: fit.mapInfo('D').nvol }, (_, v) => fit.map('D', v)[i]);
  if (d.length === 1) return [Math.sqrt(d[0])];
  const l11 = Math.sqrt(d[0]);
  const l21 = d[1] / l11;
  return [l11, l21, Math.sqrt(Math.max(0, d[2] - l21 * l21))];
}

/**
 * lmer() on voxel i alone. The ROI optimizer (gradient-based) can stop where a diagonal theta
 * reaches its bound 0, a stationary point because the deviance is even in it there, short of the
 * optimum the whole-brain search finds. Then the honest reference is the same ROI fit started
 * from the whole-brain theta: it must reach that better optimum, and the plain fit must be at the
 * bound.
 */
function roiFit(fit: BrainFit, i: number, weaklyIdentified = false): LinearMixedModel {
  const plain = fit.voxel(i);
  if (fit.llh[i] <= plain.logLik() + 1e-6) return plain;
  if (!weaklyIdentified)
    assert.ok(
      plain.theta.some((t, j) => plain.terms[0].thetaLowerBounds()[j] === 0 && t < 1e-6),
      `voxel ${i}: the ROI fit stopped short away from the bound`,
    );
  const restarted = new LinearMixedModel(plain.frame, { REML: fit.REML, start: thetaFromD(fit, i) });
  assert.ok(restarted.logLik() > plain.logLik() + 1e-6, `voxel ${i}: the whole-brain optimum is not reached by the ROI fit`);
  return restarted;
}

/**
 * Every map of `fit` at voxel i against lmer() on that voxel alone. Weakly identified models
 * (no more observations than random effects) have flat likelihoods on which the ROI optimizer
 * may stop short anywhere: there the reference is the ROI fit restarted at the whole-brain optimum.
 */
function checkVoxel(fit: BrainFit, i: number, weaklyIdentified = false): void {
  const model = roiFit(fit, i, weaklyIdentified);
  const nvox = fit.nvox;
  const at = (name: string, v = 0) => fit.map(name)[v * nvox + i];
  const where = `voxel ${i}`;
  assert.equal(fit.status[i], VoxelStatus.fitted, `${where} not fitted`);
  assert.equal(at('n'), model.n, `${where} n`);
  assert.equal(at('edf'), model.n - model.p, `${where} edf`);
  assert.ok(Math.abs(fit.llh[i] - model.logLik()) < 1e-6, `${where} llh ${fit.llh[i]} vs ${model.logLik()}`);
  const vcov = model.vcovMatrix();
  for (let j = 0; j < model.p; j++) {
    const se = Math.sqrt(vcov[j + j * model.p]);
    const scale = Math.max(Math.abs(model.beta[j]), se);
    assert.ok(
      Math.abs(at('beta', j) - model.beta[j]) <= 1e-6 * scale + 1e-7 * Math.abs(model.beta[j]),
      `${where} beta[${j}] ${at('beta', j)} vs ${model.beta[j]}`,
    );
  }
  const sigma2 = model.sigma * model.sigma;
  assert.ok(Math.abs(at('sigma2') - sigma2) <= 1e-4 * sigma2, `${where} sigma2`);
  // D: lme4's VarCorr / sigma^2 as vech
  let d = 0;
  for (const term of model.terms) {
    const cov = term.covariance(1);
    const k = term.k;
    const scale = Math.max(...Array.from({ length: k }, (_, a) => cov[a + a * k]));
    for (let b = 0; b < k; b++)
      for (let a = b; a < k; a++, d++) assert.ok(Math.abs(at('D', d) - cov[a + b * k]) <= 1e-4 * scale, `${where} D[${d}] ${at('D', d)} vs ${cov[a + b * k]}`);
  }
  // T contrasts: the ROI's Satterthwaite test on the same vector
  fit.contrasts.forEach((c) => {
    if (c.kind !== 'T') return;
    const v = fit.mapInfo('con').volumes.indexOf(c.name);
    const s = satterthwaite1D(model, c.rows[0]);
    const se = Math.sqrt(s.variance);
    const t = s.estimate / se;
    assert.ok(Math.abs(at('conT_swedf', v) - s.df) <= 1e-3 * s.df, `${where} ${c.name} swedf ${at('conT_swedf', v)} vs ${s.df}`);
    assert.ok(Math.abs(at('conSE', v) - se) <= 1e-4 * se, `${where} ${c.name} SE`);
    assert.ok(Math.abs(at('conT', v) - t) <= 1e-4 * Math.max(1, Math.abs(t)), `${where} ${c.name} T`);
    const lp = negLog10FromLn(logTUpper(t, s.df));
    assert.ok(Math.abs(at('conTlp', v) - lp) <= 1e-3 * Math.max(1, lp), `${where} ${c.name} conTlp`);
    const p2 = Math.exp(logTTwoSided(t, s.df));
    assert.ok(Math.abs(at('conTp', v) - p2) <= 1e-3 * p2 + 1e-7, `${where} ${c.name} conTp`);
  });
  fit.contrasts.forEach((c) => {
    if (c.kind !== 'F') return;
    const v = fit.mapInfo('conF').volumes.indexOf(c.name);
    const f = fTest(
      model,
      c.rows.map((r) => Float64Array.from(r)),
    );
    assert.ok(Math.abs(at('conF', v) - f.F) <= 1e-4 * f.F, `${where} ${c.name} F`);
    assert.ok(Math.abs(at('conF_swedf', v) - f.denDF) <= 1e-3 * f.denDF, `${where} ${c.name} F df`);
    assert.ok(Math.abs(at('conFlp', v) - f.negLog10P) <= 1e-3 * Math.max(1, f.negLog10P), `${where} ${c.name} conFlp`);
  });
}

for (const missing of [0, 0.04]) {
  const data = new SyntheticDataset({ ...SMALL, vertices: 30, seed: 11, missing });
  const images = data.matrix();
  const p = 23;
  const contrasts = { time: 'time', age: unit(p, 2), 'sex+age': [unit(p, 1), unit(p, 2)] };
  for (const [label, formula] of [
    ['random intercept', INTERCEPT],
    ['intercept + slope', SLOPE],
  ]) {
    test(`brain parity: ${label}, ${missing ? 'missing images' : 'complete data'}`, () => {
      const fit = lmerBrainSync(formula, data.table, { images, contrasts });
      assert.equal(fit.counts().fitted, 30);
      if (missing) assert.ok(new Set(fit.map('n')).size > 3, 'voxels should differ in their number of observations');
      else assert.ok(fit.map('n').every((n) => n === data.nimages));
      for (let i = 0; i < 30; i += 4) checkVoxel(fit, i);
    });
  }
}

test('brain parity: maximum likelihood fits', () => {
  const data = new SyntheticDataset({ ...SMALL, vertices: 8, seed: 13, missing: 0.02 });
  const fit = lmerBrainSync(INTERCEPT, data.table, { images: data.matrix(), REML: false, contrasts: { time: 'time' } });
  assert.equal(fit.REML, false);
  for (let i = 0; i < 8; i += 3) {
    assert.equal(fit.voxel(i).REML, false);
    checkVoxel(fit, i);
  }
});

test('brain parity: several random-effects terms (one system per design, responses swapped)', () => {
  const data = new SyntheticDataset({ ...SMALL, vertices: 6, seed: 14, missing: 0.02 });
  const formula = 'y ~ sex + age + time + nih + (1 | subject) + (1 | site)';
  const fit = lmerBrainSync(formula, data.table, { images: data.matrix(), contrasts: { time: 'time' } });
  assert.deepEqual(fit.mapInfo('D').volumes, ['subject: var((Intercept))', 'site: var((Intercept))']);
  for (let i = 0; i < 6; i += 2) {
    const model = fit.voxel(i);
    assert.ok(Math.abs(fit.llh[i] - model.logLik()) < 1e-6, `voxel ${i} llh`);
    // D in formula order: subject then site, whatever lme4's internal term order
    const bySubject = model.terms.find((t) => t.group === 'subject')!.covariance(1)[0];
    const bySite = model.terms.find((t) => t.group === 'site')!.covariance(1)[0];
    assert.ok(Math.abs(fit.map('D', 0)[i] - bySubject) <= 1e-4 * bySubject);
    assert.ok(Math.abs(fit.map('D', 1)[i] - bySite) <= 1e-4 * Math.max(bySite, bySubject));
    const s = satterthwaite1D(model, fit.contrasts[0].rows[0]);
    assert.ok(Math.abs(fit.map('conT_swedf')[i] - s.df) <= 1e-3 * s.df);
  }
});

test('synthetic ABCD-shaped data: counts, continuous visit times, sites, seeded and chunk-independent', () => {
  const abcd = new SyntheticDataset({ vertices: 4, seed: 1 });
  assert.equal(abcd.nsubjects, 5179);
  assert.equal(abcd.nimages, 9835);
  const visits = new Map<string, number[]>();
  abcd.table.subject.forEach((s, r) => visits.set(s, [...(visits.get(s) ?? []), abcd.table.time[r]]));
  const byCount = [1, 2, 3].map((k) => [...visits.values()].filter((v) => v.length === k).length);
  assert.deepEqual(byCount, [1389, 2924, 866]);
  // years since baseline: 0 at baseline, then gaps of 1.5-2.5 years that differ between subjects
  const gaps = [...visits.values()].flatMap((t) => t.slice(1).map((x, i) => x - t[i]));
  assert.ok([...visits.values()].every((t) => t[0] === 0));
  assert.ok(
    gaps.every((g) => g >= 1.499 && g <= 2.501),
    'visit gaps of 1.5-2.5 years',
  );
  assert.ok(new Set(gaps).size > 300, 'follow-up times are continuous (days apart)');
  assert.equal(new Set(abcd.table.site).size, 19);
  const discrete = new SyntheticDataset({ vertices: 4, seed: 1, times: 'discrete' });
  assert.deepEqual([...new Set(discrete.table.time)].sort(), [0, 2, 4]);

  const a = new SyntheticDataset({ ...SMALL, vertices: 150, seed: 5, missing: 0.1 });
  const b = new SyntheticDataset({ ...SMALL, vertices: 150, seed: 5, missing: 0.1 });
  const whole = a.matrix();
  assert.deepEqual(b.matrix(), whole);
  // any chunk is the same slice of the whole, whatever the block boundaries
  const chunk = a.chunk(70, 131);
  for (let i = 0; i < a.nimages; i++) for (let v = 0; v < 61; v++) assert.ok(Object.is(chunk[i * 61 + v], whole[i * 150 + 70 + v]));
  const missing = whole.filter(Number.isNaN).length / whole.length;
  assert.ok(missing > 0.08 && missing < 0.12);
  assert.notDeepEqual(new SyntheticDataset({ ...SMALL, vertices: 150, seed: 6 }).matrix(), whole);
  // a volume: zeros outside the ellipsoid in every image
  const vol = new SyntheticDataset({ ...SMALL, volume: [5, 4, 3], seed: 1 });
  const m = vol.matrix();
  const corner = 0;
  const centre = 2 + 5 * (2 + 4 * 1);
  for (const i of [0, vol.nimages - 1]) {
    assert.equal(m[i * 60 + corner], 0);
    assert.notEqual(m[i * 60 + centre], 0);
  }
});

test('brain: D is vech of VarCorr / sigma^2 in formula order, beta volumes are the coefficients', () => {
  const data = new SyntheticDataset({ ...SMALL, vertices: 3, seed: 2 });
  const fit = lmerBrainSync(SLOPE, data.table, { images: data.matrix() });
  assert.deepEqual(fit.mapInfo('D').volumes, ['subject: var((Intercept))', 'subject: cov(time, (Intercept))', 'subject: var(time)']);
  assert.deepEqual(fit.mapInfo('beta').volumes.slice(0, 5), ['(Intercept)', 'sexM', 'age', 'time', 'nih']);
  // default contrasts: one T contrast per coefficient, con = beta
  assert.deepEqual(fit.mapInfo('con').volumes, fit.mapInfo('beta').volumes);
  const vc = fit.voxel(1).varCorr();
  const s2 = fit.voxel(1).sigma ** 2;
  assert.ok(Math.abs(fit.map('D', 1)[1] - vc[2].vcov / s2) < 1e-4 * Math.abs(vc[0].vcov / s2));
});

test('brain: missing, constant and masked voxels get NaN and a reason, never an exception', () => {
  const data = new SyntheticDataset({ ...SMALL, vertices: 8, seed: 4 });
  const images = data.matrix();
  const nvox = 8;
  for (let r = 0; r < data.nimages; r++) {
    images[r * nvox + 0] = NaN; // no data
    images[r * nvox + 1] = 3.5; // constant
    if (r % 2) images[r * nvox + 2] = 0; // half the images masked out (zero = missing)
  }
  images[5 * nvox + 3] = Infinity;
  const mask = [1, 1, 1, 1, 1, 1, 1, 0];
  const fit = lmerBrainSync(INTERCEPT, data.table, { images, mask, minPercent: 0.6 });
  assert.deepEqual(Array.from(fit.status), [
    VoxelStatus.noData,
    VoxelStatus.constant,
    VoxelStatus.tooFewObservations,
    VoxelStatus.nonFinite,
    VoxelStatus.fitted,
    VoxelStatus.fitted,
    VoxelStatus.fitted,
    VoxelStatus.outsideMask,
  ]);
  assert.ok(Number.isNaN(fit.map('beta')[1]) && Number.isNaN(fit.map('conT')[7]));
  assert.deepEqual(Array.from(fit.map('mask')), [0, 0, 0, 0, 1, 1, 1, 0]);
  const counts = fit.counts();
  assert.equal(counts.inMask, 6);
  assert.equal(counts.failures['fewer observations than MinN / MinPercent'], 1);
  assert.match(fit.summary(), /In mask: 6 +Fitted: 3 +Failed: 3/);
  assert.match(fit.summary(), /constant response +1/);
  // without MinPercent the half-observed voxel is fitted on its own images, like lmer() on them
  const fit2 = lmerBrainSync(INTERCEPT, data.table, { images, mask });
  assert.equal(fit2.status[2], VoxelStatus.fitted);
  assert.equal(fit2.map('n')[2], Math.ceil(data.nimages / 2));
  checkVoxel(fit2, 2);
});

test('brain: FDR q-values are Benjamini-Hochberg over the fitted voxels', () => {
  const data = new SyntheticDataset({ ...SMALL, vertices: 40, seed: 8 });
  const fit = lmerBrainSync(INTERCEPT, data.table, { images: data.matrix(), contrasts: { time: 'time' } });
  const p = Array.from(fit.map('conTp'));
  const q = fit.map('conTq');
  const m = p.length;
  const order = p.map((_, i) => i).sort((a, b) => p[a] - p[b]);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const i = order[rank - 1];
    running = Math.min(running, (p[i] * m) / rank);
    assert.ok(Math.abs(q[i] - running) <= 1e-5 * running, `q at voxel ${i}`);
  }
});

test('brain: worker threads give the in-thread maps', async () => {
  const data = new SyntheticDataset({ ...SMALL, vertices: 64, seed: 9, missing: 0.01 });
  const options = { images: data.matrix(), contrasts: { time: 'time' }, chunkSize: 16 };
  const progress: number[] = [];
  const threaded = await lmerBrain(INTERCEPT, data.table, { ...options, workers: 2, onProgress: (p) => progress.push(p.voxelsDone) });
  const inline = lmerBrainSync(INTERCEPT, data.table, options);
  assert.equal(progress.length, 4);
  assert.equal(progress[3], 64);
  for (const name of ['beta', 'sigma2', 'D', 'conT', 'conT_swedf', 'llh']) {
    const a = threaded.map(name);
    const b = inline.map(name);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-5 * Math.max(1, Math.abs(b[i])), `${name}[${i}]`);
  }
});

test('brain: compare() gives the boundary-mixture likelihood-ratio maps', () => {
  const data = new SyntheticDataset({ ...SMALL, vertices: 6, seed: 12 });
  const images = data.matrix();
  const reduced = lmerBrainSync(INTERCEPT, data.table, { images });
  const full = lmerBrainSync(SLOPE, data.table, { images });
  const cmp = compareFits(reduced, full);
  for (let i = 0; i < 6; i++) {
    const chi2 = Math.max(0, 2 * (roiFit(full, i).logLik() - roiFit(reduced, i).logLik()));
    assert.ok(Math.abs(cmp.map('Chi2')[i] - chi2) < 1e-5 * Math.max(1, chi2));
    // 50:50 chi-square(1) : chi-square(2), as BLMM's compare of these designs
    const lp = negLog10FromLn(logChisqMixtureUpper(chi2, [1, 2], [0.5, 0.5]));
    assert.ok(Math.abs(cmp.map('Chi2lp')[i] - lp) < 1e-4 * Math.max(1, lp));
  }
  assert.throws(() => compareFits(full, reduced), ModelError);
  // far beyond double precision's p-values the log-space tail keeps Chi2lp exact
  const far = (llh: number, fit: BrainFit) => new BrainFit({ ...fitInit(fit), llh: Float64Array.of(llh) });
  const huge = compareFits(far(-5000, reduced), far(-3000, full));
  assert.equal(huge.map('Chi2')[0], 4000);
  const expected = negLog10FromLn(logChisqMixtureUpper(4000, [1, 2], [0.5, 0.5]));
  assert.ok(expected > 800 && Math.abs(huge.map('Chi2lp')[0] - expected) < 1e-3 * expected);
});

/** A one-voxel copy of a fit's description, for comparisons of given log-likelihoods. */
function fitInit(fit: BrainFit) {
  const n = Float32Array.of(fit.map('n')[0]);
  return {
    formula: fit.formula,
    REML: fit.REML,
    xNames: fit.xNames,
    ntheta: fit.ntheta,
    nimages: fit.nimages,
    nvox: 1,
    geometry: { ...fit.geometry, nvox: 1, dims: [1] },
    contrasts: [],
    maps: [{ name: 'n', nvol: 1, volumes: ['n'], data: n }],
    status: Uint8Array.of(VoxelStatus.fitted),
    seconds: 0,
    evaluations: 0,
  };
}

test('brain: input errors are reported before any fitting', () => {
  const data = new SyntheticDataset({ ...SMALL, vertices: 4, seed: 1 });
  const images = data.matrix();
  assert.throws(
    () => lmerBrainSync(INTERCEPT, data.table, { images, contrasts: { bad: [1, 0, 1] } }),
    (e: unknown) => e instanceof ModelError && /contrast 'bad' has 3 entries, the model has 23/.test(e.message),
  );
  assert.throws(() => lmerBrainSync(INTERCEPT, data.table, { images: images.subarray(1) }), DataError);
  assert.throws(() => lmerBrainSync(`~ ${FIXED} + (1 | subject)`, data.table, { images }), /plain response name/);
  assert.throws(() => lmerBrainSync(INTERCEPT, data.table, { images, mask: [1, 1] }), /analysis mask has 2 voxels, the images have 4/);
  assert.throws(() => lmerBrainSync(INTERCEPT, data.table, { images: 'scan' }), /no column 'scan'/);
  // lme4's check.nobs.vs.nRE on request: refused on the whole design before the voxels
  const few = new SyntheticDataset({ visits: [20, 20, 0], vertices: 2, seed: 1, medialWall: 0, patchy: 0 });
  assert.throws(
    () => lmerBrainSync(SLOPE, few.table, { images: few.matrix(), nobsVsRE: 'stop' }),
    /cannot be fitted: number of observations \(=60\) <= number of random effects \(=80\) for term \(1 \+ time \| subject\)/,
  );
});

test("brain: voxels with no more observations than random effects are fitted (lme4's check ignored) and counted", () => {
  const few = new SyntheticDataset({ visits: [10, 30, 10], vertices: 3, seed: 1, medialWall: 0, patchy: 0 });
  const fit = lmerBrainSync(SLOPE, few.table, { images: few.matrix() });
  assert.equal(fit.counts().fitted, 3);
  assert.equal(fit.crowded, 3);
  assert.match(fit.summary(), /no more observations than random effects \(lme4's check.nobs.vs.nRE ignored\): 3/);
  for (let i = 0; i < 3; i++) checkVoxel(fit, i, true);
});

test('brain: surface-like missingness (medial wall, coverage patches) on ABCD-shaped data', () => {
  // the patches' share of the vertices is raised so that a few hundred vertices hold enough of them
  const data = new SyntheticDataset({ visits: [30, 60, 30], vertices: 400, seed: 21, medialWall: 0.1, patchy: 0.2 });
  const images = data.matrix();
  const fit = lmerBrainSync(INTERCEPT, data.table, { images, contrasts: { time: 'time' } });
  const noData = fit.status.filter((s) => s === VoxelStatus.noData).length;
  assert.ok(noData > 20 && noData < 60, `about 10% of the vertices are medial wall (${noData})`);
  const n = fit.map('n');
  const partial = [...fit.status.keys()].filter((i) => fit.status[i] === VoxelStatus.fitted && n[i] < data.nimages);
  const lost = partial.map((i) => 1 - n[i] / data.nimages);
  assert.ok(partial.length > 20, 'vertices in the patches miss images');
  // a patch takes 10-30% of the images at its centre, fewer towards its edge (two may overlap)
  assert.ok(Math.max(...lost) <= 0.4 && Math.min(...lost) < 0.05, `missing shares ${Math.min(...lost)}..${Math.max(...lost)}`);
  assert.ok(new Set(partial.map((i) => n[i])).size > 10, 'the patches have many distinct missingness patterns');
  for (const i of partial.filter((_, j) => j % Math.ceil(partial.length / 4) === 0)) checkVoxel(fit, i);
});

test("brain: a missingness pattern's design derived from its neighbour's equals the design built from its rows", () => {
  const data = new SyntheticDataset({ visits: [30, 60, 30], vertices: 1, seed: 3, medialWall: 0, patchy: 0 });
  const y = data.matrix();
  for (const formula of [INTERCEPT, 'y ~ sex + age + time + nih + (1 | site) + (1 | subject)']) {
    const { spec } = prepare(formula, data.table, { images: y });
    const n = spec.n;
    const subject = spec.terms.find((t) => t.group === 'subject')!.factor.codes;
    // pattern a: every 7th image and all of subject 0's gone (a level without rows); b, its
    // neighbour: half of those back, every 11th gone (levels change visit counts both ways)
    const inA = (r: number) => r % 7 !== 0 && subject[r] !== 0;
    const inB = (r: number) => (inA(r) || r % 14 === 0) && r % 11 !== 0;
    const rows = (keep: (r: number) => boolean) => Int32Array.from({ length: n }, (_, r) => r).filter(keep);
    const full = new BrainDesign(spec);
    assert.ok(full.system!.derivable);
    const a = new BrainDesign(spec, rows(inA), 'ignore', full);
    const derived = new BrainDesign(spec, rows(inB), 'ignore', a);
    const built = new BrainDesign(spec, rows(inB));
    // the response's products over b's rows: the full design's, its missing images counted as 0
    const products = full.newProducts();
    const response = Float32Array.from({ length: n }, (_, r) => (inB(r) ? y[r] : 0));
    full.products(
      response,
      Int32Array.from({ length: n }, (_, r) => r),
      1,
      products,
    );
    derived.setResponse(products, 0);
    built.setResponse(products, 0);
    for (const theta of [derived.initialTheta, derived.initialTheta.map((t, i) => 0.3 + 0.4 * i), derived.initialTheta.map(() => 2.5)]) {
      const [d, b] = [derived.system!.evaluate(theta)!, built.system!.evaluate(theta)!];
      for (const key of ['logdetZ', 'logdetX', 'pwrss'] as const)
        assert.ok(Math.abs(d[key] - b[key]) <= 1e-9 * Math.abs(b[key]), `${formula}, theta ${theta}: ${key} ${d[key]} vs ${b[key]}`);
      const [gd, gb] = [derived.system!.gradient(true)!, built.system!.gradient(true)!];
      gd.forEach((g, i) => assert.ok(Math.abs(g - gb[i]) <= 1e-7 * (1 + Math.abs(gb[i])), `${formula}: gradient ${i} ${g} vs ${gb[i]}`));
    }
  }
});

test('brain: a voxel whose observed images leave a site out is rank deficient there, as lm() would find', () => {
  const data = new SyntheticDataset({ ...SMALL, vertices: 3, seed: 5 });
  const images = data.matrix();
  const site = data.table.site[0];
  // vertex 1 misses every image of one site (its indicator column is all zero there); vertex 2
  // misses as many images spread over the sites, and stays fitted
  let removed = 0;
  data.table.site.forEach((s, r) => {
    if (s !== site) return;
    images[r * 3 + 1] = NaN;
    images[((r * 7) % data.nimages) * 3 + 2] = NaN;
    removed++;
  });
  assert.ok(removed > 2);
  const fit = lmerBrainSync(INTERCEPT, data.table, { images });
  assert.deepEqual(Array.from(fit.status), [VoxelStatus.fitted, VoxelStatus.rankDeficient, VoxelStatus.fitted]);
  checkVoxel(fit, 2);
});
