/**
 * Dense kernels on column-major Float64Arrays (element (i, j) of an n x n matrix at i + j*n).
 * Written for the hot loops of the mixed-model objective: no allocation, contiguous inner loops.
 */

/** columns per panel of the blocked Cholesky (a multiple of 4): a panel and four columns of L stay in cache */
export const PANEL = 48;

/**
 * In-place lower Cholesky factor of the symmetric positive definite n x n matrix `a` (only the
 * lower triangle is read; the strict upper triangle is left untouched). Returns false if a
 * pivot is not positive (the matrix is not numerically positive definite).
 *
 * Left-looking by panels of PANEL columns: each panel is first updated with all earlier columns,
 * then factorized. (Wide sparse systems go through `SupernodalCholesky` instead.)
 */
export function choleskyLower(a: Float64Array, n: number, offset = 0): boolean {
  for (let j0 = 0; j0 < n; j0 += PANEL) {
    const j1 = Math.min(n, j0 + PANEL);
    updatePanelColumns(a, n, offset, j0, j0, j1);
    if (!factorPanel(a, n, offset, j0, j1)) return false;
  }
  return true;
}

/**
 * Subtracts from panel columns [jStart, jEnd) of the panel starting at j0 (a multiple of 4) their
 * products with all columns before the panel: four L columns at a time and two panel columns per
 * pass, so each load of L serves eight multiply-adds.
 */
function updatePanelColumns(a: Float64Array, n: number, offset: number, j0: number, jStart: number, jEnd: number): void {
  for (let k = 0; k < j0; k += 4) {
    const c0 = offset + k * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    let j = jStart;
    for (; j + 2 <= jEnd; j += 2) {
      const l0 = a[c0 + j];
      const l1 = a[c1 + j];
      const l2 = a[c2 + j];
      const l3 = a[c3 + j];
      const m0 = a[c0 + j + 1];
      const m1 = a[c1 + j + 1];
      const m2 = a[c2 + j + 1];
      const m3 = a[c3 + j + 1];
      const cj = offset + j * n;
      const cj1 = cj + n;
      a[cj + j] -= a[c0 + j] * l0 + a[c1 + j] * l1 + a[c2 + j] * l2 + a[c3 + j] * l3;
      for (let i = j + 1; i < n; i++) {
        const x0 = a[c0 + i];
        const x1 = a[c1 + i];
        const x2 = a[c2 + i];
        const x3 = a[c3 + i];
        a[cj + i] -= x0 * l0 + x1 * l1 + x2 * l2 + x3 * l3;
        a[cj1 + i] -= x0 * m0 + x1 * m1 + x2 * m2 + x3 * m3;
      }
    }
    for (; j < jEnd; j++) {
      const l0 = a[c0 + j];
      const l1 = a[c1 + j];
      const l2 = a[c2 + j];
      const l3 = a[c3 + j];
      const cj = offset + j * n;
      for (let i = j; i < n; i++) a[cj + i] -= a[c0 + i] * l0 + a[c1 + i] * l1 + a[c2 + i] * l2 + a[c3 + i] * l3;
    }
  }
}

