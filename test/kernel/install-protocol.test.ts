/**
 * A user's install, offline: the library's tarball in a project's node_modules with its
 * dependencies (linked from this repository's node_modules, where npm would put them), no tslab.
 * `neurolmm kernel install` then names the package to install; with neurolmm-jupyter installed as
 * it says (jupyter/ and tslab), it installs, and Jupyter runs a cell on that kernel.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findJupyterPython, missingPythonMessage, REPO_DIR } from './jupyter';

const MODULES = ['jupyter_client'];

/** Links each dependency of a package from the repository's node_modules into `modules`. */
function linkDependencies(dependencies: Record<string, string>, modules: string[], into: string): void {
  for (const name of Object.keys(dependencies)) {
    const target = path.join(into, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.symlinkSync(path.join(REPO_DIR, 'node_modules', name), target);
    modules.push(name);
  }
}

const RUN_CELL = `
import json, sys
from jupyter_client.manager import start_new_kernel
km, kc = start_new_kernel(kernel_name='neurolmm', cwd=sys.argv[1], startup_timeout=120)
try:
    results = []
    code = 'import { lmer, datasets } from "neurolmm";\\nlmer("Reaction ~ Days + (Days | Subject)", datasets.sleepstudy()).theta.map((v) => v.toFixed(4)).join(" ")'
    reply = kc.execute_interactive(code, timeout=180, output_hook=lambda m: results.append(m['content']) if m['msg_type'] in ('execute_result', 'error') else None)
    print(json.dumps({'status': reply['content']['status'], 'results': results}))
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
`;

test('installed from its tarball, kernel install names neurolmm-jupyter; with it installed, a cell runs', (t) => {
  const python = findJupyterPython(MODULES);
  if (!python) return t.skip(missingPythonMessage(MODULES));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-install-'));
  try {
    const project = path.join(root, 'project');
    const modules = path.join(project, 'node_modules');
    const library = path.join(modules, 'neurolmm');
    fs.mkdirSync(library, { recursive: true });
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', root], { cwd: REPO_DIR, encoding: 'utf8' }));
    execFileSync('tar', ['xzf', path.join(root, packed.filename), '-C', library, '--strip-components', '1']);
    const linked: string[] = [];
    linkDependencies(JSON.parse(fs.readFileSync(path.join(library, 'package.json'), 'utf8')).dependencies, linked, modules);
    assert.ok(!linked.includes('tslab'));

    const prefix = path.join(root, 'env');
    const cli = path.join(library, 'dist', 'src', 'cli', 'main.js');
    const refused = spawnSync(process.execPath, [cli, 'kernel', 'install', '--prefix', prefix], { cwd: project, encoding: 'utf8' });
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      new RegExp(`run \`npm install neurolmm-jupyter@${packed.version.replace(/\./g, '\\.')}\` in ${project.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, then`),
    );
    assert.ok(!fs.existsSync(path.join(prefix, 'share', 'jupyter', 'kernels', 'neurolmm')), 'nothing installed');

    // npm install neurolmm-jupyter, as the message says
    const jupyter = path.join(modules, 'neurolmm-jupyter');
    fs.mkdirSync(jupyter);
    for (const entry of ['package.json', 'labextension']) fs.cpSync(path.join(REPO_DIR, 'jupyter', entry), path.join(jupyter, entry), { recursive: true });
    linkDependencies(JSON.parse(fs.readFileSync(path.join(jupyter, 'package.json'), 'utf8')).dependencies, linked, modules);
    const installed = spawnSync(process.execPath, [cli, 'kernel', 'install', '--prefix', prefix], { cwd: project, encoding: 'utf8' });
    assert.equal(installed.status, 0, installed.stderr);
    const spec = JSON.parse(fs.readFileSync(path.join(prefix, 'share', 'jupyter', 'kernels', 'neurolmm', 'kernel.json'), 'utf8'));
    assert.equal(spec.argv[1], path.join(library, 'dist', 'kernel-ext', 'main.js'));
    assert.ok(fs.existsSync(path.join(prefix, 'share', 'jupyter', 'labextensions', 'neurolmm-widgets', 'static')));

    const env = { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), JUPYTER_RUNTIME_DIR: path.join(root, 'runtime') };
    const run = spawnSync(python, ['-c', RUN_CELL, project], { env, encoding: 'utf8', timeout: 300_000 });
    assert.equal(run.status, 0, run.stderr);
    const { status, results } = JSON.parse(run.stdout.trim().split('\n').pop()!);
    assert.equal(status, 'ok', JSON.stringify(results));
    // lme4's theta for sleepstudy: 0.96674 0.01516 0.23090
    assert.equal(results[0].data['text/plain'], "'0.9667 0.0152 0.2309'");
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
