import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choleskyInverse, choleskyLower, solveLower, solveLowerTransposed } from '../src/linalg/dense';
import { cliqueColumns } from '../src/linalg/cliques';
import { KernelMemory } from '../src/linalg/kernels';
import { minimumDegree } from '../src/linalg/ordering';
import { SupernodalCholesky } from '../src/linalg/supernodal';
import { supernodalPool } from '../src/linalg/supernodal-pool';

/** a random symmetric positive definite matrix B B' + n I (column-major) from a seeded generator */
function spd(n: number, seed: number): Float64Array {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
  const b = Float64Array.from({ length: n * n }, rnd);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let v = i === j ? n : 0;
      for (let k = 0; k < n; k++) v += b[i + k * n] * b[j + k * n];
      a[i + j * n] = v;
    }
  return a;
}

test("blocked Cholesky reproduces A = L L' across panel boundaries and odd sizes", () => {
  for (const n of [1, 2, 5, 47, 48, 49, 97, 130]) {
    const a = spd(n, n + 7);
    const l = a.slice();
    assert.ok(choleskyLower(l, n));
    let worst = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j <= i; j++) {
        let v = 0;
        for (let k = 0; k <= j; k++) v += l[i + k * n] * l[j + k * n];
        worst = Math.max(worst, Math.abs(v - a[i + j * n]) / Math.abs(a[i + i * n]));
      }
    assert.ok(worst < 1e-13, `n=${n}: ${worst}`);
    // the strict upper triangle is left untouched
    for (let j = 1; j < n; j++) assert.equal(l[0 + j * n], a[0 + j * n]);
  }
});

test('Cholesky reports a matrix that is not positive definite', () => {
  const a = Float64Array.from([1, 2, 2, 1]); // eigenvalues 3 and -1
  assert.equal(choleskyLower(a, 2), false);
});

test('triangular solves and the Cholesky inverse agree with A x = b', () => {
  const n = 60;
  const a = spd(n, 3);
  const l = a.slice();
  choleskyLower(l, n);
  const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i] += a[i + j * n] * x[j];
  solveLower(l, n, b);
  solveLowerTransposed(l, n, b);
  b.forEach((v, i) => assert.ok(Math.abs(v - x[i]) < 1e-12));
  const inv = choleskyInverse(l, n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let k = 0; k < n; k++) v += a[i + k * n] * inv[k + 3 * n];
    assert.ok(Math.abs(v - (i === 3 ? 1 : 0)) < 1e-12);
  }
});

/**
 * A sparse SPD matrix with the pattern of crossed factors: sum over random cliques of v v'
 * (v random on the clique) plus the identity; the last `dense` nodes join every clique (X, y).
 */
function crossedSpd(nodes: number, cliques: number, dense: number, seed: number): { a: Float64Array; cliques: Int32Array[] } {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const n = nodes + dense;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) a[i + i * n] = 1;
  const list: Int32Array[] = [];
  for (let c = 0; c < cliques; c++) {
    const size = 2 + Math.floor(rnd() * 10);
    const members = new Set<number>();
    while (members.size < size) members.add(Math.floor(rnd() * nodes));
    for (let d = 0; d < dense; d++) members.add(nodes + d);
    const clique = Int32Array.from(members);
    const v = Array.from(clique, () => rnd() - 0.5);
    clique.forEach((i, p) => clique.forEach((j, q) => (a[i + j * n] += v[p] * v[q])));
    list.push(clique);
  }
  return { a, cliques: list };
}

/** the symmetric permutation P A P' with order[j] the row of A that becomes row j */
function permute(a: Float64Array, n: number, order: Int32Array): Float64Array {
  const out = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) out[i + j * n] = a[order[i] + order[j] * n];
  return out;
}

