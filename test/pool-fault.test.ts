/**
 * A worker thread of the supernodal pool that dies must not leave the main thread waiting forever
 * in Atomics.wait: a worker whose kernel throws, and a worker killed while the main thread is
 * blocked in a factorization, both end the factorization in a NeurolmmError.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { NeurolmmError } from '../src/errors';
import { minimumDegree } from '../src/linalg/ordering';
import { SupernodalCholesky } from '../src/linalg/supernodal';
import { Kernel, SupernodalPool } from '../src/linalg/supernodal-pool';

const LINUX = fs.existsSync('/proc/thread-self') ? false : 'needs /proc/thread-self (Linux) to see a thread die';

/** A dense 400 x 400 SPD system: one clique, so that its supernodes are wide enough for the pool. */
function denseSystem() {
  const n = 400;
  const a = new Float64Array(n * n);
  for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) a[i + j * n] = (i === j ? n : 0) + Math.cos(i + j) / 4;
  const { structure } = minimumDegree(n, [Int32Array.from({ length: n }, (_, i) => i)]);
  return { a, chol: new SupernodalCholesky(n, structure) };
}

/** Stands in for the pool's private parts a fault test needs. */
type PoolInternals = { threadPool: { workers: { terminate(): Promise<number> }[] }; threadIds: Int32Array; run(...args: unknown[]): void };

test('the pool factors as one thread does while its workers live', () => {
  const { a, chol } = denseSystem();
  const pool = new SupernodalPool(2);
  try {
    const single = chol.work();
    single.matrix.set(a);
    assert.ok(chol.factor(single));
    const work = pool.work(chol);
    work.matrix.set(a);
    assert.ok(chol.factor(work));
    assert.deepEqual(work.matrix, single.matrix);
  } finally {
    void pool.terminate();
  }
});

test('a worker whose kernel throws ends the kernel in a NeurolmmError naming the failure', () => {
  const { a, chol } = denseSystem();
  const pool = new SupernodalPool(2);
  const work = pool.work(chol);
  // a system whose kernel memory cannot be attached: the worker throws, the main thread's share runs
  const broken = { id: 999, structure: chol.structure, memory: null, layout: work.layout };
  const internals = pool as unknown as PoolInternals;
  assert.throws(
    () => internals.run(broken, work.memory, Kernel.PanelRows, 0, 64),
    (e: unknown) => e instanceof NeurolmmError && /lost a thread \(worker thread 1 failed: .*Error/.test(e.message),
  );
  // the pool is dead: later kernels fail at once instead of waiting
  const start = performance.now();
  work.matrix.set(a);
  assert.throws(() => chol.factor(work), /lost a thread/);
  assert.ok(performance.now() - start < 1000);
});

test('a worker killed while the main thread waits for it ends the factorization in a NeurolmmError', { skip: LINUX }, () => {
  const { a, chol } = denseSystem();
  const pool = new SupernodalPool(2);
  const work = pool.work(chol);
  work.matrix.set(a);
  assert.ok(chol.factor(work)); // the worker runs, and has recorded its OS thread
  const internals = pool as unknown as PoolInternals;
  const tid = internals.threadIds[1];
  assert.ok(tid > 0);
  void internals.threadPool.workers[0].terminate();
  // without returning to the event loop (so the worker's exit event cannot warn the pool), wait
  // until its thread is gone, then factor: the main thread must notice, not wait forever
  const deadline = Date.now() + 30_000;
  while (fs.existsSync(`/proc/self/task/${tid}`)) assert.ok(Date.now() < deadline, 'the worker thread did not end');
  work.matrix.set(a);
  assert.throws(
    () => chol.factor(work),
    (e: unknown) => e instanceof NeurolmmError && e.message.includes(`OS thread ${tid} is gone`),
  );
});
