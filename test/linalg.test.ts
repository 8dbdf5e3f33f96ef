import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choleskyInverse, choleskyLower, solveLower, solveLowerTransposed } from '../src/linalg/dense';
import { ParallelCholesky } from '../src/linalg/parallel-cholesky';

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

test('blocked Cholesky reproduces A = L L\' across panel boundaries and odd sizes', () => {
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

test('parallel Cholesky (worker threads on shared memory) equals the single-thread factor', () => {
  const n = 520; // above PARALLEL_MIN_SIZE, not a multiple of the panel width
  const a = spd(n, 11);
  const shared = new Float64Array(new SharedArrayBuffer(n * n * 8));
  shared.set(a);
  const pool = ParallelCholesky.forMatrix(shared, n);
  if (!pool) return; // a single-core machine has nothing to split
  try {
    assert.ok(pool.factor(n));
    const single = a.slice();
    assert.ok(choleskyLower(single, n));
    for (let i = 0; i < n * n; i++) assert.equal(shared[i], single[i]);
    // a second factorization reuses the threads
    shared.set(a);
    assert.ok(pool.factor(n));
    assert.equal(shared[n * n - 1], single[n * n - 1]);
  } finally {
    pool.close();
  }
});
