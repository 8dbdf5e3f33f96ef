/**
 * Supernodal Cholesky factorization of a sparse symmetric positive definite matrix held in
 * dense column-major storage (element (i, j) at i + j*n), and its selected inversion.
 *
 * Crossed random effects (InstEval: students x lecturers x departments) leave a tail whose
 * factor, in a minimum-degree order, is sparse in its leading columns and dense in a trailing
 * triangle. Dense storage costs n^2 doubles (10 MB for InstEval's 1159-wide tail) but makes
 * every update a direct write and leaves the factor where the rest of the system reads it.
 * Only the entries in the factor's structure are touched, so the work is that of the sparse
 * factorization: a fifth of the dense one for InstEval.
 *
 * Supernodes are runs of columns with nested structure (column j's rows are column j+1's plus
 * j+1); the dense trailing triangle is cut into supernodes PANEL columns wide. Each supernode is
 * gathered into a compact panel, factorized with `factorPanel`, scattered back, and its outer
 * product subtracted from the columns its rows name (right-looking), tile by tile so that the
 * products accumulate in cache and each target entry is written once. The two big kernels,
 * that update and the product of the selected inversion, take ranges of independent output
 * columns or rows, which `SupernodalPool` hands to several threads.
 */
import { factorPanel, inverseFromCholesky, PANEL } from './dense';
import { range } from './ordering';

/** supernodes this narrow are always merged with their parent's */
const RELAX_ALWAYS = 4;
/** otherwise merged while at most this fraction of the stored entries are explicit zeros */
const RELAX_ZEROS = 0.2;
/** target columns per tile of the outer-product update, rows and columns per tile of the inversion's product */
const TILE = 32;

/** The symbolic factorization: supernodes and their rows, shared with the pool's threads. */
export interface SupernodeStructure {
  n: number;
  /** first column of each supernode, then n */
  start: Int32Array;
  /** supernode s's rows below its diagonal block are rowIndex[rowStart[s] .. rowStart[s+1]), ascending */
  rowStart: Int32Array;
  rowIndex: Int32Array;
}

/** Splits the work of one supernode among threads (`SupernodalPool`), on the matrices it was made for. */
export interface SupernodeRunner {
  /** a -= P P' on the supernode's rows (see `updateColumns`), the panel in `panel` */
  update(a: Float64Array, s: number): void;
  /** X = -Z_RR Y on the supernode's first `rows` rows (see `multiplyRows`) */
  multiply(z: Float64Array, s: number, rows: number): void;
}

/** Scratch shared by the kernels: the gathered panel, the inversion's Y and X. */
export interface SupernodeBuffers {
  panel: Float64Array;
  y: Float64Array;
  x: Float64Array;
}

/** What the kernels run with: their buffers and, for a wide matrix, the threads that share them. */
export interface SupernodeWork {
  buffers: SupernodeBuffers;
  runner?: SupernodeRunner;
}

export class SupernodalCholesky {
  readonly structure: SupernodeStructure;
  /** the columns from here on form a dense trailing triangle */
  readonly denseFrom: number;
  /** number of multiply-adds per factorization */
  readonly flops: number;
  /** what one supernode's kernels need at most: panel entries, rows x width, rows */
  readonly sizes: { panel: number; rowsByWidth: number; rows: number; width: number };
  private readonly tile: Float64Array;
  private readonly zcc: Float64Array;

