/**
 * The WebAssembly SIMD kernels of kernels.wat (compiled by `npm run build` to kernels.wasm) and
 * the memory they work in: one shared WebAssembly memory per thread, grown on demand, which the
 * supernodal code fills and reads through a Float64Array view. The pool's worker threads run the
 * same kernels on the main thread's memory (a shared memory can be handed to a worker).
 * Offsets and lengths here are in doubles; the kernels take bytes.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ModelError } from '../errors';

interface Exports {
  syrk(t: number, tsb: number, p: number, hb: number, wpad: number, j0: number, j1: number, r: number): void;
  gemm(x: number, g: number, gsb: number, y: number, rb: number, ti: number, tj: number, w: number): void;
  panel(b: number, h: number, w: number): number;
  trsm(y: number, rp: number, l: number, w: number): void;
  crossprod(c: number, x: number, y: number, rp: number, w: number): void;
}

/** 64 KiB pages; the memory may grow to 4 GiB, WebAssembly's limit */
const MAX_PAGES = 65536;

let compiled: WebAssembly.Module | undefined;

export class KernelMemory {
  readonly memory: WebAssembly.Memory;
  private readonly kernels: Exports;
  private view: Float64Array;

  constructor(memory?: WebAssembly.Memory) {
    compiled ??= new WebAssembly.Module(readFileSync(path.join(__dirname, 'kernels.wasm')));
    this.memory = memory ?? new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    this.kernels = new WebAssembly.Instance(compiled, { env: { memory: this.memory } }).exports as unknown as Exports;
    this.view = new Float64Array(this.memory.buffer);
  }

  /**
   * Makes `f64` hold at least `doubles` doubles: grows the memory if needed, and renews the view
   * if the memory grew (here or, for a worker's view of the main thread's memory, there).
   */
  reserve(doubles: number): void {
    if (this.view.length >= doubles) return;
    const needed = Math.ceil((doubles * 8) / 65536);
    if (needed > MAX_PAGES) throw new ModelError(`the random-effects structure is too large: its factorization needs ${((doubles * 8) / 2 ** 30).toFixed(1)} GiB of kernel memory (at most 4)`);
    const pages = needed - this.memory.buffer.byteLength / 65536;
    if (pages > 0) this.memory.grow(pages);
    this.view = new Float64Array(this.memory.buffer);
  }

  /** The whole memory, as far as `reserve` asked for. */
  get f64(): Float64Array {
    return this.view;
  }

  /** see kernels.wat: T's columns have stride ts, P's stride h; j pairs from j0 to j1 */
  syrk(t: number, ts: number, p: number, h: number, wpad: number, j0: number, j1: number, r: number): void {
    this.kernels.syrk(t * 8, ts * 8, p * 8, h * 8, wpad, j0, j1, r);
  }

  /** see kernels.wat: X and Y columns have stride rp, G's gs; G is ti x tj */
  gemm(x: number, g: number, gs: number, y: number, rp: number, ti: number, tj: number, w: number): void {
    this.kernels.gemm(x * 8, g * 8, gs * 8, y * 8, rp * 8, ti, tj, w);
  }

  /** see kernels.wat: the Cholesky factor of the h x w panel at b; false if not positive definite */
  panel(b: number, h: number, w: number): boolean {
    return this.kernels.panel(b * 8, h, w) === 1;
  }

  /** see kernels.wat: Y (rp rows, rp even) times the inverse of the w x w lower triangle at l */
  trsm(y: number, rp: number, l: number, w: number): void {
    this.kernels.trsm(y * 8, rp, l * 8, w);
  }

  /** see kernels.wat: the lower triangle of the w x w C minus X'Y (rp rows, rp even) */
  crossprod(c: number, x: number, y: number, rp: number, w: number): void {
    this.kernels.crossprod(c * 8, x * 8, y * 8, rp, w);
  }
}

let threadMemory: KernelMemory | undefined;

/** This thread's kernel memory. */
export function kernelMemory(): KernelMemory {
  return (threadMemory ??= new KernelMemory());
}
