/**
 * The library's threads, decided in one place: how many (`threadCount`: an explicit option,
 * else `setThreadCount`'s, else the NEUROLMM_THREADS environment variable, else every core) and the worker threads that
 * run on them (`WorkerThreads`). Both pools are built on it: the whole-brain engine's, which
 * fits one chunk of voxels per worker, and the factorization's (`SupernodalPool`), which splits
 * one kernel over all of them.
 *
 * A pool's workers see NEUROLMM_THREADS=1, so that what runs inside them (a voxel's
 * factorization) stays on their thread: the cores are divided once, never threads by threads.
 */
import { availableParallelism } from 'node:os';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { NeurolmmError } from '../errors';

export const THREADS_VARIABLE = 'NEUROLMM_THREADS';

let configured: number | undefined;

/**
 * The thread count for this process from now on, as NEUROLMM_THREADS would set it (undefined:
 * back to the variable or the cores). The factorization's pool takes its size at the first wide
 * fit, so set it before.
 */
export function setThreadCount(count: number | undefined): void {
  configured = count === undefined ? undefined : wholeCount(count, `${count} threads`);
}

/**
 * The threads to use: `requested` when given (a `workers`/`--workers` option; 0 or 1 means the
 * calling thread alone), else `setThreadCount`'s, else NEUROLMM_THREADS, else one per core.
 */
export function threadCount(requested?: number): number {
  if (requested !== undefined) return wholeCount(requested, `${requested} threads`);
  if (configured !== undefined) return configured;
  const variable = process.env[THREADS_VARIABLE]?.trim();
  if (variable) return wholeCount(Number(variable), `${THREADS_VARIABLE}=${variable}`);
  return availableParallelism();
}

function wholeCount(value: number, what: string): number {
  if (!(value >= 0) || !Number.isFinite(value)) throw new NeurolmmError(`${what}: the number of threads must be a whole number, 0 or more`);
  return Math.floor(value);
}

export interface WorkerThreadsOptions {
  /** idle workers do not keep the process alive (a pool that lives between fits) */
  unref?: boolean;
  /**
   * A worker stopped before `terminate`: its uncaught exception (`error`), or its exit code;
   * called once for that worker (an exception's exit is not a second death).
   */
  onDeath?: (index: number, reason: string, error?: Error) => void;
}

/** `count` worker threads of one script, watched until `terminate`. */
export class WorkerThreads {
  readonly workers: Worker[] = [];
  /** why the first worker that stopped did (undefined while all run, or after `terminate` only) */
  death: string | undefined;
  private terminated = false;

  /** `script`: a file, or code with `{ eval: true }` in the options; `options(i)`: worker i's workerData, transferList... */
  constructor(count: number, script: string, options: (index: number) => WorkerOptions, settings: WorkerThreadsOptions = {}) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(script, { ...options(i), env: { ...process.env, [THREADS_VARIABLE]: '1' } });
      if (settings.unref) worker.unref();
      let stopped = false;
      const died = (reason: string, error?: Error) => {
        if (this.terminated || stopped) return;
        stopped = true;
        this.death ??= `worker thread ${i + 1} ${reason}`;
        settings.onDeath?.(i, reason, error);
      };
      worker.on('error', (error) => died(`failed: ${error.message}`, error));
      worker.on('exit', (code) => died(`exited (code ${code})`));
      this.workers.push(worker);
    }
  }

  /** Stops every worker; their exits are then not deaths. */
  terminate(): Promise<number[]> {
    this.terminated = true;
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}
