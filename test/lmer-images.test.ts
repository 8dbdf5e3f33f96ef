/**
 * lmer() with `images` is the whole-brain fit: the same formula at every voxel, each voxel equal
 * to the ROI fit of that voxel's values.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lmer } from '../src/api';
import { LinearMixedModel } from '../src/lmm/model';

test('lmer(formula, table, {images}) fits every voxel like lmer() on that voxel alone', async () => {
  const subjects = 12;
  const visits = 4;
  const nvox = 3;
  const rows = subjects * visits;
  const subject: string[] = [];
  const time: number[] = [];
  const images = new Float32Array(rows * nvox);
  let seed = 7;
  const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 4;
  for (let s = 0; s < subjects; s++) {
    const intercept = noise() * 2;
    for (let v = 0; v < visits; v++) {
      const r = s * visits + v;
      subject.push(`s${s}`);
      time.push(v);
      for (let x = 0; x < nvox; x++) images[r * nvox + x] = 10 * (x + 1) + intercept + (x + 0.5) * v + noise();
    }
  }
  const fit = await lmer('y ~ time + (1 | subject)', { subject, time }, { images, workers: 0 });
  for (let x = 0; x < nvox; x++) {
    const y = Array.from({ length: rows }, (_, r) => images[r * nvox + x]);
    const roi = lmer('y ~ time + (1 | subject)', { y, subject, time });
    assert.ok(fit.voxel(x) instanceof LinearMixedModel);
    // maps are volume-major: volume j of 'beta' holds coefficient j at every voxel (float32)
    roi.beta.forEach((b, j) => assert.ok(Math.abs(fit.map('beta', j)[x] - b) <= 1e-5 * Math.abs(b), `voxel ${x} beta ${j}`));
    assert.ok(Math.abs(fit.voxel(x).objective - roi.objective) < 1e-6);
  }
});
