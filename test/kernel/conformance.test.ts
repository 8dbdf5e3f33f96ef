/**
 * Jupyter's own kernel test suite (jupyter_kernel_test) against the neurolmm kernel, plus bursts of
 * requests that must each get exactly one reply (test/kernel/conformance.py). Each Python test
 * becomes a subtest.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runPythonChecks, withTestKernel } from './jupyter';

test('jupyter_kernel_test conformance', (t) =>
  withTestKernel(t, ['jupyter_client', 'jupyter_kernel_test'], async (python, kernel) => {
    const { run } = await runPythonChecks(t, python, kernel, 'conformance.py', 600_000);
    assert.equal(run.status, 0, run.stderr);
  }));