  /**
   * `structure[j]`: the rows (> j, ascending) of column j of the factor, which must be closed
   * under elimination (as `minimumDegree` gives it).
   */
  constructor(readonly n: number, structure: Int32Array[]) {
    let denseFrom = n;
    while (denseFrom > 0 && structure[denseFrom - 1].length === n - denseFrom) denseFrom--;
    this.denseFrom = denseFrom;
    const start: number[] = [];
    const rows: Int32Array[] = [];
    // fundamental supernodes: column end joins when its rows are the previous column's minus itself
    for (let j = 0; j < denseFrom; ) {
      let end = j + 1;
      while (end < denseFrom && structure[end - 1][0] === end && structure[end - 1].length === structure[end].length + 1) end++;
      start.push(j);
      rows.push(structure[end - 1]);
      j = end;
    }
    start.push(denseFrom);
    // relaxed: a supernode whose last column's parent starts the next one is merged into it when
    // the explicit zeros this stores stay few; wide panels run several times faster per flop
    for (let s = 0; s + 1 < rows.length; ) {
      const f = start[s];
      const end = start[s + 2];
      const R = rows[s + 1];
      if (structure[start[s + 1] - 1][0] !== start[s + 1]) {
        s++;
        continue;
      }
      let stored = 0;
      let zeros = 0;
      for (let c = f; c < end; c++) {
        const entries = end - 1 - c + R.length;
        stored += entries;
        zeros += entries - structure[c].length;
      }
      if (zeros <= RELAX_ZEROS * stored || end - f <= RELAX_ALWAYS) {
        start.splice(s + 1, 1);
        rows.splice(s, 1);
      } else s++;
    }
    // the dense triangle is one more supernode; then wide supernodes are cut into panels of at
    // most PANEL columns (rows: the later columns of the supernode, then its rows), so that
    // factorPanel's column-by-column work stays small and the rest goes to the tiled update
    start.pop();
    start.push(denseFrom, n);
    rows.push(new Int32Array(0));
    const panelStart: number[] = [];
    const panelRows: Int32Array[] = [];
    rows.forEach((R, s) => {
      const end = start[s + 1];
      for (let j = start[s]; j < end; j += PANEL) {
        const to = Math.min(end, j + PANEL);
        panelStart.push(j);
        const panel = new Int32Array(end - to + R.length);
        panel.set(range(to, end));
        panel.set(R, end - to);
        panelRows.push(panel);
      }
    });
    panelStart.push(n);
    start.splice(0, start.length, ...panelStart);
    rows.splice(0, rows.length, ...panelRows);
    const rowStart = new Int32Array(rows.length + 1);
    rows.forEach((R, s) => (rowStart[s + 1] = rowStart[s] + R.length));
    const rowIndex = new Int32Array(rowStart[rows.length]);
    rows.forEach((R, s) => rowIndex.set(R, rowStart[s]));
    this.structure = { n, start: Int32Array.from(start), rowStart, rowIndex };
    let flops = 0;
    const sizes = { panel: 0, rowsByWidth: 0, rows: 0, width: 0 };
    rows.forEach((R, s) => {
      const w = start[s + 1] - start[s];
      const h = w + R.length;
      for (let c = 0; c < w; c++) flops += ((h - c) * (h - c)) / 2;
      sizes.panel = Math.max(sizes.panel, h * w);
      sizes.rowsByWidth = Math.max(sizes.rowsByWidth, R.length * w);
      sizes.rows = Math.max(sizes.rows, R.length);
      sizes.width = Math.max(sizes.width, w);
    });
    this.flops = flops;
    this.sizes = sizes;
    this.tile = new Float64Array(tileSize(sizes.rows));
    this.zcc = new Float64Array(sizes.width * sizes.width);
  }

  get supernodes(): number {
    return this.structure.start.length - 1;
  }

  /** Buffers for the kernels on this thread alone. */
  work(): SupernodeWork {
    return { buffers: this.newBuffers(false) };
  }

  /** Buffers for the kernels, in shared memory when threads are to use them. */
  newBuffers(shared: boolean): SupernodeBuffers {
    const alloc = (length: number) => (shared ? new Float64Array(new SharedArrayBuffer(Math.max(1, length) * 8)) : new Float64Array(length));
    return { panel: alloc(this.sizes.panel), y: alloc(this.sizes.rowsByWidth), x: alloc(this.sizes.rowsByWidth) };
  }

  /**
   * In place: the lower triangle of `a` (n x n, ld n) becomes the Cholesky factor on the
   * structure (entries outside it must be zero and stay so). False if not positive definite.
   */
  factor(a: Float64Array, work: SupernodeWork): boolean {
    const { n, start, rowStart, rowIndex } = this.structure;
    const { buffers, runner } = work;
    const B = buffers.panel;
    for (let s = 0; s + 1 < start.length; s++) {
      const f = start[s];
      const w = start[s + 1] - f;
      const R = rowIndex.subarray(rowStart[s], rowStart[s + 1]);
      const r = R.length;
      const h = w + r;
      // gather the panel: the diagonal block's lower triangle, then the rows R
      for (let c = 0; c < w; c++) {
        const col = (f + c) * n;
        const bc = c * h;
        for (let i = c; i < w; i++) B[bc + i] = a[col + f + i];
        for (let q = 0; q < r; q++) B[bc + w + q] = a[col + R[q]];
      }
      if (!factorPanel(B, h, 0, h, 0, w)) return false;
      for (let c = 0; c < w; c++) {
        const col = (f + c) * n;
        const bc = c * h;
        for (let i = c; i < w; i++) a[col + f + i] = B[bc + i];
        for (let q = 0; q < r; q++) a[col + R[q]] = B[bc + w + q];
      }
      if (r === 0) continue;
      if (runner && updateWork(w, r) >= PARALLEL_MIN_WORK) runner.update(a, s);
      else updateColumns(a, this.structure, s, B, 0, r, this.tile);
    }
    return true;
  }

