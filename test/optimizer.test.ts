/**
 * The optimizer: exact on hand-made functions, and not stalled at a diagonal theta of 0, a
 * stationary point of every mixed-model deviance (it is even in each diagonal of lambda).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SyntheticDataset } from '../src/brain/synthetic';
import { lmer } from '../src/lmm/lmer';
import { minimizeBounded } from '../src/lmm/optimize';

test('minimizes a quadratic exactly, with an active bound', () => {
  // minimum of (x-2)^2 + (y+1)^2 + xy over x >= 0, y >= 0 is at x = 2, y = 0 (y's bound active)
  const r = minimizeBounded((v) => (v[0] - 2) ** 2 + (v[1] + 1) ** 2 + v[0] * v[1], [1, 1], [0, 0]);
  assert.ok(r.converged, r.message);
  assert.ok(Math.abs(r.x[0] - 2) < 1e-6 && r.x[1] === 0, `${r.x}`);
});

test('a stationary point at the bound (an even function of x) is escaped when the minimum is inside', () => {
  // f is even in x with a local maximum at x = 0: a gradient search started there stalls
  const f = (v: Float64Array) => (v[0] * v[0] - 1) ** 2 + (v[1] - 0.3) ** 2;
  const r = minimizeBounded(f, [0, 0], [0, -Infinity]);
  assert.ok(Math.abs(r.x[0] - 1) < 1e-5 && Math.abs(r.x[1] - 0.3) < 1e-6, `${r.x}`);
  // a true minimum at the bound stays there
  const g = (v: Float64Array) => v[0] * v[0] + (v[1] - 0.3) ** 2;
  assert.equal(minimizeBounded(g, [0, 1], [0, -Infinity]).x[0], 0);
});

test('random slopes whose path reaches theta = 0 still find the interior optimum', () => {
  // voxel 28 of this synthetic set stalled at a zero diagonal 0.17 log-likelihood short
  const data = new SyntheticDataset({ visits: [10, 40, 30], vertices: 30, seed: 11 });
  const images = data.matrix();
  const y = Array.from({ length: data.nimages }, (_, r) => images[r * data.nvox + 28]);
  const formula = `y ~ ${SyntheticDataset.FIXED} + (1 + time | subject)`;
  const fit = lmer(formula, { ...data.table, y });
  for (const start of [
    [0.5, 0, 0.5],
    [1, 0.5, 1],
    [0.2, -0.2, 0.3],
  ]) {
    const other = lmer(formula, { ...data.table, y }, { start });
    assert.ok(fit.objective <= other.objective + 1e-6, `from [${start}]: ${other.objective} < ${fit.objective}`);
  }
});
