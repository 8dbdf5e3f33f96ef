/**
 * The folders of src/ are layers: a module may import from its own folder or from a lower layer,
 * never from a higher one, so that there is no cycle between folders and the pipeline reads
 * bottom-up (formula -> frame -> lmm -> inference; brain = the same, vectorised; the API on top).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import * as ts from 'typescript';

const SRC = path.join(__dirname, '..', '..', 'src');

/** Each top-level entry of src/ and its layer; imports go to a strictly lower layer or stay inside. */
const LAYERS: Record<string, number> = {
  errors: 0,
  display: 0,
  stats: 1,
  formula: 1,
  linalg: 1,
  io: 1,
  cluster: 1,
  frame: 2,
  lmm: 3,
  datasets: 3,
  nlme: 4,
  inference: 5,
  brain: 6,
  plots: 6,
  viewers: 6,
  tidy: 7,
  api: 7,
  cli: 8,
  index: 8,
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The top-level entry of src/ a path belongs to ('lmm' for src/lmm/model.ts, 'api' for src/api.ts). */
function topOf(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0].replace(/\.ts$/, '');
}

/** Every relative import of a file (static, `import x = require`, require() and import()), resolved to src/. */
function importsOf(file: string, text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((s) => s.startsWith('.'))
    .map((s) => path.resolve(path.dirname(file), s));
}

/** The imports of a module of src/ that go sideways or up. */
function layerViolations(file: string, text: string): string[] {
  const from = topOf(file);
  return importsOf(file, text)
    .filter((target) => target.startsWith(SRC + path.sep))
    .filter((target) => topOf(target) !== from && !(LAYERS[topOf(target)] < LAYERS[from]))
    .map((target) => `${path.relative(SRC, file)} imports ${path.relative(SRC, target)} (${from} -> ${topOf(target)})`);
}

test('every folder of src/ has a layer', () => {
  const tops = new Set(sourceFiles(SRC).map(topOf));
  assert.deepEqual(
    [...tops].filter((t) => !(t in LAYERS)),
    [],
    'add new folders of src/ to LAYERS',
  );
});

test('imports between the folders of src/ only point down (no upward import, no cycle)', () => {
  const violations = sourceFiles(SRC).flatMap((file) => layerViolations(file, fs.readFileSync(file, 'utf8')));
  assert.deepEqual(violations, []);
});

test('the layer check reports upward and sideways imports in every import form', () => {
  const lmer = path.join(SRC, 'lmm', 'lmer.ts');
  const text = [
    "import { lmerBrain } from '../brain/lmerbrain';",
    "import anova = require('../inference/anova');",
    "const plots = require('../plots');",
    "import { modelFrame } from '../frame/modelframe';",
    "import { ReTerm } from './reterm';",
  ].join('\n');
  assert.deepEqual(layerViolations(lmer, text), [
    'lmm/lmer.ts imports brain/lmerbrain (lmm -> brain)',
    'lmm/lmer.ts imports inference/anova (lmm -> inference)',
    'lmm/lmer.ts imports plots (lmm -> plots)',
  ]);
  assert.deepEqual(layerViolations(path.join(SRC, 'brain', 'fit.ts'), "import { readNifti } from '../viewers/viewer';"), [
    'brain/fit.ts imports viewers/viewer (brain -> viewers)',
  ]);
});
