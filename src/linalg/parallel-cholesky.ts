/**
 * The blocked Cholesky of `dense.ts` on several cores: the update of each panel by all earlier
 * columns (almost all of the work) is split by panel columns between this thread and worker
 * threads sharing the matrix; the small panel factorization stays on this thread. Threads meet
 * twice per panel on an Int32Array of Atomics, which costs microseconds against the tens of
 * milliseconds of a 1000-wide factorization (InstEval's lecturer block).
 */
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { factorPanel, PANEL, updatePanelColumns } from './dense';

/** control slots shared with the workers */
export const enum Slot {
  /** bumped by the main thread to start a panel update */
  Generation = 0,
  /** workers that finished the current update */
  Done = 1,
  N = 2,
  J0 = 3,
  J1 = 4,
  Workers = 5,
  Length = 6,
}

/** Matrices narrower than this factorize faster on one thread. */
export const PARALLEL_MIN_SIZE = 400;

/** Columns [start, end) of panel [j0, j1) for thread `t` of `threads`, in pairs. */
export function panelShare(j0: number, j1: number, t: number, threads: number): [number, number] {
  const pairs = Math.ceil((j1 - j0) / 2);
  const from = j0 + 2 * Math.floor((pairs * t) / threads);
  const to = j0 + 2 * Math.floor((pairs * (t + 1)) / threads);
  return [from, Math.min(to, j1)];
}

export class ParallelCholesky {
  private readonly control = new Int32Array(new SharedArrayBuffer(Slot.Length * 4));
  private readonly workers: Worker[];

  /** A pool for `matrix` (backed by a SharedArrayBuffer), or null where one thread is all there is. */
  static forMatrix(matrix: Float64Array, n: number): ParallelCholesky | null {
    const threads = Math.min(availableParallelism(), 8);
    if (threads < 2 || n < PARALLEL_MIN_SIZE || !(matrix.buffer instanceof SharedArrayBuffer)) return null;
    return new ParallelCholesky(matrix, threads - 1);
  }

  private constructor(private readonly matrix: Float64Array, workers: number) {
    this.control[Slot.Workers] = workers + 1;
    const script = path.join(__dirname, 'cholesky-worker.js');
    this.workers = Array.from({ length: workers }, (_, w) => {
      const worker = new Worker(script, { workerData: { control: this.control, matrix, thread: w + 1 } });
      worker.unref(); // an idle pool must not keep the process alive
      return worker;
    });
  }

  /** In-place lower Cholesky factor of the pool's matrix (as `choleskyLower`). */
  factor(n: number): boolean {
    const a = this.matrix;
    const c = this.control;
    const threads = c[Slot.Workers];
    c[Slot.N] = n;
    for (let j0 = 0; j0 < n; j0 += PANEL) {
      const j1 = Math.min(n, j0 + PANEL);
      if (j0 > 0) {
        c[Slot.J0] = j0;
        c[Slot.J1] = j1;
        Atomics.store(c, Slot.Done, 0);
        Atomics.add(c, Slot.Generation, 1);
        Atomics.notify(c, Slot.Generation);
        const [from, to] = panelShare(j0, j1, 0, threads);
        updatePanelColumns(a, n, 0, j0, from, to);
        for (let done = Atomics.load(c, Slot.Done); done < threads - 1; done = Atomics.load(c, Slot.Done))
          Atomics.wait(c, Slot.Done, done);
      }
      if (!factorPanel(a, n, 0, j0, j1)) return false;
    }
    return true;
  }

  close(): void {
    for (const w of this.workers) void w.terminate();
  }
}
