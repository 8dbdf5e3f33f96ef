/**
 * The big kernels of `SupernodalCholesky` on several cores: for each wide supernode, the rows of
 * its panel and the outer-product update of the factorization (split by rows, then by target
 * columns), the rows of Y and the product of the selected inversion (split by rows); and the
 * rank updates of a first term's elimination and of its gradient (`cliques.ts`, split by
 * columns). This thread and worker threads run them on the factorization's kernel memory
 * (shared), where the matrix, its inverse and the buffers are, taking chunks of the work from a
 * shared counter until none is left, so none waits for a slower one. The threads meet once per
 * kernel on an Int32Array of Atomics, which costs microseconds against the milliseconds of the
 * supernodes worth splitting.
 *
 * One pool serves the process (as a BLAS thread pool does): its workers (`WorkerThreads`, as many
 * as `threadCount` allows, at most 8) start with the first wide system and idle between fits. A system hands its buffers over when it next runs a kernel
 * after another system did (a message the workers read synchronously before the kernel).
 *
 * A worker that dies (an exception in a kernel, terminated, out of memory) must not leave this
 * thread waiting forever: the worker's code runs inside a guard that reports an exception and
 * counts the worker done, this thread waits in slices and checks between them that each worker's
 * OS thread still exists (Linux), and the workers' exit events mark the pool dead between fits.
 * The kernel then ends in a NeurolmmError and the next fit starts a new pool.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MessageChannel, MessagePort, receiveMessageOnPort } from 'node:worker_threads';
import { NeurolmmError } from '../errors';
import { cliqueShares, FirstTermCliques } from './cliques';
import { KernelMemory } from './kernels';
import { inverseRows, multiplyRows, panelRows, updateColumns, type KernelLayout } from './supernode-kernels';
import type { SupernodeStructure } from './supernode-structure';
import { SupernodalCholesky, SupernodeWork } from './supernodal';
import { threadCount, WorkerThreads } from './threads';

/** control slots shared with the workers */
export const enum Slot {
  /** bumped by the main thread to start a kernel */
  Generation = 0,
  /** workers that finished the current kernel */
  Done = 1,
  Kernel = 2,
  Supernode = 3,
  /** rows of the supernode the kernel covers */
  Rows = 4,
  Threads = 5,
  /** id of the system whose buffers the kernels use */
  System = 6,
  /** the next chunk of the current kernel's work */
  Next = 7,
  /** columns of the supernode the kernel covers */
  Width = 8,
  Length = 9,
}

export const enum Kernel {
  PanelRows = 0,
  Update = 1,
  InverseRows = 2,
  Multiply = 3,
  CliqueProducts = 4,
  CliqueTrace = 5,
}

/** A system's factorization as the threads see it. */
export interface SystemBuffers {
  id: number;
  structure: SupernodeStructure;
  /** the kernel memory and where the kernels' data lie in it */
  memory: WebAssembly.Memory;
  layout: KernelLayout;
  /** column bounds of the chunks of a first term's rank updates */
  shares?: Int32Array;
}

/** rows (or target columns) per chunk of a supernode's kernels: a multiple of the kernels' tiles */
const CHUNK = 64;
/** chunks of a first term's rank updates per thread */
const CLIQUE_CHUNKS = 8;

/** This thread's or a worker's part (`thread` of the control's Threads) of the kernel named in `control`. */
export function runShare(control: Int32Array, system: SystemBuffers, thread: number, memory: KernelMemory): void {
  const { structure, layout, shares } = system;
  const n = structure.n;
  const s = control[Slot.Supernode];
  const r = control[Slot.Rows];
  const w = control[Slot.Width];
  const kernel = control[Slot.Kernel];
  const c = layout.cliques;
  const chunks = kernel === Kernel.CliqueProducts || kernel === Kernel.CliqueTrace ? shares!.length - 1 : Math.ceil(r / CHUNK);
  // this thread's k x k part of the gradient's sums
  const part = c && c.partial + thread * c.k * c.k;
  if (kernel === Kernel.CliqueTrace) memory.f64.fill(0, part!, part! + c!.k * c!.k);
  for (let chunk = Atomics.add(control, Slot.Next, 1); chunk < chunks; chunk = Atomics.add(control, Slot.Next, 1)) {
    const from = chunk * CHUNK;
    const to = Math.min(r, from + CHUNK);
    if (kernel === Kernel.PanelRows) panelRows(structure, s, from, to, memory, layout);
    else if (kernel === Kernel.Update) updateColumns(structure, s, from, to, memory, layout, thread);
    else if (kernel === Kernel.InverseRows) inverseRows(structure, s, r, w, from, to, memory, layout);
    else if (kernel === Kernel.Multiply) multiplyRows(structure, s, r, w, from, to, memory, layout);
    else if (kernel === Kernel.CliqueProducts) memory.cliqueProducts(c!, layout.matrix, n, shares![chunk], shares![chunk + 1]);
    // the trace's included rows come as the kernel's rows
    else memory.cliqueTrace(c!, layout.inverse, n, r, shares![chunk], shares![chunk + 1], part!);
  }
}

