/**
 * The kernel's Jupyter protocol, driven over ZeroMQ by jupyter_client (test/kernel/protocol.py):
 * execute/display, complete, inspect, comms both ways with binary buffers, comm_info, the widget
 * protocol, errors, aborts, interrupts and shutdown. Each Python check becomes a subtest.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runPythonChecks, withTestKernel } from './jupyter';

test('kernel protocol with jupyter_client', (t) =>
  withTestKernel(t, ['jupyter_client'], async (python, kernel) => {
    const { checks, run } = await runPythonChecks(t, python, kernel, 'protocol.py', 300_000);
    // The last check runs in `finally`: without it the script died before finishing.
    assert.equal(checks.at(-1)?.check, 'shutdown', `protocol.py did not finish:\n${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
  }));
