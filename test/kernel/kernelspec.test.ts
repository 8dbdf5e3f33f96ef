/** `installKernel` writes a kernelspec Jupyter can start without Python, where Jupyter looks. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { installKernel, kernelLauncherPath, kernelPackagesProblem } from '../../src/cli/kernel';
import { NeurolmmError } from '../../src/errors';

function withTempDir(run: (dir: string) => void): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'neurolmm-spec-'));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('--prefix installs DIR/share/jupyter/kernels/neurolmm with absolute node and launcher paths', () => {
  withTempDir((prefix) => {
    const dir = installKernel({ prefix });
    assert.equal(dir, path.join(prefix, 'share', 'jupyter', 'kernels', 'neurolmm'));
    const spec = JSON.parse(readFileSync(path.join(dir, 'kernel.json'), 'utf8'));
    assert.deepEqual(spec, {
      argv: [process.execPath, kernelLauncherPath(), '--connection-file', '{connection_file}'],
      display_name: 'neurolmm (TypeScript)',
      language: 'typescript',
      interrupt_mode: 'signal',
      metadata: { debugger: false },
    });
    assert.ok(path.isAbsolute(kernelLauncherPath()) && existsSync(kernelLauncherPath()));
    assert.equal(installKernel({ prefix, name: 'lmm-dev' }), path.join(prefix, 'share', 'jupyter', 'kernels', 'lmm-dev'));
  });
});

test('default and --user install into the user Jupyter data dir', () => {
  withTempDir((dataDir) => {
    const saved = process.env.JUPYTER_DATA_DIR;
    process.env.JUPYTER_DATA_DIR = dataDir;
    try {
      assert.equal(installKernel(), path.join(dataDir, 'kernels', 'neurolmm'));
      assert.equal(installKernel({ user: true }), path.join(dataDir, 'kernels', 'neurolmm'));
    } finally {
      if (saved === undefined) delete process.env.JUPYTER_DATA_DIR;
      else process.env.JUPYTER_DATA_DIR = saved;
    }
  });
});

test('bad kernel install options are user errors', () => {
  assert.throws(
    () => installKernel({ user: true, prefix: '/tmp/x' }),
    (e) => e instanceof NeurolmmError && /either --user or --prefix/.test(e.message),
  );
  assert.throws(
    () => installKernel({ prefix: '/tmp/x', name: 'a b' }),
    (e) => e instanceof NeurolmmError && /kernel name 'a b'/.test(e.message),
  );
});

test('the launcher explains its usage when started without a connection file', () => {
  const run = spawnSync(process.execPath, [kernelLauncherPath()], { encoding: 'utf8' });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /--connection-file/);
});

test('without tslab or the JupyterLab extension, kernel install says what to install, and where', () => {
  const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8'));
  const root = path.resolve(__dirname, '..', '..', '..');
  const install = `run \`npm install neurolmm-jupyter@${version}\` in ${root}, then \`npx neurolmm kernel install\` again`;
  assert.equal(kernelPackagesProblem({ tslab: true, labExtension: true }), undefined);
  assert.equal(
    kernelPackagesProblem({ tslab: false, labExtension: false }),
    `the Jupyter kernel needs tslab 1.0.22 (with zeromq) and the viewers' JupyterLab extension, which \`npm install neurolmm\` leaves out: ${install}`,
  );
  assert.match(kernelPackagesProblem({ tslab: false, labExtension: true })!, /^the Jupyter kernel needs tslab 1\.0\.22 \(with zeromq\), which/);
  assert.match(kernelPackagesProblem({ tslab: true, labExtension: false })!, /^the Jupyter kernel needs the viewers' JupyterLab extension, which/);
});