/**
 * What each worker runs: it records its OS thread id (`threadIds[thread]`, Linux) and runs the
 * worker script, whose loop only ends by an exception; that is reported on `reports` and the worker
 * counted done, so that the main thread wakes up and sees `failed`.
 */
const GUARDED_WORKER = `
const { workerData } = require('node:worker_threads');
const { control, threadIds, failed, reports, thread, script } = workerData;
try {
  const self = require('node:fs').readlinkSync('/proc/thread-self');
  Atomics.store(threadIds, thread, Number(self.slice(self.lastIndexOf('/') + 1)));
} catch {}
try {
  require(script);
} catch (error) {
  reports.postMessage(String(error && error.stack || error));
  Atomics.store(failed, thread, 1);
  Atomics.add(control, ${Slot.Done}, 1);
  Atomics.notify(control, ${Slot.Done});
}
`;

/** how long this thread sleeps between checks that the workers are alive */
const LIVENESS_CHECK_MS = 200;

export class SupernodalPool {
  private readonly control = new Int32Array(new SharedArrayBuffer(Slot.Length * 4));
  private readonly ports: MessagePort[] = [];
  private readonly threadPool: WorkerThreads;
  /** per worker thread: its OS thread id (0: unknown), and whether its code failed */
  private readonly threadIds: Int32Array;
  private readonly failed: Int32Array;
  /** per worker: where its guard reports an exception */
  private readonly reports: MessagePort[] = [];
  /** why the pool can no longer run kernels (a kernel's failure; a worker's is in `threadPool.death`) */
  private death: string | undefined;
  private nextId = 1;

  constructor(private readonly threads: number) {
    this.control[Slot.Threads] = threads;
    this.threadIds = new Int32Array(new SharedArrayBuffer(threads * 4));
    this.failed = new Int32Array(new SharedArrayBuffer(threads * 4));
    const script = path.join(__dirname, 'supernodal-worker.js');
    // worker i is thread i + 1 of the kernels, this thread being thread 0
    this.threadPool = new WorkerThreads(
      threads - 1,
      GUARDED_WORKER,
      (i) => {
        const { port1, port2 } = new MessageChannel();
        const reports = new MessageChannel();
        reports.port1.unref();
        this.ports.push(port1);
        this.reports.push(reports.port1);
        const workerData = {
          control: this.control,
          thread: i + 1,
          port: port2,
          threadIds: this.threadIds,
          failed: this.failed,
          reports: reports.port2,
          script,
        };
        return { eval: true, workerData, transferList: [port2, reports.port2] };
      },
      { unref: true }, // an idle pool must not keep the process alive
    );
  }

  /** The kernel memory of a factorization (and a first term's rank updates) whose kernels run on the pool's threads. */
  work(factorization: SupernodalCholesky, firstTerm?: FirstTermCliques): SupernodeWork {
    const work = factorization.ownWork(this.threads, firstTerm);
    const { memory, layout } = work;
    const n = factorization.n;
    const c = layout.cliques;
    const shares = firstTerm && cliqueShares(firstTerm.columns, n, CLIQUE_CHUNKS * this.threads);
    const system: SystemBuffers = { id: this.nextId++, structure: factorization.structure, memory: memory.memory, layout, shares };
    const { rowStart } = factorization.structure;
    work.runner = {
      panelRows: (s) => this.run(system, memory, Kernel.PanelRows, s, rowStart[s + 1] - rowStart[s]),
      update: (s) => this.run(system, memory, Kernel.Update, s, rowStart[s + 1] - rowStart[s]),
      inverseRows: (s, rows, width) => this.run(system, memory, Kernel.InverseRows, s, rows, width),
      multiply: (s, rows, width) => this.run(system, memory, Kernel.Multiply, s, rows, width),
    };
    if (c)
      work.cliques = {
        ...factorization.cliqueValues(work),
        subtract: () => this.run(system, memory, Kernel.CliqueProducts, 0, 0),
        trace: (include, out) => {
          this.run(system, memory, Kernel.CliqueTrace, 0, include);
          const kk = c.k * c.k;
          for (let i = 0; i < this.threads * kk; i++) out[i % kk] += memory.f64[c.partial + i];
        },
      };
    return work;
  }

