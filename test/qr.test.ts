import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gramRank, qrCoef, qrDecompose, qrQty, qrQy } from '../src/linalg/qr';

/** Column-major matrix from rows. */
const fromRows = (rows: number[][]): Float64Array => {
  const n = rows.length;
  const p = rows[0].length;
  const out = new Float64Array(n * p);
  rows.forEach((row, i) => row.forEach((v, j) => (out[j * n + i] = v)));
  return out;
};

const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void => {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(expected[i])) assert.ok(Number.isNaN(actual[i]), `element ${i}: expected NaN, got ${actual[i]}`);
    else assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `element ${i}: ${actual[i]} vs ${expected[i]}`);
  }
};

test('QR of cbind(1, 1:4) matches R and solves least squares', () => {
  const X = fromRows([
    [1, 1],
    [1, 2],
    [1, 3],
    [1, 4],
  ]);
  const qr = qrDecompose(X, 4, 2);
  assert.equal(qr.rank, 2);
  assert.deepEqual(Array.from(qr.pivot), [0, 1]);
  // R: qr(cbind(1, 1:4))$qr[1, ] = (-2, -5), qraux[1] = 1.5, |R[2,2]| = sqrt(5)
  close([qr.qr[0], qr.qr[4], qr.qraux[0]], [-2, -5, 1.5]);
  close([Math.abs(qr.qr[5])], [Math.sqrt(5)]);
  // lm(c(6,5,7,10) ~ x): slope Sxy/Sxx = 7/5, intercept 7 - 1.4 * 2.5
  close(qrCoef(qr, Float64Array.of(6, 5, 7, 10)), [3.5, 1.4]);
  // the input is left untouched
  close(
    X,
    fromRows([
      [1, 1],
      [1, 2],
      [1, 3],
      [1, 4],
    ]),
  );
});

test('Q is orthogonal and Q R reproduces the pivoted matrix', () => {
  const rows = [
    [2, -1, 0.5],
    [1, 3, 2],
    [0, 1, -1],
    [4, 0, 1],
    [1, 1, 1],
  ];
  const n = 5;
  const p = 3;
  const X = fromRows(rows);
  const qr = qrDecompose(X, n, p);
  assert.equal(qr.rank, 3);
  const y = Float64Array.of(1, -2, 3, 0.5, 4);
  close(qrQy(qr, qrQty(qr, y)), y);
  // ||Q'y|| = ||y||
  const sq = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v * v, 0);
  close([sq(qrQty(qr, y))], [sq(y)], 1e-10);
  // X[, pivot] = Q %*% R, with R padded to n rows
  const R = new Float64Array(n * p);
  for (let j = 0; j < p; j++) for (let i = 0; i <= j; i++) R[j * n + i] = qr.qr[j * n + i];
  const QR = qrQy(qr, R);
  for (let j = 0; j < p; j++) close(QR.subarray(j * n, (j + 1) * n), X.subarray(qr.pivot[j] * n, (qr.pivot[j] + 1) * n), 1e-12);
});

test('dependent columns move to the end, independent ones keep their order', () => {
  // column 2 = 2 * column 1; column 4 = column 1 + column 3
  const X = fromRows([
    [1, 2, 0, 1],
    [1, 2, 1, 2],
    [1, 2, 2, 3],
    [1, 2, 5, 6],
    [1, 2, 3, 4],
  ]);
  const qr = qrDecompose(X, 5, 4);
  assert.equal(qr.rank, 2);
  assert.deepEqual(Array.from(qr.pivot), [0, 2, 1, 3]);
  // y = 1 + 2 * x3 exactly: aliased coefficients are NaN like R's NA
  const y = Float64Array.of(1, 3, 5, 11, 7);
  close(qrCoef(qr, y), [1, NaN, 2, NaN], 1e-12);
});

test('a zero column is negligible and wide matrices have rank at most n', () => {
  const zero = qrDecompose(
    fromRows([
      [0, 1],
      [0, 2],
      [0, 3],
    ]),
    3,
    2,
  );
  assert.equal(zero.rank, 1);
  assert.deepEqual(Array.from(zero.pivot), [1, 0]);
  const wide = qrDecompose(
    fromRows([
      [1, 0, 3],
      [0, 1, 4],
    ]),
    2,
    3,
  );
  assert.equal(wide.rank, 2);
  assert.throws(() => qrDecompose(new Float64Array(5), 2, 3), RangeError);
});

test("gramRank decides the rank as the QR does, from X'X alone", () => {
  let s = 17;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5;
  const n = 60;
  const cases: { name: string; columns: (Float64Array | ((c: Float64Array[]) => Float64Array))[] }[] = [];
  const random = () => Float64Array.from({ length: n }, rnd);
  const indicator = (every: number, offset: number) => Float64Array.from({ length: n }, (_, i) => (i % every === offset ? 1 : 0));
  const ones = new Float64Array(n).fill(1);
  cases.push({ name: 'independent', columns: [ones, random(), random(), indicator(3, 0)] });
  // a factor's indicators sum to the intercept (a site with no images left: an all-zero column)
  cases.push({ name: 'indicators and intercept', columns: [ones, indicator(3, 0), indicator(3, 1), indicator(3, 2), random()] });
  cases.push({ name: 'zero column', columns: [ones, new Float64Array(n), random()] });
  // dependent up to 1e-9 (below tol = 1e-7) and up to 1e-5 (above it), at a large scale
  cases.push({
    name: 'near dependence',
    columns: [ones, random(), (c) => c[0].map((v, i) => 1e6 * (v + 2 * c[1][i]) + 1e-3 * rnd()), (c) => c[1].map((v) => 3 * v + 1e-5 * rnd())],
  });
  for (const { name, columns } of cases) {
    const built: Float64Array[] = [];
    for (const c of columns) built.push(typeof c === 'function' ? c(built) : c);
    const p = built.length;
    const X = new Float64Array(n * p);
    built.forEach((c, j) => X.set(c, j * n));
    const G = new Float64Array(p * p);
    for (let j = 0; j < p; j++) for (let i = 0; i < p; i++) for (let r = 0; r < n; r++) G[i + j * p] += X[r + i * n] * X[r + j * n];
    assert.equal(gramRank(G, p), qrDecompose(X, n, p).rank, name);
  }
});
