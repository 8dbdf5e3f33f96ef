/**
 * The whole-brain maps against lme4 + lmerTest themselves (test/reference/make-brain-references.R)
 * on ABCD-shaped data: follow-up times in years that differ per subject (every subject its own
 * Z_i'Z_i in the slope design), 19 sites, subjects with 1 to 3 visits. Per vertex: the fixed
 * effects, the REML log-likelihood, sigma^2, D and the Satterthwaite test of the time coefficient.
 * lme4's optimizer stops when a step changes the criterion by less than 1e-8, which can leave
 * theta off in its fourth digit: the maps then agree to a thousandth of the SEs, the
 * log-likelihood here is never lower, and our system evaluated at lme4's theta gives lme4's
 * fixed effects to 1e-7 of their SEs (the same algebra, only the optimum differs).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { lmerBrainSync } from '../src/brain/lmerbrain';
import { SyntheticDataset } from '../src/brain/synthetic';

const fixtures = path.join(__dirname, '..', '..', 'test', 'fixtures');
interface VertexReference {
  beta: number[];
  se: number[];
  /** a number where there is one (R's JSON unboxes it) */
  theta: number[] | number;
  llh: number;
  sigma2: number;
  D: number[] | number;
  time: { estimate: number; se: number; df: number; t: number };
}
const references: Record<string, { formula: string; vertices: VertexReference[] }> = JSON.parse(
  fs.readFileSync(path.join(fixtures, 'brain-lme4.json'), 'utf8'),
);
const data = new SyntheticDataset({ visits: [30, 90, 40], vertices: 4, seed: 31, medialWall: 0, patchy: 0 });

test('the lme4 reference data are the synthetic dataset (continuous times, 19 sites)', () => {
  const lines = fs.readFileSync(path.join(fixtures, 'brain-abcd.csv'), 'utf8').trim().split('\n').slice(1);
  assert.equal(lines.length, data.nimages);
  const Y = data.matrix();
  lines.forEach((line, r) => {
    const cells = line.split(',');
    assert.equal(cells[0], `"${data.table.subject[r]}"`);
    assert.equal(Number(cells[3]), data.table.time[r]);
    for (let v = 0; v < 4; v++) assert.equal(Number(cells[6 + v]), Y[r * 4 + v]);
  });
  assert.ok(new Set(data.table.time).size > 100, 'continuous follow-up times');
});

for (const [design, { formula, vertices }] of Object.entries(references)) {
  test(`brain maps equal lme4 + lmerTest: ${formula}`, () => {
    const fit = lmerBrainSync(formula, data.table, { images: data.matrix(), contrasts: { time: 'time' } });
    vertices.forEach((ref, i) => {
      const where = `${design}, vertex ${i}`;
      assert.ok(fit.llh[i] >= ref.llh - 1e-6, `${where}: llh ${fit.llh[i]} below lme4's ${ref.llh}`);
      const tol = 1e-3;
      assert.ok(Math.abs(fit.llh[i] - ref.llh) < 1e-4, `${where}: llh ${fit.llh[i]} vs ${ref.llh}`);
      const roi = fit.voxel(i);
      assert.ok(roi.evaluateAt(([] as number[]).concat(ref.theta)));
      const atLme4 = roi.system.fixedEffects();
      ref.beta.forEach((b, j) => assert.ok(Math.abs(atLme4[j] - b) <= 1e-7 * Math.max(Math.abs(b), ref.se[j]), `${where}: beta[${j}] at lme4's theta`));
      ref.beta.forEach((b, j) => {
        const scale = Math.max(Math.abs(b), ref.se[j]);
        assert.ok(Math.abs(fit.map('beta', j)[i] - b) <= tol * scale, `${where}: beta[${j}] ${fit.map('beta', j)[i]} vs ${b}`);
      });
      assert.ok(Math.abs(fit.map('sigma2')[i] - ref.sigma2) <= 10 * tol * ref.sigma2, `${where}: sigma2`);
      const D = ([] as number[]).concat(ref.D);
      const scale = Math.max(...D.map(Math.abs));
      D.forEach((d, v) => assert.ok(Math.abs(fit.map('D', v)[i] - d) <= 10 * tol * scale, `${where}: D[${v}] ${fit.map('D', v)[i]} vs ${d}`));
      assert.ok(Math.abs(fit.map('conSE')[i] - ref.time.se) <= 10 * tol * ref.time.se, `${where}: SE(time)`);
      assert.ok(Math.abs(fit.map('conT')[i] - ref.time.t) <= 10 * tol * Math.max(1, Math.abs(ref.time.t)), `${where}: T(time)`);
      assert.ok(
        Math.abs(fit.map('conT_swedf')[i] - ref.time.df) <= 1e-3 * ref.time.df,
        `${where}: Satterthwaite df ${fit.map('conT_swedf')[i]} vs ${ref.time.df}`,
      );
    });
  });
}
