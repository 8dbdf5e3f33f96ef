/**
 * Dense kernels on column-major Float64Arrays (element (i, j) of an n x n matrix at i + j*n).
 * Written for the hot loops of the mixed-model objective: no allocation, contiguous inner loops.
 */

/**
 * In-place lower Cholesky factor of the symmetric positive definite n x n matrix `a` (only the
 * lower triangle is read; the strict upper triangle is left untouched). Returns false if a
 * pivot is not positive (the matrix is not numerically positive definite).
 */
export function choleskyLower(a: Float64Array, n: number, offset = 0): boolean {
  for (let j = 0; j < n; j++) {
    const cj = offset + j * n;
    // a[j:, j] -= sum_k<j a[j:, k] * a[j, k]
    for (let k = 0; k < j; k++) {
      const ck = offset + k * n;
      const ajk = a[ck + j];
      if (ajk === 0) continue;
      for (let i = j; i < n; i++) a[cj + i] -= a[ck + i] * ajk;
    }
    const d = a[cj + j];
    if (!(d > 0)) return false;
    const r = Math.sqrt(d);
    a[cj + j] = r;
    const inv = 1 / r;
    for (let i = j + 1; i < n; i++) a[cj + i] *= inv;
  }
  return true;
}

/** Solves L x = b in place (b overwritten by x) for lower-triangular L (n x n, column-major). */
export function solveLower(l: Float64Array, n: number, b: Float64Array, lOffset = 0, bOffset = 0): void {
  for (let j = 0; j < n; j++) {
    const cj = lOffset + j * n;
    const xj = (b[bOffset + j] /= l[cj + j]);
    if (xj === 0) continue;
    for (let i = j + 1; i < n; i++) b[bOffset + i] -= l[cj + i] * xj;
  }
}

/** Solves L' x = b in place for lower-triangular L (n x n, column-major). */
export function solveLowerTransposed(l: Float64Array, n: number, b: Float64Array, lOffset = 0, bOffset = 0): void {
  for (let j = n - 1; j >= 0; j--) {
    const cj = lOffset + j * n;
    let s = b[bOffset + j];
    for (let i = j + 1; i < n; i++) s -= l[cj + i] * b[bOffset + i];
    b[bOffset + j] = s / l[cj + j];
  }
}

/** Sum of log of the diagonal of the leading `count` diagonal entries starting at `start`. */
export function sumLogDiagonal(l: Float64Array, n: number, start = 0, count = n - start): number {
  let s = 0;
  for (let i = start; i < start + count; i++) s += Math.log(l[i + i * n]);
  return s;
}

/**
 * Inverse of A = L L' from its lower Cholesky factor (n x n), written into `out` as a full
 * symmetric matrix (R's chol2inv).
 */
export function choleskyInverse(l: Float64Array, n: number, out: Float64Array = new Float64Array(n * n)): Float64Array {
  const col = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    col.fill(0);
    col[j] = 1;
    solveLower(l, n, col);
    solveLowerTransposed(l, n, col);
    for (let i = 0; i < n; i++) out[i + j * n] = col[i];
  }
  return out;
}

/** Copies the lower triangle of a square column-major matrix into its upper triangle. */
export function symmetrizeFromLower(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) for (let i = j + 1; i < n; i++) a[j + i * n] = a[i + j * n];
}