/** Factorizes the panel [j0, j1) once it holds no contributions from earlier columns. */
function factorPanel(a: Float64Array, n: number, offset: number, j0: number, j1: number): boolean {
  for (let k = j0; k < j1; k++) {
    const ck = offset + k * n;
    const d = a[ck + k];
    if (!(d > 0)) return false;
    const r = Math.sqrt(d);
    a[ck + k] = r;
    const inv = 1 / r;
    for (let i = k + 1; i < n; i++) a[ck + i] *= inv;
    for (let j = k + 1; j < j1; j++) {
      const ljk = a[ck + j];
      if (ljk === 0) continue;
      const cj = offset + j * n;
      for (let i = j; i < n; i++) a[cj + i] -= a[ck + i] * ljk;
    }
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

/**
 * Inverse of A = L L' from its lower Cholesky factor (n x n), written into `out` as a full
 * symmetric matrix (R's chol2inv).
 */
export function choleskyInverse(l: Float64Array, n: number, out: Float64Array = new Float64Array(n * n)): Float64Array {
  inverseFromCholesky(l, n, 0, n, out, 0, n);
  return out;
}

/**
 * Z = (L L')^{-1} from the lower Cholesky factor L (n x n at lOffset, leading dimension lLd),
 * written as a full symmetric matrix at zOffset (leading dimension zLd; it must not overlap L):
 * W = L^{-1} column by column into Z's lower triangle, then Z = W'W into its upper triangle and
 * mirrored. Both steps run down contiguous columns; n^3/3 multiply-adds in all.
 */
export function inverseFromCholesky(l: Float64Array, n: number, lOffset: number, lLd: number, z: Float64Array, zOffset: number, zLd: number): void {
  lowerInverse(l, n, lOffset, lLd, z, zOffset, zLd);
  // Z[j, i] (i >= j) = sum_{k >= i} W[k, i] W[k, j] into the upper triangle and the diagonal:
  // W[j, j] is read last by the diagonal of column j, before it is overwritten. Four i at a
  // time share the loads of column j and run four independent sums, each in the order of k
  for (let j = 0; j < n; j++) {
    const wj = zOffset + j * zLd;
    let i = j;
    for (; i + 3 < n; i += 4) {
      const w0 = zOffset + i * zLd;
      const w1 = w0 + zLd;
      const w2 = w1 + zLd;
      const w3 = w2 + zLd;
      const x0 = z[wj + i];
      const x1 = z[wj + i + 1];
      const x2 = z[wj + i + 2];
      let s0 = z[w0 + i] * x0 + z[w0 + i + 1] * x1 + z[w0 + i + 2] * x2;
      let s1 = z[w1 + i + 1] * x1 + z[w1 + i + 2] * x2;
      let s2 = z[w2 + i + 2] * x2;
      let s3 = 0;
      for (let k = i + 3; k < n; k++) {
        const x = z[wj + k];
        s0 += z[w0 + k] * x;
        s1 += z[w1 + k] * x;
        s2 += z[w2 + k] * x;
        s3 += z[w3 + k] * x;
      }
      z[w0 + j] = s0;
      z[w1 + j] = s1;
      z[w2 + j] = s2;
      z[w3 + j] = s3;
    }
    for (; i < n; i++) {
      const wi = zOffset + i * zLd;
      let s = 0;
      for (let k = i; k < n; k++) s += z[wi + k] * z[wj + k];
      z[wi + j] = s;
    }
  }
  for (let j = 0; j < n; j++) {
    const zj = zOffset + j * zLd;
    for (let i = j + 1; i < n; i++) z[zj + i] = z[zOffset + i * zLd + j];
  }
}

/**
 * W = L^{-1} for the lower-triangular L (n x n at lOffset, leading dimension lLd) into the lower
 * triangle of z (at zOffset, leading dimension zLd; its strict upper triangle is not written),
 * column by column down contiguous columns, skipping the zeros of sparse factors. Two columns
 * of L per pass over the rows below them, each entry updated in the same order as one at a time.
 */
export function lowerInverse(l: Float64Array, n: number, lOffset: number, lLd: number, z: Float64Array, zOffset: number, zLd: number): void {
  for (let j = 0; j < n; j++) {
    const zj = zOffset + j * zLd;
    for (let i = j; i < n; i++) z[zj + i] = i === j ? 1 : 0;
    let k = j;
    for (; k + 1 < n; k += 2) {
      const l0 = lOffset + k * lLd;
      const l1 = l0 + lLd;
      const x0 = (z[zj + k] /= l[l0 + k]);
      if (x0 !== 0) z[zj + k + 1] -= l[l0 + k + 1] * x0;
      const x1 = (z[zj + k + 1] /= l[l1 + k + 1]);
      if (x0 === 0 && x1 === 0) continue;
      if (x0 === 0) for (let i = k + 2; i < n; i++) z[zj + i] -= l[l1 + i] * x1;
      else if (x1 === 0) for (let i = k + 2; i < n; i++) z[zj + i] -= l[l0 + i] * x0;
      else for (let i = k + 2; i < n; i++) z[zj + i] = z[zj + i] - l[l0 + i] * x0 - l[l1 + i] * x1;
    }
    if (k < n) z[zj + k] /= l[lOffset + k * lLd + k];
  }
}

/**
 * Copies the lower triangle of a square column-major matrix into its upper triangle, tile by
 * tile so that the transposed writes stay in cache.
 */
export function symmetrizeFromLower(a: Float64Array, n: number): void {
  const tile = 32;
  for (let j0 = 0; j0 < n; j0 += tile)
    for (let i0 = j0; i0 < n; i0 += tile) {
      const i1 = Math.min(n, i0 + tile);
      const j1 = Math.min(n, j0 + tile);
      for (let j = j0; j < j1; j++) for (let i = Math.max(i0, j + 1); i < i1; i++) a[j + i * n] = a[i + j * n];
    }
}