  /**
   * After `factor(l)`: the entries of Z = A^{-1} on the factor's structure (both triangles)
   * for A's leading `include` rows and columns (the Cholesky factor of a leading block is the
   * leading block of L), by the Takahashi recurrences supernode by supernode from the last:
   * with C a supernode's columns and R its rows below, Z_RC = -Z_RR L_RC L_CC^{-1} and
   * Z_CC = (L_CC L_CC')^{-1} - Z_RC' L_RC L_CC^{-1}. Z_RR lies in the structure because R is a
   * clique of the filled graph.
   */
  selectedInverse(l: Float64Array, z: Float64Array, include: number, work: SupernodeWork): void {
    const { n, start, rowStart, rowIndex } = this.structure;
    const { buffers, runner } = work;
    const { y: Y, x: X } = buffers;
    const zcc = this.zcc;
    for (let s = start.length - 2; s >= 0; s--) {
      const f = start[s];
      if (f >= include) continue;
      const w = Math.min(start[s + 1], include) - f;
      let r = 0;
      while (r < rowStart[s + 1] - rowStart[s] && rowIndex[rowStart[s] + r] < include) r++;
      const R = rowIndex.subarray(rowStart[s], rowStart[s] + r);
      // Y = L_RC L_CC^{-1} (r x w, column-major): Y L_CC = L_RC, last column first
      for (let c = w - 1; c >= 0; c--) {
        const lc = (f + c) * n;
        const yc = c * r;
        for (let q = 0; q < r; q++) Y[yc + q] = l[lc + R[q]];
        for (let c2 = c + 1; c2 < w; c2++) {
          const lcc2 = l[lc + f + c2];
          if (lcc2 === 0) continue;
          const y2 = c2 * r;
          for (let q = 0; q < r; q++) Y[yc + q] -= Y[y2 + q] * lcc2;
        }
        const inv = 1 / l[lc + f + c];
        for (let q = 0; q < r; q++) Y[yc + q] *= inv;
      }
      if (r > 0) {
        if (runner && updateWork(w, r) >= PARALLEL_MIN_WORK) runner.multiply(z, s, r);
        else multiplyRows(z, this.structure, s, r, Y, X, 0, r, this.tile);
      }
      // Z_CC = (L_CC L_CC')^{-1} - X' Y, and Z_RC = X, into both triangles (the upper one row
      // by row, so that its writes run along columns)
      inverseFromCholesky(l, w, f + f * n, n, zcc, 0, w);
      for (let b = 0; b < w; b++) {
        const col = (f + b) * n;
        for (let a = b; a < w; a++) {
          let v = zcc[a + b * w];
          for (let q = 0; q < r; q++) v -= X[a * r + q] * Y[b * r + q];
          z[col + f + a] = v;
          z[(f + a) * n + f + b] = v;
        }
        for (let q = 0; q < r; q++) z[col + R[q]] = X[b * r + q];
      }
      for (let q = 0; q < r; q++) {
        const row = R[q] * n + f;
        for (let b = 0; b < w; b++) z[row + b] = X[b * r + q];
      }
    }
  }
}

/** Supernodes with less work than this (multiply-adds) are not worth waking threads for. */
export const PARALLEL_MIN_WORK = 200_000;

function updateWork(w: number, r: number): number {
  return (w * r * r) / 2;
}

/** scratch of one thread's kernels: a TILE-wide column block of the update, or a square tile of Z */
export function tileSize(rows: number): number {
  return Math.max(rows * TILE, TILE * TILE);
}

/**
 * Splits [0, r) into `parts` ranges of about equal work when index i costs (r - i) (the
 * columns of a lower triangle): boundaries at sqrt fractions of the area.
 */
export function triangleShare(r: number, part: number, parts: number): [number, number] {
  const at = (t: number) => (t >= parts ? r : Math.round(r - r * Math.sqrt(1 - t / parts)));
  return [at(part), at(part + 1)];
}

/** Splits [0, r) into `parts` ranges of equal length (rows of a full product). */
export function rowShare(r: number, part: number, parts: number): [number, number] {
  return [Math.floor((r * part) / parts), Math.floor((r * (part + 1)) / parts)];
}

/**
 * a[R[i], R[j]] -= sum_c P[i, c] P[j, c] for target columns j in [jFrom, jTo) and rows i >= j,
 * with R supernode s's rows and P the rows below the diagonal block of its factorized panel B
 * (h x w, column-major). Per tile of TILE target columns the products accumulate in T (four
 * panel columns and two target columns per pass), then land in `a` with one write per entry.
 */
