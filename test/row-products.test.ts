/**
 * The row-major product kernels of the whole-brain engine (kernels.wat: crossprodRows,
 * sumSquaresRows, scatterRows, transposeRows, widenRows; RowFactor's dense and sparse split) against
 * plain JavaScript on sizes that the kernels' tiles and chunks do not divide, and the batched
 * products of a BrainDesign (its grouped first block's y rows included) against the products of
 * each voxel's response written out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { growableMemory } from '../src/linalg/kernels';
import { RowFactor } from '../src/linalg/row-factor';
import { prepare } from '../src/brain/lmerbrain';
import { BrainDesign } from '../src/brain/design';
import { SyntheticDataset } from '../src/brain/synthetic';

function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
}

const roundUp4 = (x: number) => (x + 3) & ~3;

function assertClose(actual: number, expected: number, scale: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-12 * scale, `${what}: ${actual} vs ${expected}`);
}

/**
 * A (m x a, column-major): three dense columns, then four sparse ones (a factor's indicators
 * with a reference level, so some rows have none, and every 9th row a second entry).
 */
function mixedFactor(m: number, rnd: () => number): Float64Array {
  const a = 7;
  const A = new Float64Array(m * a);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < 3; j++) A[r + j * m] = rnd();
    const level = r % 5;
    if (level < 4) A[r + (3 + level) * m] = 1;
    if (r % 9 === 0) A[r + (3 + ((level + 1) % 4)) * m] = 2 * rnd();
  }
  return A;
}

for (const [m, V] of [
  [131, 1],
  [131, 5],
  [300, 13],
  [41, 8],
])
  test(`row kernels: A'B, column sums of squares, scatter, transposition on ${m} rows of ${V} responses`, () => {
    const rnd = random(m * 31 + V);
    const a = 7;
    const width = roundUp4(V);
    const A = mixedFactor(m, rnd);
    const factor = new RowFactor(m, a, A, 1, m);
    // the indicator columns are scattered, in two layers (every 9th row has two)
    assert.equal(factor.denseWidth, 4);
    assert.equal(factor.rows, 4 + 4 + 1);
    const B = Float64Array.from({ length: m * V }, rnd);
    const kernels = growableMemory();
    const at = 0;
    const b = factor.doubles;
    const c = b + m * width;
    const sums = c + factor.rows * width;
    const levels = 6;
    const d = sums + width;
    const weights = d + levels * width;
    const index = weights + m;
    const t = index + m;
    kernels.reserve(t + levels * V);
    factor.write(kernels, at);
    const f64 = kernels.f64;
    f64.fill(0, b, t);
    for (let r = 0; r < m; r++) for (let v = 0; v < V; v++) f64[b + r * width + v] = B[r * V + v];
    const code = Int32Array.from({ length: m }, (_, r) => (r * 7) % levels);
    const z = Float64Array.from({ length: m }, rnd);
    f64.set(z, weights);
    kernels.i32.set(code, 2 * index);
    // two calls over the rows, as the engine's chunks of rows make them
    const half = m >> 1;
    for (const [from, count] of [
      [0, half],
      [half, m - half],
    ]) {
      factor.addProducts(kernels, at, c, b + from * width, width, from, count);
      kernels.sumSquaresRows(sums, b + from * width, width, count);
      kernels.scatterRows(d, b + from * width, width, 2 * index + from, weights + from, count);
    }
    for (let v = 0; v < V; v++) {
      let ss = 0;
      for (let r = 0; r < m; r++) ss += B[r * V + v] ** 2;
      assertClose(f64[sums + v], ss, ss, `y'y of response ${v}`);
      for (let j = 0; j < a; j++) {
        let s = 0;
        let scale = 0;
        for (let r = 0; r < m; r++) {
          s += A[r + j * m] * B[r * V + v];
          scale += Math.abs(A[r + j * m] * B[r * V + v]);
        }
        assertClose(f64[c + factor.rowOf[j] * width + v], s, scale, `A'B[${j}, ${v}]`);
      }
      for (let l = 0; l < levels; l++) {
        let s = 0;
        let scale = 0;
        for (let r = 0; r < m; r++)
          if (code[r] === l) {
            s += z[r] * B[r * V + v];
            scale += Math.abs(z[r] * B[r * V + v]);
          }
        assertClose(f64[d + l * width + v], s, scale, `Z'B[${l}, ${v}]`);
      }
    }
    // the levels' rows to one column per response, read in a permuted order
    const order = Int32Array.from({ length: levels }, (_, e) => (e * 5 + 1) % levels);
    kernels.i32.set(order, 2 * index);
    kernels.transposeRows(t, levels, d, width, 2 * index, V);
    for (let v = 0; v < V; v++) for (let e = 0; e < levels; e++) assert.equal(f64[t + v * levels + e], f64[d + order[e] * width + v]);
  });

test('row kernels: a factor whose sparse columns overlap as much as dense ones is all dense', () => {
  const m = 10;
  // two columns, both nonzero on rows 0 and 1 only: two layers would cost what two dense columns do
  const A = new Float64Array(2 * m);
  A.set([1, 2], 0);
  A.set([3, 4], m);
  const factor = new RowFactor(m, 2, A, 1, m);
  assert.equal(factor.denseWidth, 4);
  assert.equal(factor.rows, 4);
});

