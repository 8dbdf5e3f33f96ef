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
import { cliqueLayout, CliqueRunner, FirstTermCliques, placeCliques } from './cliques';
import { KernelMemory, threadMemory } from './kernels';
import { analyseSupernodes, type SupernodeSizes, type SupernodeStructure } from './supernode-structure';
import { inverseRows, multiplyRows, panelRows, PARALLEL_MIN_WORK, TILE, updateColumns, updateWork, type KernelLayout } from './supernode-kernels';

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
  /** what one supernode's kernels need at most */
  readonly sizes: SupernodeSizes;

  /**
   * `structure[j]`: the rows (> j, ascending) of column j of the factor, closed under
   * elimination; a supernode starts at column `cut` (see `analyseSupernodes`), so that the
   * factorization can stop there (`factor`'s `to`).
   */
  constructor(
    readonly n: number,
    structure: Int32Array[],
    cut = n,
  ) {
    ({ structure: this.structure, flops: this.flops, sizes: this.sizes } = analyseSupernodes(n, structure, cut));
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
    // one dense supernode: the matrix is its own panel, factorized where it lies (no gather and scatter)
    const single = this.structure.start.length === 2;
    const done = single ? from > 0 || to === 0 || work.memory.panel(work.layout.matrix, this.n, this.n) : this.factorSupernodes(work, from, to);
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
      if (r === 0) {
        // no rows below (the last supernode, a small dense matrix's only one): Z_CC = (L_CC L_CC')^{-1}, computed where both lie
        memory.inverse(L + f * n + f, n, Z + f * n + f, n, w);
        continue;
      }
      for (let c = 0; c < w; c++) for (let i = c; i < w; i++) M[lcc + i + c * w] = M[L + (f + c) * n + f + i];
      if (runner && updateWork(w, r) >= PARALLEL_MIN_WORK) {
        runner.inverseRows(s, r, w);
        runner.multiply(s, r, w);
      } else {
        inverseRows(this.structure, s, r, w, 0, r, memory, layout);
        multiplyRows(this.structure, s, r, w, 0, r, memory, layout);
      }
      // Z_CC = (L_CC L_CC')^{-1} - X' Y, into both triangles
      const rp = r + (r & 1);
      memory.inverse(lcc, w, zcc, w, w);
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
