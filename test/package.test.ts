/**
 * The package boundary: every subpath of the exports map loads by name as CommonJS and as an ES
 * module with the same exports; the main entry is the analysis API (no internals) and does not
 * load the kernel's dependencies; the tarball ships what the exports map points at and no source
 * maps (their sources are not shipped).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.join(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; import: string; require: string }>;
  typesVersions: Record<string, Record<string, string[]>>;
};
const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json');

/** A name each entry must export. */
const SAMPLE: Record<string, string> = {
  '.': 'lmer',
  './brain': 'lmerBrain',
  './io': 'readNifti',
  './plots': 'caterpillarPlot',
  './viewers': 'SurfaceViewer',
  './inference': 'doolittle',
  './stats': 'tQuantile',
  './kernel': 'installKernel',
};

const specifier = (subpath: string) => (subpath === '.' ? 'neurolmm' : `neurolmm/${subpath.slice(2)}`);

/** Runs a script in a fresh node from the package root (where `neurolmm` names this package). */
function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' });
}

test('every subpath has a type declaration, a CommonJS file and an ES module', () => {
  assert.deepEqual(subpaths.sort(), Object.keys(SAMPLE).sort());
  for (const subpath of subpaths) {
    const target = pkg.exports[subpath];
    assert.equal(typeof target, 'object', subpath);
    const { types, import: esm, require: cjs } = target as { types: string; import: string; require: string };
    for (const file of [types, esm, cjs]) assert.ok(fs.existsSync(path.join(ROOT, file)), `${subpath}: ${file} is missing`);
    if (subpath !== '.') assert.deepEqual(pkg.typesVersions['*'][subpath.slice(2)], [types.slice(2)], `${subpath}: typesVersions`);
  }
});

test('each subpath imports by name from an ES module with the CommonJS exports', () => {
  for (const subpath of subpaths) {
    const name = specifier(subpath);
    const script = `import * as m from '${name}'; import { createRequire } from 'node:module';
      const cjs = createRequire(process.cwd() + '/')('${name}');
      console.log(JSON.stringify({ esm: Object.keys(m).filter((k) => k !== '__esModule').sort(), cjs: Object.keys(cjs).sort(), sample: typeof m['${SAMPLE[subpath]}'] }));`;
    // (Node's ES view of a CommonJS module also names its __esModule marker)
    const { esm, cjs, sample } = JSON.parse(node(['--input-type=module', '-e', script]));
    assert.notEqual(sample, 'undefined', `${name} exports ${SAMPLE[subpath]}`);
    assert.deepEqual(esm, cjs, `${name}: ES module and CommonJS exports differ`);
  }
});

test("require('neurolmm') is the analysis API and loads neither tslab, zeromq nor the kernel", () => {
  const script = `const m = require('neurolmm');
    console.log(JSON.stringify({ names: Object.keys(m), loaded: Object.keys(require.cache) }));`;
  const { names, loaded } = JSON.parse(node(['-e', script])) as { names: string[]; loaded: string[] };
  assert.deepEqual(
    loaded.filter((f) => /[\\/](tslab|zeromq|@tslab)[\\/]|kernel-ext/.test(f)),
    [],
  );
  for (const name of ['lmer', 'lm', 'anova', 'contrast', 'ranef', 'confint', 'lmerBrain', 'readNifti', 'SurfaceViewer', 'datasets'])
    assert.ok(names.includes(name), name);
  for (const internal of [
    'doolittle',
    'richardsonHessian',
    'richardsonJacobian',
    'varparInference',
    'type3Hypotheses',
    'tTwoSided',
    'satterthwaiteCoefColumns',
  ])
    assert.ok(!names.includes(internal), `${internal} is an internal`);
});

test('the tarball has the files the exports map names and no source maps', () => {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })) as {
    files: { path: string }[];
  }[];
  const files = new Set(packed.files.map((f) => f.path));
  assert.deepEqual(
    [...files].filter((f) => f.endsWith('.map')),
    [],
  );
  assert.deepEqual(
    [...files].filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')),
    [],
    'TypeScript sources',
  );
  for (const subpath of subpaths) {
    const target = pkg.exports[subpath] as Record<string, string>;
    for (const file of Object.values(target)) assert.ok(files.has(file.slice(2)), `${file} is not in the tarball`);
  }
  for (const file of ['LICENSE', 'dist/src/linalg/kernels.wasm', 'src/datasets/sleepstudy.csv', 'dist/src/cli/main.js']) assert.ok(files.has(file), file);
});

test("the kernel resolves the package's subpaths for cells' imports", async () => {
  const { libraryPath } = await import('../kernel-ext/library-module');
  for (const subpath of subpaths) {
    const file = libraryPath(specifier(subpath))!;
    assert.equal(path.relative(ROOT, file), subpath === '.' ? '' : (pkg.exports[subpath] as { require: string }).require.slice(2));
  }
  assert.equal(libraryPath('neurolmm/src/datasets/sleepstudy.csv'), path.join(ROOT, 'src/datasets/sleepstudy.csv'));
  assert.equal(libraryPath('danfojs'), undefined);
});