test("row kernels: responses widened to double, missing values as 0, each column's observed count and range", () => {
  const rows = 3;
  const width = 8;
  const values = Float32Array.from({ length: rows * width }, (_, i) => (i % 5 === 3 ? NaN : i % 7 === 2 ? 0 : i / 3 - 1.7));
  values[width + 6] = Infinity;
  for (const zeroIsMissing of [false, true]) {
    const kernels = growableMemory();
    kernels.reserve(1024);
    const stats = 512;
    kernels.f64.fill(0, stats, stats + width);
    kernels.f64.fill(Infinity, stats + width, stats + 2 * width);
    kernels.f64.fill(-Infinity, stats + 2 * width, stats + 3 * width);
    kernels.f32.set(values, 0);
    kernels.widenRows(64, 0, rows, width, stats, zeroIsMissing);
    const observed = (x: number) => !Number.isNaN(x) && !(zeroIsMissing && x === 0);
    values.forEach((x, i) => assert.equal(kernels.f64[64 + i], observed(x) ? x : 0));
    for (let j = 0; j < width; j++) {
      const column = [0, 1, 2].map((r) => values[r * width + j]).filter(observed);
      assert.equal(kernels.f64[stats + j], column.length, `column ${j}'s count`);
      assert.equal(kernels.f64[stats + width + j], Math.min(Infinity, ...column));
      assert.equal(kernels.f64[stats + 2 * width + j], Math.max(-Infinity, ...column));
    }
  }
});

/** Each voxel's X'y, y'y and Z'y written out in double precision. */
function voxelProducts(design: BrainDesign, X: Float64Array, y: Float32Array, rowImage: Int32Array, width: number, c: number) {
  const { n, p } = design;
  const yOf = (r: number) => y[rowImage[r] * width + c];
  const xty = Float64Array.from({ length: p }, (_, j) => {
    let s = 0;
    for (let r = 0; r < n; r++) s += X[r + j * n] * yOf(r);
    return s;
  });
  let yty = 0;
  for (let r = 0; r < n; r++) yty += yOf(r) ** 2;
  const zty = design.terms.map(({ k, nlevels, codes, z }) => {
    const out = new Float64Array(nlevels * k);
    for (let r = 0; r < n; r++) for (let a = 0; a < k; a++) out[codes[r] * k + a] += z[r + a * n] * yOf(r);
    return out;
  });
  return { xty, yty, zty };
}

for (const [formula, V, grouped] of [
  ['y ~ sex + age + time + nih + site + (1 | subject)', 13, true],
  ['y ~ sex + age + time + nih + site + (1 | subject)', 1, true],
  // the grouped block's tail has the site levels, scaled by their lambda
  ['y ~ sex + age + time + nih + (1 | site) + (1 | subject)', 11, true],
  // a stacked first block: no batched rows
  ['y ~ sex + age + time + nih + site + (1 + time | subject)', 6, false],
] as const)
  test(`brain products: ${formula}, ${V} voxels batched, equal each voxel's products written out`, () => {
    const data = new SyntheticDataset({ visits: [20, 30, 20], vertices: 16, seed: 11, medialWall: 0, patchy: 0 });
    const y = data.matrix();
    const width = data.nvox;
    const { spec, rowImage } = prepare(formula, data.table, { images: y });
    const batched = new BrainDesign(spec);
    const single = new BrainDesign(spec);
    const products = batched.newProducts();
    const first = 2;
    batched.products(
      y,
      Int32Array.from(rowImage, (image) => image * width + first),
      V,
      products,
    );
    assert.equal(products.batched !== undefined, grouped);
    for (let v = 0; v < V; v++) {
      batched.setResponse(products, v);
      single.system!.setResponse(voxelProducts(single, spec.X, y, rowImage, width, first + v));
      for (const theta of [batched.initialTheta, batched.initialTheta.map((_, i) => 0.4 + 0.3 * i)]) {
        const [b, s] = [batched.system!.evaluate(theta)!, single.system!.evaluate(theta)!];
        for (const key of ['logdetZ', 'logdetX', 'pwrss'] as const)
          assert.ok(Math.abs(b[key] - s[key]) <= 1e-10 * Math.abs(s[key]), `voxel ${v}, ${key}: ${b[key]} vs ${s[key]}`);
        const [gb, gs] = [batched.system!.gradient(true)!, single.system!.gradient(true)!];
        gb.forEach((g, i) => assert.ok(Math.abs(g - gs[i]) <= 1e-8 * (1 + Math.abs(gs[i])), `voxel ${v}: gradient ${i} ${g} vs ${gs[i]}`));
        // the random effects read the response's Z'y from the grouped block's W
        const [ub, us] = [batched.system!.solve().u, single.system!.solve().u];
        ub.forEach((u, t) => u.forEach((x, i) => assert.ok(Math.abs(x - us[t][i]) <= 1e-9 * (1 + Math.abs(us[t][i])), `voxel ${v}: u[${t}][${i}]`)));
      }
    }
  });
