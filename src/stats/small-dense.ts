/**
 * Dense helpers for the small matrices of inference (variance parameters, contrasts, a few
 * dozen fixed effects): column-major Float64Arrays, element (i, j) of an n x m matrix at i + j*n.
 */

export interface SymmetricEigen {
  /** eigenvalues in decreasing order (R's eigen(symmetric = TRUE)) */
  values: Float64Array;
  /** n x n, column j the unit eigenvector of values[j] */
  vectors: Float64Array;
}

/** Eigen-decomposition of a symmetric n x n matrix by cyclic Jacobi rotations (accurate to rounding). */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): SymmetricEigen {
  // plain loops throughout: Float64Array.from and sorts with closures cost more than the
  // rotations at the sizes of inference (2 x 2 for a voxel's random intercept)
  const a = new Float64Array(n * n);
  for (let e = 0; e < n * n; e++) a[e] = matrix[e];
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i + i * n] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let j = 0; j < n; j++)
      for (let i = 0; i < n; i++) {
        const s = a[i + j * n] ** 2;
        total += s;
        if (i !== j) off += s;
      }
    if (off <= 1e-32 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p + q * n];
        if (apq === 0) continue;
        const theta = (a[q + q * n] - a[p + p * n]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k + p * n];
          const akq = a[k + q * n];
          a[k + p * n] = c * akp - s * akq;
          a[k + q * n] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p + k * n];
          const aqk = a[q + k * n];
          a[p + k * n] = c * apk - s * aqk;
          a[q + k * n] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k + p * n];
          const vkq = v[k + q * n];
          v[k + p * n] = c * vkp - s * vkq;
          v[k + q * n] = s * vkp + c * vkq;
        }
      }
  }
  // decreasing eigenvalues, ties in index order (a stable insertion sort)
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let at = i;
    while (at > 0 && a[i + i * n] - a[order[at - 1] * (n + 1)] > 0) {
      order[at] = order[at - 1];
      at--;
    }
    order[at] = i;
  }
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let dst = 0; dst < n; dst++) {
    const src = order[dst];
    values[dst] = a[src * (n + 1)];
    for (let k = 0; k < n; k++) vectors[k + dst * n] = v[k + src * n];
  }
  return { values, vectors };
}

/** x' M y for an n x n matrix M. */
export function bilinear(x: ArrayLike<number>, M: ArrayLike<number>, y: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let j = 0; j < n; j++) {
    if (y[j] === 0) continue;
    let col = 0;
    for (let i = 0; i < n; i++) col += x[i] * M[i + j * n];
    s += col * y[j];
  }
  return s;
}

/** x' M x */
export function quadraticForm(x: ArrayLike<number>, M: ArrayLike<number>, n: number): number {
  return bilinear(x, M, x, n);
}

/** A B for A (n x k) and B (k x m). */
export function multiply(A: ArrayLike<number>, B: ArrayLike<number>, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let j = 0; j < m; j++)
    for (let l = 0; l < k; l++) {
      const b = B[l + j * k];
      if (b === 0) continue;
      for (let i = 0; i < n; i++) out[i + j * n] += A[i + l * n] * b;
    }
  return out;
}

/** The transpose of an n x m matrix. */
export function transpose(A: ArrayLike<number>, n: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let j = 0; j < m; j++) for (let i = 0; i < n; i++) out[j + i * m] = A[i + j * n];
  return out;
}
