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
 * gathered into a compact panel, factorized there (the `panel` kernel), scattered back, and its outer
 * product subtracted from the columns its rows name (right-looking), tile by tile so that the
 * products accumulate in cache and each target entry is written once. The matrix, its selected
 * inverse and the compact buffers share one WebAssembly memory (`KernelMemory`): the kernels
 * (kernels.wat, SIMD) gather, multiply and scatter there without a copy through JavaScript. The
 * two big kernels, the update and the product of the selected inversion, take ranges of
 * independent output columns or rows, which `SupernodalPool` hands to several threads.
 */
import { inverseFromCholesky, PANEL } from './dense';
import { CliqueLayout, cliqueLayout, CliqueRunner, FirstTermCliques, placeCliques } from './cliques';
import { KernelMemory, threadMemory } from './kernels';
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
  /** the panel's rows below its diagonal block (see `panelRows`) */
  panelRows(s: number): void;
  /** A -= P P' on the supernode's rows (see `updateColumns`) */
  update(s: number): void;
  /** Y on the supernode's first `rows` rows and `width` columns (see `inverseRows`) */
  inverseRows(s: number, rows: number, width: number): void;
  /** X = -Z_RR Y there, into Z (see `multiplyRows`) */
  multiply(s: number, rows: number, width: number): void;
}

/**
 * Where a factorization keeps its buffers in its kernel memory (offsets in doubles): the
 * gathered panel, the inversion's Y and X (columns padded to an even number of rows, plus a
 * spare column), the diagonal blocks, Z on a supernode's rows, per thread a tile of the update,
 * the supernodes' rows (as int32s), then the matrix and its selected inverse (n x n each).
 */
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

/** What the kernels run with: the factorization's kernel memory and, for a wide matrix, threads that share it. */
export interface SupernodeWork {
  memory: KernelMemory;
  layout: KernelLayout;
  /**
   * The matrix to factorize (n x n, column-major; `factor` leaves its Cholesky factor in the
   * lower triangle) and the selected inverse: views of the kernel memory, or if `borrowed` (the
   * thread's memory, for a small matrix) copies that the kernels' calls copy in and out.
   */
  matrix: Float64Array;
  inverse: Float64Array;
  borrowed: boolean;
  /** the first term's rank updates that the `cliques` kernels apply */
  firstTerm?: FirstTermCliques;
  runner?: SupernodeRunner;
  /** a first term's rank updates into the matrix (its elimination) and its sums for the gradient */
  cliques?: CliqueRunner;
}

export class SupernodalCholesky {
  readonly structure: SupernodeStructure;
  /** number of multiply-adds per factorization */
  readonly flops: number;
  /** what one supernode's kernels need at most: panel entries (width padded to 4), padded rows x width, rows, width */
  readonly sizes: { panel: number; rowsByWidth: number; rows: number; width: number };

