/**
 * Householder QR with R's limited column pivoting (LINPACK dqrdc2, what R's qr(), lm() and lme4's
 * rank check use): columns are processed in order, and a column whose remaining norm falls below
 * `tol` times its original norm is moved to the end. So the first `rank` pivots are the linearly
 * independent columns in their original order, and the rest are the columns dependent on earlier ones.
 * Matrices are column-major Float64Arrays (column j occupies [j*n, (j+1)*n)).
 */

export interface QR {
  readonly n: number;
  readonly p: number;
  /** n x p: R in the upper triangle, Householder vectors below it (LINPACK layout, as R's qr()$qr) */
  readonly qr: Float64Array;
  /** first components of the Householder vectors (R's qr()$qraux) */
  readonly qraux: Float64Array;
  /** 0-based original column index of each column of qr */
  readonly pivot: Int32Array;
  /** numerical rank */
  readonly rank: number;
}

function norm(a: Float64Array, from: number, to: number): number {
  let ssq = 0;
  for (let i = from; i < to; i++) ssq += a[i] * a[i];
  if (ssq > 1e-290 && ssq < 1e290) return Math.sqrt(ssq);
  // squares under- or overflowed: rescale like BLAS dnrm2
  let scale = 0;
  for (let i = from; i < to; i++) scale = Math.max(scale, Math.abs(a[i]));
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  ssq = 0;
  for (let i = from; i < to; i++) ssq += (a[i] / scale) ** 2;
  return scale * Math.sqrt(ssq);
}

/** QR decomposition of the n x p matrix `a` (not modified), R's qr(a, tol, LAPACK = FALSE). */
export function qrDecompose(a: Float64Array, n: number, p: number, tol = 1e-7): QR {
  if (a.length !== n * p) throw new RangeError(`qrDecompose: expected ${n * p} values for a ${n} x ${p} matrix, got ${a.length}`);
  const x = Float64Array.from(a);
  const qraux = new Float64Array(p);
  const pivot = Int32Array.from({ length: p }, (_, j) => j);
  const originalNorm = new Float64Array(p); // LINPACK work(j,2): the column's norm before reduction (1 if 0)
  for (let j = 0; j < p; j++) {
    qraux[j] = norm(x, j * n, (j + 1) * n);
    originalNorm[j] = qraux[j] === 0 ? 1 : qraux[j];
  }
  const column = new Float64Array(n);
  let k = p; // columns from k on have been moved to the end as negligible
  const steps = Math.min(n, p);
  for (let l = 0; l < steps; l++) {
    // move negligible columns to the end, until a non-negligible one is at l
    while (l < k && qraux[l] < originalNorm[l] * tol) {
      column.set(x.subarray(l * n, (l + 1) * n));
      x.copyWithin(l * n, (l + 1) * n, p * n);
      x.set(column, (p - 1) * n);
      rotateLeft(pivot, l);
      rotateLeft(qraux, l);
      rotateLeft(originalNorm, l);
      k--;
    }
    if (l === n - 1) break;
    const col = l * n;
    let nrmxl = norm(x, col + l, col + n);
    if (nrmxl === 0) continue;
    if (x[col + l] !== 0) nrmxl = Math.sign(x[col + l]) * Math.abs(nrmxl);
    for (let i = l; i < n; i++) x[col + i] /= nrmxl;
    x[col + l] += 1;
    // apply the transformation to the remaining columns, downdating their norms
    for (let j = l + 1; j < p; j++) {
      const cj = j * n;
      let dot = 0;
      for (let i = l; i < n; i++) dot += x[col + i] * x[cj + i];
      const t = -dot / x[col + l];
      for (let i = l; i < n; i++) x[cj + i] += t * x[col + i];
      if (qraux[j] === 0) continue;
      const tt = Math.max(0, 1 - (Math.abs(x[cj + l]) / qraux[j]) ** 2);
      // downdate the remaining norm, recomputing it when cancellation is too strong
      qraux[j] = tt < 1e-6 ? norm(x, cj + l + 1, cj + n) : qraux[j] * Math.sqrt(tt);
    }
    qraux[l] = x[col + l];
    x[col + l] = -nrmxl;
  }
  return { n, p, qr: x, qraux, pivot, rank: Math.min(k, n) };
}

