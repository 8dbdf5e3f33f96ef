/**
 * The package boundary: every subpath of the exports map loads by name as CommonJS and as an ES
 * module with the same exports; the main entry is the analysis API (no internals) and does not
 * load the kernel's dependencies; the tarball ships what the exports map points at and no source
 * maps (their sources are not shipped); installing it pulls neither tslab, zeromq nor the
 * JupyterLab extension, which the neurolmm-jupyter package (jupyter/) holds.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

const ROOT = path.join(__dirname, '..', '..');
interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as PackageJson & {
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

/** The files `npm pack` would put in the tarball of the package at `dir`. */
function packedFiles(dir: string): Set<string> {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8' })) as {
    files: { path: string }[];
  }[];
  return new Set(packed.files.map((f) => f.path));
}

/**
 * The packages `npm install` of this package pulls, by the lockfile's resolution: its dependencies
 * and theirs (optional ones too, and peers unless optional), each found as Node would from its
 * dependent's folder.
 */
function installedClosure(): Set<string> {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, PackageJson> };
  const needs = (p: PackageJson) => [
    ...Object.keys({ ...p.dependencies, ...p.optionalDependencies }),
    ...Object.keys(p.peerDependencies ?? {}).filter((name) => !p.peerDependenciesMeta?.[name]?.optional),
  ];
  const pulled = new Set<string>();
  const visit = (from: string, p: PackageJson) => {
    for (const name of needs(p)) {
      // node_modules of the dependent, then of each folder above it
      let dir = from;
      let at = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      while (!lock.packages[at] && dir) {
        dir = dir.includes('/node_modules/') ? dir.slice(0, dir.lastIndexOf('/node_modules/')) : '';
        at = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      }
      if (!lock.packages[at] || pulled.has(at)) continue;
      pulled.add(at);
      visit(at, lock.packages[at]);
    }
  };
  visit('', pkg);
  return new Set([...pulled].map((at) => at.slice(at.lastIndexOf('node_modules/') + 'node_modules/'.length)));
}

test('installing the library pulls neither tslab nor zeromq: they come with neurolmm-jupyter', () => {
  const pulled = installedClosure();
  for (const name of ['danfojs', 'ml-matrix', 'plotly.js-dist-min']) assert.ok(pulled.has(name), `${name} is installed with neurolmm`);
  assert.deepEqual(
    [...pulled].filter((name) => /^(tslab|zeromq|@tslab\/|@jupyterlab\/|@jupyter-widgets\/)/.test(name)),
    [],
  );
  assert.deepEqual(pkg.peerDependencies, { tslab: '1.0.22' });
  assert.deepEqual(pkg.peerDependenciesMeta, { tslab: { optional: true } });
});

test('neurolmm-jupyter (jupyter/) ships the JupyterLab extension and brings the tslab the kernel wraps', () => {
  const dir = path.join(ROOT, 'jupyter');
  const jupyter = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;
  assert.equal(jupyter.name, 'neurolmm-jupyter');
  assert.equal(jupyter.version, pkg.version);
  assert.deepEqual(jupyter.dependencies, pkg.peerDependencies);
  assert.deepEqual(jupyter.peerDependencies, { neurolmm: pkg.version });
  const files = packedFiles(dir);
  for (const file of ['package.json', 'labextension/package.json', 'labextension/install.json']) assert.ok(files.has(file), file);
  assert.ok(
    [...files].some((f) => /^labextension\/static\/remoteEntry\.[0-9a-f]+\.js$/.test(f)),
    'the federated extension',
  );
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'labextension', 'install.json'), 'utf8')).packageName, 'neurolmm-jupyter');
});

test('the tarball has the files the exports map names and no source maps, and no JupyterLab extension', () => {
  const files = packedFiles(ROOT);
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
  // the viewers' standalone pages inline the front-end bundle, which reads its module's name and version
  for (const file of ['widgets/dist/embed.js', 'widgets/package.json']) assert.ok(files.has(file), file);
  assert.deepEqual(
    [...files].filter((f) => f.startsWith('widgets/dist/labextension/') || f.startsWith('jupyter/')),
    [],
  );
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