  /**
   * `structure[j]`: the rows (> j, ascending) of column j of the factor, which must be closed
   * under elimination (as `minimumDegree` gives it). A supernode starts at column `cut` (in the
   * dense trailing triangle), so that the factorization can stop there (`factor`'s `to`).
   */
  constructor(readonly n: number, structure: Int32Array[], cut = n) {
    // the dense trailing triangle: columns whose rows are all the later ones
    let denseFrom = n;
    while (denseFrom > 0 && structure[denseFrom - 1].length === n - denseFrom) denseFrom--;
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
    // most PANEL columns (rows: the later columns of the supernode, then its rows), so that the
    // panel kernel's column-by-column work stays small and the rest goes to the tiled update
    start.pop();
    start.push(denseFrom, n);
    rows.push(new Int32Array(0));
    const panelStart: number[] = [];
    const panelRows: Int32Array[] = [];
    rows.forEach((R, s) => {
      const end = start[s + 1];
      for (let j = start[s]; j < end; ) {
        const to = Math.min(end, j + PANEL, j < cut ? cut : end);
        panelStart.push(j);
        const panel = new Int32Array(end - to + R.length);
        panel.set(range(to, end));
        panel.set(R, end - to);
        panelRows.push(panel);
        j = to;
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
      sizes.panel = Math.max(sizes.panel, h * ((w + 3) & ~3));
      sizes.rowsByWidth = Math.max(sizes.rowsByWidth, (R.length + 1) * (w + 2));
      sizes.rows = Math.max(sizes.rows, R.length);
      sizes.width = Math.max(sizes.width, w);
    });
    this.flops = flops;
    this.sizes = sizes;
  }

  /** The layout of a kernel memory for `threads` threads (and a first term's rank updates). */
  layout(threads: number, firstTerm?: FirstTermCliques): KernelLayout {
    const { panel, rowsByWidth, rows } = this.sizes;
    const tileLength = (rows + 1) * (TILE + 1);
    const y = panel + 4;
    const x = y + rowsByWidth + 4;
    const lcc = x + rowsByWidth + 4;
    const zcc = lcc + this.sizes.width ** 2;
    const zRows = zcc + this.sizes.width ** 2;
    const tiles = zRows + (rows + 1) * (rows + 4);
    const rowIndex = tiles + threads * tileLength;
    const matrix = rowIndex + Math.ceil(this.structure.rowIndex.length / 2);
    const inverse = matrix + this.n * this.n;
    const end = inverse + this.n * this.n;
    const cliques = firstTerm && cliqueLayout(firstTerm.columns, firstTerm.k, threads, end);
    return { panel: 0, y, x, lcc, zcc, zRows, tiles, tileLength, rowIndex, matrix, inverse, cliques, total: cliques?.end ?? end };
  }

  /**
   * The kernels on this thread alone: a small matrix borrows the thread's kernel memory, a
   * wider one (for which copying the matrix in and out would cost) has its own.
   */
  work(firstTerm?: FirstTermCliques): SupernodeWork {
    const n2 = this.n * this.n;
    const work: SupernodeWork =
      this.n >= OWN_MEMORY_MIN
        ? this.ownWork(1, firstTerm)
        : { memory: threadMemory(), layout: this.layout(1, firstTerm), matrix: new Float64Array(n2), inverse: new Float64Array(n2), borrowed: true, firstTerm };
    const c = work.layout.cliques;
    if (!c) return work;
    const { memory, layout } = work;
    const { w, wt } = this.cliqueValues(work);
    work.cliques = {
      w,
      wt,
      subtract: () => {
        this.enter(work, 'matrix');
        if (work.borrowed) memory.f64.set(w, c.w);
        memory.cliqueProducts(c, layout.matrix, this.n, 0, this.n);
        this.leave(work, layout.matrix, work.matrix);
      },
      trace: (include, out) => {
        this.enter(work, 'inverse');
        if (work.borrowed) memory.f64.set(wt, c.wt);
        memory.f64.fill(0, c.partial, c.partial + c.k * c.k);
        memory.cliqueTrace(c, layout.inverse, this.n, include, 0, this.n, c.partial);
        for (let i = 0; i < c.k * c.k; i++) out[i] += memory.f64[c.partial + i];
      },
    };
    return work;
  }

  /** A kernel memory of its own for `threads` threads, holding the matrix, the supernodes' rows and a first term's cliques. */
  ownWork(threads: number, firstTerm?: FirstTermCliques): SupernodeWork {
    const layout = this.layout(threads, firstTerm);
    const memory = KernelMemory.allocate(layout.total);
    memory.i32.set(this.structure.rowIndex, 2 * layout.rowIndex);
    if (firstTerm) placeCliques(memory, layout.cliques!, firstTerm.columns);
    const n2 = this.n * this.n;
    const view = (at: number) => memory.f64.subarray(at, at + n2);
    return { memory, layout, matrix: view(layout.matrix), inverse: view(layout.inverse), borrowed: false, firstTerm };
  }

  /** The clique kernels' w and wt: views of the kernel memory, or for a borrowed one copies (see `enter`). */
  cliqueValues(work: SupernodeWork): { w: Float64Array; wt: Float64Array } {
    const c = work.layout.cliques!;
    const length = c.positions * c.k;
    const values = (at: number) => (work.borrowed ? new Float64Array(length) : work.memory.f64.subarray(at, at + length));
    return { w: values(c.w), wt: values(c.wt) };
  }

  /**
   * For a borrowed memory: this work's index lists, and the matrix, the inverse or both (what the
   * kernels read; the inverse also so that its entries off the structure stay this work's) copied in.
   */
  private enter(work: SupernodeWork, copy: 'matrix' | 'inverse' | 'both'): void {
    if (!work.borrowed) return;
    const { memory, layout } = work;
    memory.reserve(layout.total);
    if (memory.owner !== work) {
      memory.i32.set(this.structure.rowIndex, 2 * layout.rowIndex);
      if (work.firstTerm) placeCliques(memory, layout.cliques!, work.firstTerm.columns);
      memory.owner = work;
    }
    if (copy !== 'inverse') memory.f64.set(work.matrix, layout.matrix);
    if (copy !== 'matrix') memory.f64.set(work.inverse, layout.inverse);
  }

  /** For a borrowed memory: the matrix or the inverse copied out. */
  private leave(work: SupernodeWork, at: number, to: Float64Array): void {
    if (work.borrowed) to.set(work.memory.f64.subarray(at, at + to.length));
  }

  /**
   * In place: the lower triangle of the work's matrix becomes the Cholesky factor on the
   * structure (entries outside it must be zero and stay so). False if not positive definite.
   * With `from` and `to` (0, `cut` or n), only the supernodes starting in [from, to): up to the
   * cut, the trailing block is left holding its Schur complement.
   */
  factor(work: SupernodeWork, from = 0, to = this.n): boolean {
    this.enter(work, 'matrix');
    const done = this.factorSupernodes(work, from, to);
    this.leave(work, work.layout.matrix, work.matrix);
    return done;
  }

  private factorSupernodes(work: SupernodeWork, from: number, to: number): boolean {
    const { n, start, rowStart } = this.structure;
    const { memory, layout, runner } = work;
    const M = memory.f64;
    const b0 = layout.panel;
    for (let s = 0; s + 1 < start.length; s++) {
      const f = start[s];
      if (f < from || f >= to) continue;
      const w = start[s + 1] - f;
      const r = rowStart[s + 1] - rowStart[s];
      const h = w + r;
      // the diagonal block's lower triangle, factorized in the panel; zero columns pad the
      // panel's width to a multiple of 4 for the update kernel
      for (let c = 0; c < w; c++) {
        const col = layout.matrix + (f + c) * n;
        const bc = b0 + c * h;
        for (let i = c; i < w; i++) M[bc + i] = M[col + f + i];
      }
      M.fill(0, b0 + w * h, b0 + ((w + 3) & ~3) * h + 2);
      if (!memory.panel(b0, h, w)) return false;
      for (let c = 0; c < w; c++) {
        const col = layout.matrix + (f + c) * n;
        const bc = b0 + c * h;
        for (let i = c; i < w; i++) M[col + f + i] = M[bc + i];
      }
      if (r === 0) continue;
      if (runner && updateWork(w, r) >= PARALLEL_MIN_WORK) {
        runner.panelRows(s);
        runner.update(s);
      } else {
        panelRows(this.structure, s, 0, r, memory, layout);
        updateColumns(this.structure, s, 0, r, memory, layout, 0);
      }
    }
    return true;
  }

  /**
   * After `factor`: solves L_b' x = b in place for the leading `size` rows and columns of L
   * (the work's matrix; L_b, the factor of the leading block), touching only the structure.
   */
  solveTransposed(l: Float64Array, b: Float64Array, size: number): void {
    const { n, start, rowStart, rowIndex } = this.structure;
    for (let s = start.length - 2; s >= 0; s--) {
      const f = start[s];
      if (f >= size) continue;
      const end = Math.min(start[s + 1], size);
      const R = rowIndex.subarray(rowStart[s], rowStart[s + 1]);
      for (let c = end - 1; c >= f; c--) {
        const col = c * n;
        let v = b[c];
        for (let i = c + 1; i < end; i++) v -= l[col + i] * b[i];
        for (let q = 0; q < R.length && R[q] < size; q++) v -= l[col + R[q]] * b[R[q]];
        b[c] = v / l[col + c];
      }
    }
  }

  /**
   * After `factor`: into the work's inverse, the entries of Z = A^{-1} on the factor's structure
   * (both triangles) for A's leading `include` rows and columns (the Cholesky factor of a leading
   * block is the leading block of L), by the Takahashi recurrences supernode by supernode from the last:
   * with C a supernode's columns and R its rows below, Z_RC = -Z_RR L_RC L_CC^{-1} and
   * Z_CC = (L_CC L_CC')^{-1} - Z_RC' L_RC L_CC^{-1}. Z_RR lies in the structure because R is a
   * clique of the filled graph.
   */
  selectedInverse(work: SupernodeWork, include: number): void {
    this.enter(work, 'both');
    this.invertSupernodes(work, include);
    this.leave(work, work.layout.inverse, work.inverse);
  }

  private invertSupernodes(work: SupernodeWork, include: number): void {
    const { n, start, rowStart, rowIndex } = this.structure;
    const { memory, layout, runner } = work;
    const M = memory.f64;
    const { x: X, y: Y, lcc, zcc, matrix: L, inverse: Z } = layout;
    for (let s = start.length - 2; s >= 0; s--) {
      const f = start[s];
      if (f >= include) continue;
      const w = Math.min(start[s + 1], include) - f;
      let r = 0;
      while (r < rowStart[s + 1] - rowStart[s] && rowIndex[rowStart[s] + r] < include) r++;
      for (let c = 0; c < w; c++) for (let i = c; i < w; i++) M[lcc + i + c * w] = M[L + (f + c) * n + f + i];
      if (r > 0) {
        if (runner && updateWork(w, r) >= PARALLEL_MIN_WORK) {
          runner.inverseRows(s, r, w);
          runner.multiply(s, r, w);
        } else {
          inverseRows(this.structure, s, r, w, 0, r, memory, layout);
          multiplyRows(this.structure, s, r, w, 0, r, memory, layout);
        }
      }
      // Z_CC = (L_CC L_CC')^{-1} - X' Y, into both triangles
      const rp = r + (r & 1);
      inverseFromCholesky(M, w, lcc, w, M, zcc, w);
      memory.crossprod(zcc, X, Y, rp, w);
      for (let b = 0; b < w; b++) {
        const col = Z + (f + b) * n;
        for (let a = b; a < w; a++) {
          const v = M[zcc + a + b * w];
          M[col + f + a] = v;
          M[Z + (f + a) * n + f + b] = v;
        }
      }
    }
  }
}

/** Matrices this wide have a kernel memory of their own rather than copying into the thread's. */
const OWN_MEMORY_MIN = 256;

/** Supernodes with less work than this (multiply-adds) are not worth waking threads for. */
const PARALLEL_MIN_WORK = 1_000_000;

function updateWork(w: number, r: number): number {
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
export function inverseRows(st: SupernodeStructure, s: number, r: number, w: number, from: number, to: number, memory: KernelMemory, layout: KernelLayout): void {
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
export function multiplyRows(st: SupernodeStructure, s: number, r: number, w: number, iFrom: number, iTo: number, memory: KernelMemory, layout: KernelLayout): void {
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
