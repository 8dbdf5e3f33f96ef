/**
 * The supernodal factorization's per-thread kernels: each works on a range of one supernode's
 * output columns or rows in a kernel memory, so that `SupernodalCholesky` runs them whole on one
 * thread and `SupernodalPool` splits them over several.
 */
import type { CliqueLayout } from './cliques';
import type { KernelMemory } from './kernels';
import type { SupernodeStructure } from './supernode-structure';

/** target columns per tile of the outer-product update, rows and columns per tile of the inversion's product */
export const TILE = 32;

/**
 * Where a factorization keeps its buffers in its kernel memory (offsets in doubles): the
 * gathered panel, the inversion's Y and X (columns padded to an even number of rows, plus a
 * spare column), the diagonal blocks, Z on a supernode's rows, per thread a tile of the update,
 * the supernodes' rows (as int32s), then the matrix and its selected inverse (n x n each).
 */
export type { SupernodeStructure };

export interface KernelLayout {
  panel: number;
  y: number;
  x: number;
  /** a supernode's diagonal block of L, and its block of Z (w x w each) */
  lcc: number;
  zcc: number;
  /** Z on a supernode's rows, gathered for the inversion's product */
  zRows: number;
  /** per thread, a tile of the update */
  tiles: number;
  tileLength: number;
  /** the structure's rowIndex, at int32 offset 2 rowIndex */
  rowIndex: number;
  matrix: number;
  inverse: number;
  /** a first term's rank updates into the matrix, if it has them */
  cliques?: CliqueLayout;
  total: number;
}

/** Supernodes with less work than this (multiply-adds) are not worth waking threads for. */
export const PARALLEL_MIN_WORK = 1_000_000;

export function updateWork(w: number, r: number): number {
  return (w * r * r) / 2;
}

/**
 * A[R[i], R[j]] -= sum_c P[i, c] P[j, c] for target columns j in [jFrom, jTo) and rows i >= j,
 * with A the layout's matrix, R supernode s's rows and P the rows below the diagonal block of
 * its factorized panel (h x w, column-major, at the layout's panel). Per tile of TILE target
 * columns the products accumulate in the thread's tile T (the `syrk` kernel), then land in A
 * with one write each.
 */
export function updateColumns(st: SupernodeStructure, s: number, jFrom: number, jTo: number, memory: KernelMemory, layout: KernelLayout, thread: number): void {
  const n = st.n;
  const w = st.start[s + 1] - st.start[s];
  const R = st.rowIndex.subarray(st.rowStart[s], st.rowStart[s + 1]);
  const r = R.length;
  const idx = 2 * layout.rowIndex + st.rowStart[s];
  const T = layout.tiles + thread * layout.tileLength;
  const M = memory.f64;
  for (let j0 = jFrom; j0 < jTo; j0 += TILE) {
    const j1 = Math.min(jTo, j0 + TILE);
    // a spare row per column and an even number of columns: the kernel works on pairs of both
    const ts = r - j0 + 1;
    M.fill(0, T, T + ts * (j1 - j0 + 1));
    memory.syrk(T, ts, layout.panel + w, w + r, (w + 3) & ~3, j0, j1, r);
    for (let j = j0; j < j1; j++) memory.scatterSubtract(layout.matrix + R[j] * n, T + (j - j0) * (ts + 1), idx + j, r - j);
  }
}

/**
 * Rows [from, to) of supernode s's panel below its diagonal block (factorized in the layout's
 * panel by `panel`): gathered from the matrix, times L_CC^{-T} (the `panelRows` kernel), and
 * scattered back, where they are L_RC.
 */
export function panelRows(st: SupernodeStructure, s: number, from: number, to: number, memory: KernelMemory, layout: KernelLayout): void {
  const n = st.n;
  const f = st.start[s];
  const w = st.start[s + 1] - f;
  const h = w + st.rowStart[s + 1] - st.rowStart[s];
  const idx = 2 * layout.rowIndex + st.rowStart[s] + from;
  for (let c = 0; c < w; c++) memory.gather(layout.panel + c * h + w + from, layout.matrix + (f + c) * n, idx, to - from);
  memory.panelRows(layout.panel, h, w, w + from, w + to);
  for (let c = 0; c < w; c++) memory.scatter(layout.matrix + (f + c) * n, layout.panel + c * h + w + from, idx, to - from);
}