export function updateColumns(a: Float64Array, st: SupernodeStructure, s: number, B: Float64Array, jFrom: number, jTo: number, T: Float64Array): void {
  const n = st.n;
  const w = st.start[s + 1] - st.start[s];
  const R = st.rowIndex.subarray(st.rowStart[s], st.rowStart[s + 1]);
  const r = R.length;
  const h = w + r;
  for (let j0 = jFrom; j0 < jTo; j0 += TILE) {
    const j1 = Math.min(jTo, j0 + TILE);
    const rr = r - j0;
    T.fill(0, 0, rr * (j1 - j0));
    let c = 0;
    for (; c + 4 <= w; c += 4) {
      const p0 = c * h + w;
      const p1 = p0 + h;
      const p2 = p1 + h;
      const p3 = p2 + h;
      for (let j = j0; j < j1; j += 2) {
        const tc = (j - j0) * rr - j0;
        const l0 = B[p0 + j];
        const l1 = B[p1 + j];
        const l2 = B[p2 + j];
        const l3 = B[p3 + j];
        T[tc + j] += l0 * l0 + l1 * l1 + l2 * l2 + l3 * l3;
        if (j + 1 === j1) {
          for (let i = j + 1; i < r; i++) T[tc + i] += B[p0 + i] * l0 + B[p1 + i] * l1 + B[p2 + i] * l2 + B[p3 + i] * l3;
          break;
        }
        const tc1 = tc + rr;
        const m0 = B[p0 + j + 1];
        const m1 = B[p1 + j + 1];
        const m2 = B[p2 + j + 1];
        const m3 = B[p3 + j + 1];
        for (let i = j + 1; i < r; i++) {
          const x0 = B[p0 + i];
          const x1 = B[p1 + i];
          const x2 = B[p2 + i];
          const x3 = B[p3 + i];
          T[tc + i] += x0 * l0 + x1 * l1 + x2 * l2 + x3 * l3;
          T[tc1 + i] += x0 * m0 + x1 * m1 + x2 * m2 + x3 * m3;
        }
      }
    }
    for (; c < w; c++) {
      const p0 = c * h + w;
      for (let j = j0; j < j1; j++) {
        const tc = (j - j0) * rr - j0;
        const l0 = B[p0 + j];
        if (l0 !== 0) for (let i = j; i < r; i++) T[tc + i] += B[p0 + i] * l0;
      }
    }
    for (let j = j0; j < j1; j++) {
      const cj = R[j] * n;
      const tc = (j - j0) * rr - j0;
      for (let i = j; i < r; i++) a[cj + R[i]] -= T[tc + i];
    }
  }
}

/**
 * X[i, c] = -sum_j Z[R[i], R[j]] Y[j, c] for rows i in [iFrom, iTo) and all w columns, R the
 * first r rows of supernode s (X and Y r x w, column-major; Z holds both triangles on R x R).
 * Z is gathered a TILE x TILE tile at a time into G, which then serves every column of Y.
 */
export function multiplyRows(z: Float64Array, st: SupernodeStructure, s: number, r: number, Y: Float64Array, X: Float64Array, iFrom: number, iTo: number, G: Float64Array): void {
  const n = st.n;
  const w = st.start[s + 1] - st.start[s];
  const R = st.rowIndex.subarray(st.rowStart[s], st.rowStart[s] + r);
  for (let c = 0; c < w; c++) X.fill(0, c * r + iFrom, c * r + iTo);
  for (let i0 = iFrom; i0 < iTo; i0 += TILE) {
    const ti = Math.min(iTo, i0 + TILE) - i0;
    for (let j0 = 0; j0 < r; j0 += TILE) {
      const tj = Math.min(r, j0 + TILE) - j0;
      for (let jj = 0; jj < tj; jj++) {
        const zc = R[j0 + jj] * n;
        for (let ii = 0; ii < ti; ii++) G[ii + jj * ti] = z[zc + R[i0 + ii]];
      }
      for (let c = 0; c < w; c++) {
        const yc = c * r + j0;
        const xc = c * r + i0;
        let jj = 0;
        for (; jj + 4 <= tj; jj += 4) {
          const y0 = Y[yc + jj];
          const y1 = Y[yc + jj + 1];
          const y2 = Y[yc + jj + 2];
          const y3 = Y[yc + jj + 3];
          const g0 = jj * ti;
          const g1 = g0 + ti;
          const g2 = g1 + ti;
          const g3 = g2 + ti;
          for (let ii = 0; ii < ti; ii++) X[xc + ii] -= G[g0 + ii] * y0 + G[g1 + ii] * y1 + G[g2 + ii] * y2 + G[g3 + ii] * y3;
        }
        for (; jj < tj; jj++) {
          const y0 = Y[yc + jj];
          const g0 = jj * ti;
          for (let ii = 0; ii < ti; ii++) X[xc + ii] -= G[g0 + ii] * y0;
        }
      }
    }
  }
}
