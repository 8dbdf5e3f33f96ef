/**
 * The kernel's Jupyter protocol, driven over ZeroMQ by jupyter_client (test/kernel/protocol.py):
 * execute/display, complete, inspect, comms both ways with binary buffers, comm_info, the widget
 * protocol, errors, aborts, interrupts and shutdown. Each Python check becomes a subtest.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { TEST_SOURCE_DIR, withTestKernel } from './jupyter';

const MODULES = ['jupyter_client'];

test('kernel protocol with jupyter_client', (t) =>
  withTestKernel(t, MODULES, async (python, kernel) => {
    const run = spawnSync(python, [path.join(TEST_SOURCE_DIR, 'protocol.py'), 'neurolmm'], {
      cwd: kernel.workDir,
      env: kernel.env,
      encoding: 'utf8',
      timeout: 300_000,
    });
    const checks = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { check: string; ok: boolean; detail: string });
    for (const { check, ok, detail } of checks) {
      await t.test(check, () => assert.ok(ok, detail));
    }
    // The last check runs in `finally`: without it the script died before finishing.
    assert.equal(checks.at(-1)?.check, 'shutdown', `protocol.py did not finish:\n${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
  }));
