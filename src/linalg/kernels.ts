/**
 * The WebAssembly SIMD kernels of kernels.wat (compiled by `npm run build` to kernels.wasm) and
 * the memory they work in: a shared WebAssembly memory that holds a factorization's matrix, its
 * selected inverse, the rows of its supernodes and the kernels' buffers, so that the kernels
 * gather from and scatter to the matrices directly. A wide factorization has a memory of its
 * own; small ones take turns on the thread's (see `SupernodalCholesky.work`). The supernodal code reads and writes
 * it through Float64Array views; the pool's worker threads run the same kernels on it (a shared
 * memory can be handed to a worker). Offsets and lengths here are in doubles (index lists: in
 * int32s); the kernels take bytes.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../errors';
import type { CliqueLayout } from './cliques';

interface Exports {
  syrk(t: number, tsb: number, p: number, hb: number, wpad: number, j0: number, j1: number, r: number): void;
  gemm(x: number, g: number, gsb: number, y: number, rb: number, ti: number, tj: number, w: number): void;
  panel(b: number, h: number, w: number): number;
  inverse(l: number, lsb: number, z: number, zsb: number, n: number): void;
  panelRows(b: number, h: number, w: number, from: number, to: number): void;
  trsm(y: number, rp: number, rows: number, l: number, w: number): void;
  crossprod(c: number, x: number, y: number, rp: number, w: number): void;
  gather(buf: number, col: number, idx: number, count: number): void;
  scatter(col: number, buf: number, idx: number, count: number): void;
  scatterSubtract(col: number, buf: number, idx: number, count: number): void;
  scatterTransposed(m: number, ldb: number, buf: number, rp: number, idx: number, count: number, w: number): void;
  cliqueProducts(t: number, m: number, idx: number, colStart: number, colQ: number, colEnd: number, w: number, k: number, jFrom: number, jTo: number): void;
  cliqueTrace(
    g: number,
    m: number,
    include: number,
    idx: number,
    colStart: number,
    colQ: number,
    colEnd: number,
    w: number,
    k: number,
    jFrom: number,
    jTo: number,
    o: number,
  ): void;
  crossprodRows(c: number, a: number, wa: number, b: number, wb: number, m: number): void;
  sumSquaresRows(out: number, b: number, wb: number, m: number): void;
  scatterRows(d: number, b: number, wb: number, idx: number, w: number, m: number): void;
  transposeRows(out: number, q: number, b: number, wb: number, idx: number, V: number): void;
  widenRows(out: number, input: number, rows: number, width: number, stats: number, zeroMissing: number): void;
}

/** 64 KiB pages: 4 GiB, WebAssembly's limit */
const MAX_PAGES = 65536;

let compiled: WebAssembly.Module | undefined;

/** the pages for `doubles` doubles; a ModelError beyond WebAssembly's 4 GiB */
function pagesFor(doubles: number): number {
  const pages = Math.max(1, Math.ceil((doubles * 8) / 65536));
  if (pages > MAX_PAGES)
    throw new ModelError(
      `the random-effects structure is too large: its factorization needs ${((doubles * 8) / 2 ** 30).toFixed(1)} GiB of kernel memory (at most 4)`,
    );
  return pages;
}

export class KernelMemory {
  private readonly kernels: Exports;
  private doubles: Float64Array;
  private ints: Int32Array;
  private floats?: Float32Array;
  /** the factorization whose row lists are in the thread's memory (`threadMemory`); the design whose inputs are in a products memory (brain/design.ts) */
  owner: unknown;

  /** The kernels on `memory` (a worker's view of a factorization's memory). */
  constructor(readonly memory: WebAssembly.Memory) {
    compiled ??= new WebAssembly.Module(readFileSync(path.join(__dirname, 'kernels.wasm')));
    this.kernels = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as Exports;
    this.doubles = new Float64Array(memory.buffer);
    this.ints = new Int32Array(memory.buffer);
  }