function rotateLeft(a: Float64Array | Int32Array, from: number): void {
  const first = a[from];
  a.copyWithin(from, from + 1);
  a[a.length - 1] = first;
}

/** Applies Q' (transpose = true) or Q to the columns of the n x m matrix y, in place, using the first `rank` reflections (R's qr.qty / qr.qy). */
function applyQ(qr: QR, y: Float64Array, transpose: boolean): Float64Array {
  const { n, qr: x, qraux } = qr;
  const m = y.length / n;
  if (!Number.isInteger(m)) throw new RangeError(`expected a multiple of ${n} values, got ${y.length}`);
  const steps = Math.min(qr.rank, n - 1);
  for (let c = 0; c < m; c++) {
    const yc = c * n;
    for (let s = 0; s < steps; s++) {
      const l = transpose ? s : steps - 1 - s;
      if (qraux[l] === 0) continue;
      const col = l * n;
      let dot = qraux[l] * y[yc + l];
      for (let i = l + 1; i < n; i++) dot += x[col + i] * y[yc + i];
      const t = -dot / qraux[l];
      y[yc + l] += t * qraux[l];
      for (let i = l + 1; i < n; i++) y[yc + i] += t * x[col + i];
    }
  }
  return y;
}

/** Q'y for a vector or an n x m column-major matrix y (a new array). */
export function qrQty(qr: QR, y: Float64Array): Float64Array {
  return applyQ(qr, Float64Array.from(y), true);
}

/** Qy for a vector or an n x m column-major matrix y (a new array). */
export function qrQy(qr: QR, y: Float64Array): Float64Array {
  return applyQ(qr, Float64Array.from(y), false);
}

/**
 * Least-squares coefficients for y (length n), in the original column order; columns beyond the
 * rank (dependent on earlier ones) get NaN, as R's qr.coef gives NA.
 */
export function qrCoef(qr: QR, y: Float64Array): Float64Array {
  const { n, p, rank, qr: x, pivot } = qr;
  const qty = qrQty(qr, y);
  const b = new Float64Array(rank);
  for (let i = rank - 1; i >= 0; i--) {
    let s = qty[i];
    for (let j = i + 1; j < rank; j++) s -= x[j * n + i] * b[j];
    b[i] = s / x[i * n + i];
  }
  const coef = new Float64Array(p).fill(NaN);
  for (let i = 0; i < rank; i++) coef[pivot[i]] = b[i];
  return coef;
}

/**
 * The rank that `qrDecompose(X, n, p, tol)` finds, from the Gram matrix G = X'X (p x p,
 * column-major) alone: column j is dependent when its residual after projection on the
 * independent columns before it is below tol times its norm, which is what dqrdc2's limited
 * pivoting decides; here the residual's square is the pivot of a Cholesky factorization that
 * skips the dependent columns. O(p^3), where the QR costs O(n p^2): for designs that differ from
 * a known one by a few rows, whose Gram matrix is a cheap downdate.
 */
export function gramRank(G: Float64Array, p: number, tol = 1e-7): number {
  const L = new Float64Array(p * p);
  const independent: number[] = [];
  for (let j = 0; j < p; j++) {
    let d = G[j + j * p];
    for (const k of independent) d -= L[j + k * p] * L[j + k * p];
    if (!(d > tol * tol * G[j + j * p]) || !(G[j + j * p] > 0)) continue;
    const ljj = Math.sqrt(d);
    L[j + j * p] = ljj;
    for (let i = j + 1; i < p; i++) {
      let v = G[i + j * p];
      for (const k of independent) v -= L[i + k * p] * L[j + k * p];
      L[i + j * p] = v / ljj;
    }
    independent.push(j);
  }
  return independent.length;
}