test('minimum degree eliminates leaves before their hub, and its structure is the fill of the elimination', () => {
  // a star: the hub (node 0) joined to five leaves; eliminating leaves first adds no fill
  const star = minimumDegree(
    6,
    [1, 2, 3, 4, 5].map((leaf) => Int32Array.from([0, leaf])),
  );
  assert.ok(star.order.indexOf(0) >= 4);
  for (const rows of star.structure) assert.ok(rows.length <= 1);
  // a path 0-1-2-3 ordered from an end creates no fill: every column has at most one row below
  const path = minimumDegree(4, [Int32Array.from([0, 1]), Int32Array.from([1, 2]), Int32Array.from([2, 3])]);
  for (const rows of path.structure) assert.ok(rows.length <= 1);
  assert.deepEqual([...path.order].sort(), [0, 1, 2, 3]);
});

test('supernodal Cholesky in a minimum-degree order equals the dense factor, entry by entry', () => {
  for (const [nodes, cliques, dense] of [
    [40, 30, 2],
    [300, 500, 3],
  ]) {
    const n = nodes + dense;
    const { a, cliques: list } = crossedSpd(nodes, cliques, dense, nodes);
    const { order, structure } = minimumDegree(n, list);
    const ap = permute(a, n, order);
    const chol = new SupernodalCholesky(n, structure);
    assert.ok(chol.flops < n ** 3 / 6, 'the sparse factorization does less work than the dense one');
    const work = chol.work();
    work.matrix.set(ap);
    assert.ok(chol.factor(work));
    const l = work.matrix;
    const dense0 = ap.slice();
    assert.ok(choleskyLower(dense0, n));
    for (let j = 0; j < n; j++) for (let i = j; i < n; i++) assert.ok(Math.abs(l[i + j * n] - dense0[i + j * n]) < 1e-12 * n, `L[${i}, ${j}]`);
    // the selected inverse is the inverse on the structure, for the whole matrix and a leading block
    for (const include of [n, n - 1, n - dense]) {
      work.inverse.fill(0);
      chol.selectedInverse(work, include);
      const z = work.inverse;
      const lead = new Float64Array(include * include);
      for (let j = 0; j < include; j++) for (let i = j; i < include; i++) lead[i + j * include] = dense0[i + j * n];
      const inv = choleskyInverse(lead, include);
      for (let j = 0; j < include; j++) {
        assert.ok(Math.abs(z[j + j * n] - inv[j + j * include]) < 1e-12, `Z[${j}, ${j}]`);
        for (const i of structure[j])
          if (i < include) {
            assert.ok(Math.abs(z[i + j * n] - inv[i + j * include]) < 1e-12, `Z[${i}, ${j}]`);
            assert.equal(z[j + i * n], z[i + j * n]);
          }
      }
    }
  }
});

test("the supernodal kernels on worker threads give the single thread's numbers exactly", () => {
  const nodes = 500;
  const n = nodes + 3;
  const { a, cliques } = crossedSpd(nodes, 1500, 3, 3);
  const { order, structure } = minimumDegree(n, cliques);
  const ap = permute(a, n, order);
  const chol = new SupernodalCholesky(n, structure);
  const pool = supernodalPool();
  if (!pool) return; // a single-core machine has nothing to split
  const single = chol.work();
  single.matrix.set(ap);
  assert.ok(chol.factor(single));
  chol.selectedInverse(single, n);
  // two systems take turns on the one pool: each hands its buffers over when its turn comes
  const other = crossedSpd(200, 600, 2, 5);
  const otherOrder = minimumDegree(202, other.cliques);
  const otherChol = new SupernodalCholesky(202, otherOrder.structure);
  const otherAp = permute(other.a, 202, otherOrder.order);
  const otherSingle = otherChol.work();
  otherSingle.matrix.set(otherAp);
  assert.ok(otherChol.factor(otherSingle));
  const work = pool.work(chol);
  const otherWork = pool.work(otherChol);
  for (let round = 0; round < 2; round++) {
    work.matrix.set(ap);
    assert.ok(chol.factor(work));
    chol.selectedInverse(work, n);
    for (let i = 0; i < n * n; i++) assert.equal(work.matrix[i], single.matrix[i]);
    for (let i = 0; i < n * n; i++) assert.equal(work.inverse[i], single.inverse[i]);
    otherWork.matrix.set(otherAp);
    assert.ok(otherChol.factor(otherWork));
    for (let i = 0; i < 202 * 202; i++) assert.equal(otherWork.matrix[i], otherSingle.matrix[i]);
  }
});

