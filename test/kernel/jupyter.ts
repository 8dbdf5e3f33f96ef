/**
 * Test helpers for running the kernel under real Jupyter (Debian's python3-jupyter-client,
 * jupyter-nbconvert, python3-nbclient): finds a Python that has the modules and installs the
 * kernelspec into a temporary prefix that only the spawned Jupyter processes see.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { installKernel } from '../../src/cli/kernel';

export const APT_PACKAGES = 'python3-jupyter-client python3-jupyter-kernel-test jupyter-nbconvert python3-nbclient';

/** NEUROLMM_PYTHON, `python3` on PATH or Debian's /usr/bin/python3, whichever imports `modules`. */
export function findJupyterPython(modules: string[]): string | undefined {
  const candidates = [process.env.NEUROLMM_PYTHON, 'python3', '/usr/bin/python3'].filter((c): c is string => !!c);
  return candidates.find((python) => spawnSync(python, ['-c', `import ${modules.join(', ')}`]).status === 0);
}

export function missingPythonMessage(modules: string[]): string {
  return `no python3 with ${modules.join(', ')} found (CI: apt-get install -y ${APT_PACKAGES}; or set NEUROLMM_PYTHON)`;
}

export interface TestKernel {
  /** Where Jupyter processes run (the notebook directory). */
  workDir: string;
  env: NodeJS.ProcessEnv;
  remove(): void;
}

/** Installs the kernelspec under a temp --prefix and points JUPYTER_PATH at it. */
export function installTestKernel(): TestKernel {
  const root = mkdtempSync(path.join(os.tmpdir(), 'neurolmm-kernel-'));
  installKernel({ prefix: root });
  const workDir = path.join(root, 'work');
  mkdirSync(workDir);
  const jupyterPath = [path.join(root, 'share', 'jupyter'), process.env.JUPYTER_PATH].filter(Boolean).join(path.delimiter);
  return {
    workDir,
    env: { ...process.env, JUPYTER_PATH: jupyterPath, JUPYTER_RUNTIME_DIR: path.join(root, 'runtime') },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * Runs `body` with a Python that imports `modules` and a test kernel installed (removed
 * afterwards); skips the test, saying what is missing, where there is no such Python.
 */
export async function withTestKernel(t: TestContext, modules: string[], body: (python: string, kernel: TestKernel) => void | Promise<void>): Promise<void> {
  const python = findJupyterPython(modules);
  if (!python) {
    t.skip(missingPythonMessage(modules));
    return;
  }
  const kernel = installTestKernel();
  try {
    await body(python, kernel);
  } finally {
    kernel.remove();
  }
}

/** Absolute paths for imports in notebook cells, which run in a temp dir outside the repo. */
export const DIST_DIR = path.resolve(__dirname, '..', '..');
export const REPO_DIR = path.resolve(DIST_DIR, '..');
export const TEST_SOURCE_DIR = path.join(REPO_DIR, 'test', 'kernel');

export interface PythonCheck {
  check: string;
  ok: boolean;
  detail?: string;
  /** Why the check was skipped (a feature the kernel does not claim). */
  skip?: string;
}

/**
 * Runs a Python script of kernel checks (test/kernel/*.py, which print one JSON line per check)
 * against the test kernel; each check becomes a subtest of `t`. Returns the checks and the run.
 */
export async function runPythonChecks(t: TestContext, python: string, kernel: TestKernel, script: string, timeoutMs: number) {
  const run = spawnSync(python, [path.join(TEST_SOURCE_DIR, script), 'neurolmm'], {
    cwd: kernel.workDir,
    env: kernel.env,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  const checks = run.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as PythonCheck);
  assert.ok(checks.length > 0, `${script} ran no check:\n${run.stderr}`);
  for (const { check, ok, detail, skip } of checks) {
    await t.test(check, { skip }, () => assert.ok(ok, detail));
  }
  return { checks, run };
}