  private run(system: SystemBuffers, memory: KernelMemory, kernel: Kernel, s: number, rows: number, width = 0): void {
    const death = this.death ?? this.threadPool.death;
    if (death) this.fail(death);
    const c = this.control;
    if (c[Slot.System] !== system.id) {
      for (const port of this.ports) port.postMessage(system);
      c[Slot.System] = system.id;
    }
    c[Slot.Kernel] = kernel;
    c[Slot.Supernode] = s;
    c[Slot.Rows] = rows;
    c[Slot.Width] = width;
    c[Slot.Next] = 0;
    Atomics.store(c, Slot.Done, 0);
    Atomics.add(c, Slot.Generation, 1);
    Atomics.notify(c, Slot.Generation);
    runShare(c, system, 0, memory);
    const others = this.ports.length;
    for (let done = Atomics.load(c, Slot.Done); done < others; done = Atomics.load(c, Slot.Done)) {
      if (!spinThenWait(c, Slot.Done, done, LIVENESS_CHECK_MS)) this.checkWorkers(true);
    }
    this.checkWorkers(false);
  }

  /** Throws if a worker's code failed or (`threads`: a stat per worker) its thread is gone. */
  private checkWorkers(threads: boolean): void {
    for (let w = 1; w < this.threads; w++) {
      if (Atomics.load(this.failed, w)) {
        const report = receiveMessageOnPort(this.reports[w - 1])?.message;
        this.fail(`worker thread ${w} failed: ${String(report ?? 'no report').split('\n')[0]}`);
      }
      const tid = threads ? Atomics.load(this.threadIds, w) : 0;
      if (tid && !fs.existsSync(`/proc/self/task/${tid}`)) this.fail(`worker thread ${w} died (its OS thread ${tid} is gone)`);
    }
  }

  /** The pool cannot run kernels any more: its workers go, the next fit starts a new pool. */
  private fail(reason: string): never {
    this.death = reason;
    if (processPool === this) processPool = undefined;
    void this.threadPool.terminate();
    throw new NeurolmmError(`the factorization's thread pool lost a thread (${reason}); the fit was stopped (a new fit starts a new pool)`);
  }

  /** Stops the workers (for tests and shutdown); the pool cannot be used afterwards. */
  terminate(): Promise<number[]> {
    this.death ??= 'the pool was terminated';
    if (processPool === this) processPool = undefined;
    return this.threadPool.terminate();
  }
}

/**
 * Waits while control[slot] === value: polls first, since kernels come in quick succession and
 * a futex wake-up costs tens of microseconds, then sleeps (at most `timeout` ms). False when the
 * value has not changed after the timeout.
 */
export function spinThenWait(control: Int32Array, slot: Slot, value: number, timeout = Infinity): boolean {
  for (let spin = 0; spin < SPINS; spin++) if (Atomics.load(control, slot) !== value) return true;
  return Atomics.wait(control, slot, value, timeout) !== 'timed-out';
}

/** polls before sleeping: about 100 microseconds */
const SPINS = 20_000;

let processPool: SupernodalPool | null | undefined;

/** Threads one kernel is split over at most: beyond, their meetings cost more than the split saves. */
const MAX_KERNEL_THREADS = 8;

/** The process's pool, started at first use; null where one thread is all there is (`threadCount`). */
export function supernodalPool(): SupernodalPool | null {
  if (processPool === undefined) {
    const threads = Math.min(threadCount(), MAX_KERNEL_THREADS);
    processPool = threads < 2 ? null : new SupernodalPool(threads);
  }
  return processPool;
}

/** Tails whose factorization takes fewer multiply-adds than this run on one thread. */
const PARALLEL_MIN_FLOPS = 5e6;

/**
 * The buffers to factorize with: a big tail (crossed factors with many levels) on the process's
 * pool, in shared memory; a small one on this thread.
 */
export function factorizationWork(factorization: SupernodalCholesky, cliques?: FirstTermCliques): SupernodeWork {
  const pool = factorization.flops >= PARALLEL_MIN_FLOPS ? supernodalPool() : null;
  return pool ? pool.work(factorization, cliques) : factorization.work(cliques);
}