  /** A memory of at least `doubles` doubles, of fixed size (no address space is reserved for growth). */
  static allocate(doubles: number): KernelMemory {
    const pages = pagesFor(doubles);
    return new KernelMemory(new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }));
  }

  /** Grows the memory, if needed, to hold `doubles` doubles. */
  reserve(doubles: number): void {
    const pages = pagesFor(doubles) - this.memory.buffer.byteLength / 65536;
    if (pages <= 0) return;
    this.memory.grow(pages);
    this.doubles = new Float64Array(this.memory.buffer);
    this.ints = new Int32Array(this.memory.buffer);
    this.floats = undefined;
  }

  /** the whole memory as doubles, and as int32s for the index lists */
  get f64(): Float64Array {
    return this.doubles;
  }

  get i32(): Int32Array {
    return this.ints;
  }

  /** see kernels.wat: T's columns have stride ts, P's stride h; j pairs from j0 to j1 */
  syrk(t: number, ts: number, p: number, h: number, wpad: number, j0: number, j1: number, r: number): void {
    this.kernels.syrk(t * 8, ts * 8, p * 8, h * 8, wpad, j0, j1, r);
  }

  /** see kernels.wat: X and Y columns have stride rp, G's gs; G is ti x tj */
  gemm(x: number, g: number, gs: number, y: number, rp: number, ti: number, tj: number, w: number): void {
    this.kernels.gemm(x * 8, g * 8, gs * 8, y * 8, rp * 8, ti, tj, w);
  }

  /** see kernels.wat: the Cholesky factor of the diagonal block of the h x w panel at b; false if not positive definite */
  panel(b: number, h: number, w: number): boolean {
    return this.kernels.panel(b * 8, h, w) === 1;
  }

  /** see kernels.wat: after `panel`, its rows [from, to) below the diagonal block */
  panelRows(b: number, h: number, w: number, from: number, to: number): void {
    this.kernels.panelRows(b * 8, h, w, from, to);
  }

  /** see kernels.wat: `rows` rows (even) of Y (columns rp apart) times the inverse of the w x w lower triangle at l */
  trsm(y: number, rp: number, rows: number, l: number, w: number): void {
    this.kernels.trsm(y * 8, rp, rows, l * 8, w);
  }

  /** see kernels.wat: Z = (L L')^{-1} (full, columns zs apart) for the n x n lower triangular L (columns ls apart) */
  inverse(l: number, ls: number, z: number, zs: number, n: number): void {
    this.kernels.inverse(l * 8, ls * 8, z * 8, zs * 8, n);
  }

  /** see kernels.wat: the lower triangle of the w x w C minus X'Y (rp rows, rp even) */
  crossprod(c: number, x: number, y: number, rp: number, w: number): void {
    this.kernels.crossprod(c * 8, x * 8, y * 8, rp, w);
  }

  /** buf[q] = col[idx[q]] for q < count (idx: an offset in int32s) */
  gather(buf: number, col: number, idx: number, count: number): void {
    this.kernels.gather(buf * 8, col * 8, idx * 4, count);
  }

  /** col[idx[q]] = buf[q] for q < count */
  scatter(col: number, buf: number, idx: number, count: number): void {
    this.kernels.scatter(col * 8, buf * 8, idx * 4, count);
  }

  /** col[idx[q]] -= buf[q] for q < count */
  scatterSubtract(col: number, buf: number, idx: number, count: number): void {
    this.kernels.scatterSubtract(col * 8, buf * 8, idx * 4, count);
  }

  /** m[b + idx[q] ld] = buf[q + b rp] for q < count, b < w: compact columns into a matrix's columns idx, as rows */
  scatterTransposed(m: number, ld: number, buf: number, rp: number, idx: number, count: number, w: number): void {
    this.kernels.scatterTransposed(m * 8, ld * 8, buf * 8, rp, idx * 4, count, w);
  }

  /** see kernels.wat: a first term's rank updates (`c`, placed by `placeCliques`) on columns [jFrom, jTo) of the m x m target at t */
  cliqueProducts(c: CliqueLayout, t: number, m: number, jFrom: number, jTo: number): void {
    this.kernels.cliqueProducts(t * 8, m, c.idx * 4, c.colStart * 4, c.colQ * 4, c.colEnd * 4, c.w * 8, c.k, jFrom, jTo);
  }

  /** see kernels.wat: their part of the gradient from columns [jFrom, jTo) of the m x m g, into the k x k at out */
  cliqueTrace(c: CliqueLayout, g: number, m: number, include: number, jFrom: number, jTo: number, out: number): void {
    this.kernels.cliqueTrace(g * 8, m, include, c.idx * 4, c.colStart * 4, c.colQ * 4, c.colEnd * 4, c.wt * 8, c.k, jFrom, jTo, out * 8);
  }

  /**
   * see kernels.wat: C (wa x wb) += A' B over m rows, row-major; A's rows wa apart (wa a multiple
   * of 4), B's and C's wb apart (wb a multiple of 4)
   */
  crossprodRows(c: number, a: number, wa: number, b: number, wb: number, m: number): void {
    this.kernels.crossprodRows(c * 8, a * 8, wa, b * 8, wb, m);
  }

  /** out[v] += sum over q < m of B[q, v]^2, v < wb (even; B's rows wb apart) */
  sumSquaresRows(out: number, b: number, wb: number, m: number): void {
    this.kernels.sumSquaresRows(out * 8, b * 8, wb, m);
  }

  /** D[idx[q], :] += w[q] B[q, :] for q < m, rows of wb (even) doubles */
  scatterRows(d: number, b: number, wb: number, idx: number, w: number, m: number): void {
    this.kernels.scatterRows(d * 8, b * 8, wb, idx * 4, w * 8, m);
  }

  /** out[v q + e] = B[idx[e], v] for e < q, v < V: q rows of B (wb apart) to V columns of q */
  transposeRows(out: number, q: number, b: number, wb: number, idx: number, V: number): void {
    this.kernels.transposeRows(out * 8, q, b * 8, wb, idx * 4, V);
  }

  /**
   * `rows` rows of `width` floats (a multiple of 4) at `input` (an offset in floats) to doubles
   * at `out`, a missing value (NaN; with zeroIsMissing also 0) as 0; per column j, the count of
   * observed values and their lowest and highest accumulate at stats + j, stats + width + j and
   * stats + 2 width + j.
   */
  widenRows(out: number, input: number, rows: number, width: number, stats: number, zeroIsMissing: boolean): void {
    this.kernels.widenRows(out * 8, input * 4, rows, width, stats * 8, zeroIsMissing ? 1 : 0);
  }

  /** the whole memory as floats */
  get f32(): Float32Array {
    return (this.floats ??= new Float32Array(this.memory.buffer));
  }
}

let thread: KernelMemory | undefined;

/**
 * This thread's kernel memory, which small factorizations borrow: one WebAssembly instance
 * serves them all (V8 calls a new instance's functions through a slow generic wrapper at first).
 */
export function threadMemory(): KernelMemory {
  return (thread ??= growableMemory());
}

/** A kernel memory of one page that `reserve` grows. */
export function growableMemory(): KernelMemory {
  return new KernelMemory(new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true }));
}