test('the rank updates by cliques equal their definition, on one thread (own and borrowed memory) and split between threads', () => {
  for (const [n, k] of [
    [300, 1],
    [300, 2],
    [120, 1],
    [120, 3],
  ]) {
    const { cliques } = crossedSpd(n - 3, 3 * n, 3, 17);
    const { structure } = minimumDegree(n, cliques);
    const chol = new SupernodalCholesky(n, structure);
    // the levels' rows, ascending, and k values per row
    const start = new Int32Array(cliques.length + 1);
    cliques.forEach((c, l) => (start[l + 1] = start[l] + c.length));
    const idx = new Int32Array(start[cliques.length]);
    cliques.forEach((c, l) => idx.set(Int32Array.from(c).sort(), start[l]));
    const w = Float64Array.from({ length: idx.length * k }, (_, i) => Math.sin(i));
    const wt = Float64Array.from({ length: idx.length * k }, (_, i) => Math.cos(i));
    const g = Float64Array.from({ length: n * n }, (_, i) => Math.sin(0.37 * i));
    const include = n - 1;
    // the definitions, level by level
    const products = new Float64Array(n * n);
    const sums = new Float64Array(k * k);
    for (let l = 0; l < cliques.length; l++)
      for (let qs = start[l]; qs < start[l + 1]; qs++)
        for (let qr = qs; qr < start[l + 1]; qr++) {
          let dot = 0;
          for (let c = 0; c < k; c++) dot += w[qr * k + c] * w[qs * k + c];
          products[idx[qr] + idx[qs] * n] -= dot;
          if (idx[qr] >= include) continue;
          const gv = g[idx[qr] + idx[qs] * n];
          for (let b = 0; b < k; b++)
            for (let a = 0; a < k; a++) sums[a + b * k] -= gv * (wt[qr * k + a] * wt[qs * k + b] + (qr === qs ? 0 : wt[qs * k + a] * wt[qr * k + b]));
        }
    const firstTerm = { columns: cliqueColumns(idx, start, n), k };
    const pool = supernodalPool();
    const single = chol.work(firstTerm);
    assert.equal(single.borrowed, n < 256);
    for (const work of [single, ...(pool ? [pool.work(chol, firstTerm)] : [])]) {
      work.cliques!.w.set(w);
      work.cliques!.wt.set(wt);
      work.inverse.set(g);
      work.cliques!.subtract();
      for (let i = 0; i < n * n; i++) assert.ok(Math.abs(work.matrix[i] - products[i]) <= 1e-12 * (1 + Math.abs(products[i])), `target[${i}]`);
      const out = new Float64Array(k * k);
      work.cliques!.trace(include, out);
      for (let i = 0; i < k * k; i++) assert.ok(Math.abs(out[i] - sums[i]) <= 1e-11 * (1 + Math.abs(sums[i])), `sums[${i}]`);
    }
  }
});

test('a factorization too large for the kernel memory is refused with a message, before any allocation', () => {
  assert.ok(KernelMemory.allocate(1000).f64.length >= 1000);
  assert.throws(() => KernelMemory.allocate(1e9), /too large: its factorization needs 7\.5 GiB of kernel memory/);
  // the tail of a model that wide: its matrix and inverse alone are 2 n^2 doubles
  assert.throws(
    () =>
      new SupernodalCholesky(
        17000,
        Array.from({ length: 17000 }, () => new Int32Array(0)),
      ).work(),
    /too large/,
  );
});