/**
 * Rows [from, to) (even bounds, or r) of Y = L_RC L_CC^{-1} for the selected inversion of
 * supernode s, R its first r rows and C its first w columns: gathered from the factor into the
 * layout's y (columns rp = r rounded up to even apart, the pad row zero), then solved against
 * L_CC, which the caller put at the layout's lcc.
 */
export function inverseRows(
  st: SupernodeStructure,
  s: number,
  r: number,
  w: number,
  from: number,
  to: number,
  memory: KernelMemory,
  layout: KernelLayout,
): void {
  const n = st.n;
  const f = st.start[s];
  const rp = r + (r & 1);
  const end = to === r ? rp : to;
  const idx = 2 * layout.rowIndex + st.rowStart[s] + from;
  for (let c = 0; c < w; c++) {
    const yc = layout.y + c * rp;
    memory.gather(yc + from, layout.matrix + (f + c) * n, idx, to - from);
    if (end > to) memory.f64[yc + to] = 0;
  }
  memory.trsm(layout.y + from, rp, end - from, layout.lcc, w);
}

/**
 * X[i, c] = -sum_j Z[R[i], R[j]] Y[j, c] for rows i in [iFrom, iTo) (even bounds, or r) and
 * columns c < w, R the first r rows of supernode s and C its first w columns; X and Y at the
 * layout's x and y (see `inverseRows`). Z, the layout's inverse, holds both triangles on R x R.
 * These rows of Z_RR are first gathered into the layout's zRows (columns rp apart, zero padding
 * to even rows and to a multiple of 4 columns); the `gemm` kernel then applies them tile by tile
 * to every column of Y. The rows of X are Z_RC's, which go into both triangles of Z: rows f..f+w
 * of Z that this supernode writes lie above the rows R that the products read.
 */
export function multiplyRows(
  st: SupernodeStructure,
  s: number,
  r: number,
  w: number,
  iFrom: number,
  iTo: number,
  memory: KernelMemory,
  layout: KernelLayout,
): void {
  const n = st.n;
  const f = st.start[s];
  const R = st.rowIndex.subarray(st.rowStart[s], st.rowStart[s] + r);
  const idx = 2 * layout.rowIndex + st.rowStart[s];
  const rp = r + (r & 1);
  const wEven = w + (w & 1);
  const r4 = (r + 3) & ~3;
  const G = layout.zRows;
  const Z = layout.inverse;
  const M = memory.f64;
  const iEnd = iTo === r ? rp : iTo;
  for (let c = 0; c < wEven; c++) M.fill(0, layout.x + c * rp + iFrom, layout.x + c * rp + iEnd);
  for (let j = 0; j < r; j++) {
    const gc = G + j * rp;
    memory.gather(gc + iFrom, Z + R[j] * n, idx + iFrom, iTo - iFrom);
    if (iEnd > iTo) M[gc + iTo] = 0;
  }
  for (let j = r; j < r4; j++) M.fill(0, G + j * rp + iFrom, G + j * rp + iEnd);
  for (let j0 = 0; j0 < r; j0 += TILE) {
    const tj4 = Math.min(r4, j0 + TILE) - j0;
    for (let i0 = iFrom; i0 < iEnd; i0 += TILE) {
      const ti = Math.min(iEnd, i0 + TILE) - i0;
      memory.gemm(layout.x + i0, G + i0 + j0 * rp, rp, layout.y + j0, rp, ti, tj4, wEven);
    }
  }
  for (let b = 0; b < w; b++) memory.scatter(Z + (f + b) * n, layout.x + b * rp + iFrom, idx + iFrom, iTo - iFrom);
  memory.scatterTransposed(Z + f, n, layout.x + iFrom, rp, idx + iFrom, iTo - iFrom, w);
}
