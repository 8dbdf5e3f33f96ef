/**
 * The library's one thread decision (src/linalg/threads.ts): an explicit count, else
 * setThreadCount's, else NEUROLMM_THREADS, else the cores; the workers of a pool see one thread,
 * and a worker that stops on its own is reported once.
 */
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { NeurolmmError } from '../src/errors';
import { setThreadCount, threadCount, THREADS_VARIABLE, WorkerThreads } from '../src/linalg/threads';

function withVariable(value: string | undefined, run: () => void): void {
  const saved = process.env[THREADS_VARIABLE];
  if (value === undefined) delete process.env[THREADS_VARIABLE];
  else process.env[THREADS_VARIABLE] = value;
  try {
    run();
  } finally {
    if (saved === undefined) delete process.env[THREADS_VARIABLE];
    else process.env[THREADS_VARIABLE] = saved;
  }
}

test('thread count: option, then setThreadCount, then NEUROLMM_THREADS, then every core', () => {
  withVariable(undefined, () => assert.equal(threadCount(), availableParallelism()));
  withVariable('3', () => {
    assert.equal(threadCount(), 3);
    assert.equal(threadCount(0), 0, 'an explicit 0 (the calling thread) wins');
    setThreadCount(5);
    try {
      assert.equal(threadCount(), 5);
      assert.equal(threadCount(2.7), 2);
    } finally {
      setThreadCount(undefined);
    }
    assert.equal(threadCount(), 3);
  });
  withVariable('many', () =>
    assert.throws(
      () => threadCount(),
      (e: unknown) => e instanceof NeurolmmError && /NEUROLMM_THREADS=many/.test(e.message),
    ),
  );
  assert.throws(() => threadCount(-1), NeurolmmError);
  assert.throws(() => setThreadCount(NaN), NeurolmmError);
});

test("a pool's workers count one thread, and a worker that exits on its own is reported once", async () => {
  const threads = path.join(__dirname, '..', 'src', 'linalg', 'threads.js');
  const script = `const { parentPort } = require('node:worker_threads');
    parentPort.postMessage(require(${JSON.stringify(threads)}).threadCount());
    parentPort.once('message', () => process.exit(7));`;
  const deaths: string[] = [];
  const pool = new WorkerThreads(2, script, () => ({ eval: true }), { onDeath: (i, reason) => deaths.push(`${i}: ${reason}`) });
  const counts = await Promise.all(pool.workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  assert.deepEqual(counts, [1, 1]);
  pool.workers[1].postMessage('exit');
  await new Promise((resolve) => pool.workers[1].once('exit', resolve));
  assert.deepEqual(deaths, ['1: exited (code 7)']);
  assert.equal(pool.death, 'worker thread 2 exited (code 7)');
  await pool.terminate();
  assert.deepEqual(deaths.length, 1, 'terminated workers are not deaths');
});
