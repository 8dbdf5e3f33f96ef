/**
 * Whole-brain outputs as one set: written under temporary names and renamed when complete, with a
 * manifest; maps of an earlier run refused or replaced (--overwrite), never mixed; a run killed
 * while writing leaves nothing that looks complete; unwritable folders give one clear message.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { BrainMaps } from '../src/brain/fit';
import { lmerBrainSync } from '../src/brain/lmerbrain';
import { MANIFEST_NAME, packageVersion, type Manifest } from '../src/brain/output';
import { SyntheticDataset } from '../src/brain/synthetic';
import { DataError } from '../src/errors';
import { readGifti } from '../src/io/gifti';
import { repoRoot } from './helpers';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-brain-output-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const FORMULA = 'y ~ sex + age + time + (1 | subject)';
const data = new SyntheticDataset({ visits: [10, 10, 10], vertices: 12, seed: 15 });
const fit = lmerBrainSync(FORMULA, data.table, { images: data.matrix(), contrasts: { time: 'time' }, workers: 0 });

const listing = (dir: string) => fs.readdirSync(dir).sort();

test('maps and a manifest; an earlier run in the folder is refused, or replaced with overwrite, never mixed', () => {
  const out = path.join(tmp, 'run');
  const written = fit.write(out);
  assert.deepEqual(listing(out), [...written.map((p) => path.basename(p)), MANIFEST_NAME].sort());
  const manifest = JSON.parse(fs.readFileSync(path.join(out, MANIFEST_NAME), 'utf8')) as Manifest;
  assert.equal(manifest.software, 'neurolmm');
  assert.equal(manifest.version, JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);
  assert.equal(manifest.version, packageVersion());
  assert.equal(manifest.complete, true);
  assert.equal(manifest.model?.formula, FORMULA);
  assert.deepEqual(manifest.model?.contrasts, ['time']);
  assert.deepEqual(
    manifest.maps.map((m) => m.file),
    written.map((p) => path.basename(p)),
  );
  assert.deepEqual(manifest.maps.find((m) => m.name === 'beta')?.volumes, fit.xNames);
  assert.deepEqual(readGifti(path.join(out, 'blmm_vox_conT.func.gii')).arrays[0], fit.map('conT'));

  // a second run into the same folder is refused, naming the earlier files and --overwrite
  const before = listing(out);
  assert.throws(
    () => fit.write(out),
    (e: unknown) => e instanceof DataError && /holds the maps of an earlier run \(blmm_vox_/.test(e.message) && /--overwrite/.test(e.message),
  );
  assert.deepEqual(listing(out), before, 'a refused run changes nothing');

  // another analysis's map is not kept beside the new ones
  fs.writeFileSync(path.join(out, 'blmm_vox_Chi2.nii'), 'from another analysis');
  fs.writeFileSync(path.join(out, 'notes.txt'), 'the user’s own file');
  const reduced = lmerBrainSync('y ~ sex + time + (1 | subject)', data.table, { images: data.matrix(), workers: 0 });
  const rewritten = reduced.write(out, { overwrite: true });
  assert.deepEqual(listing(out), [...rewritten.map((p) => path.basename(p)), MANIFEST_NAME, 'notes.txt'].sort());
  assert.ok(!fs.existsSync(path.join(out, 'blmm_vox_Chi2.nii')), "the other analysis's map is gone");
  const after = JSON.parse(fs.readFileSync(path.join(out, MANIFEST_NAME), 'utf8')) as Manifest;
  assert.equal(after.model?.formula, 'y ~ sex + time + (1 | subject)');
});

test('an unwritable or invalid output folder is one clear DataError, before any map is written', () => {
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, '');
  assert.throws(() => fit.write(file), /^DataError: cannot write the output folder '.*a-file': it, or a folder on its path, is a file$/m);
  assert.throws(() => fit.write(path.join(file, 'out')), /cannot write the output folder '.*a-file\/out': it, or a folder on its path, is a file/);
  const readOnly = path.join(tmp, 'read-only');
  fs.mkdirSync(readOnly);
  fs.chmodSync(readOnly, 0o555);
  if (process.getuid?.() !== 0) {
    // (root writes anyway)
    assert.throws(() => fit.write(readOnly), /cannot write the output folder '.*read-only': permission denied/);
  }
  // the command says the same in one line, no stack trace, before fitting
  const csv = path.join(tmp, 'table.csv');
  fs.writeFileSync(csv, 'y,x\n1,2\n');
  const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  const r = spawnSync(
    process.execPath,
    [cli, 'brain', '--data', csv, '--formula', 'y ~ x + (1 | g)', '--image-column', 'img', '--out', path.join(file, 'out')],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /cannot write the output folder '.*a-file\/out': it, or a folder on its path, is a file/);
  assert.doesNotMatch(r.stderr, /internal error|ENOTDIR|EPERM/);
});

test('a run killed while writing leaves no map under a final name and no manifest', async () => {
  const out = path.join(tmp, 'killed');
  // many large compressed maps, so that writing takes seconds
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const { BrainMaps } = require(${JSON.stringify(path.join(repoRoot, 'dist', 'src', 'brain', 'fit.js'))});
       const nvox = 1_000_000;
       const data = Float32Array.from({ length: nvox }, (_, i) => ((i * 2654435761) % 1000) / 7);
       const maps = Array.from({ length: 16 }, (_, k) => ({ name: 'map' + k, nvol: 1, volumes: ['v'], data }));
       new BrainMaps(nvox, { kind: 'volume', format: 'nifti', dims: [100, 100, 100], nvox, nvol: 1, affine: [[1,0,0,0],[0,1,0,0],[0,0,1,0],[0,0,0,1]] }, maps).write(${JSON.stringify(out)}, { format: 'nii.gz' });`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  // kill it once the first maps are written into its staging folder
  for (let waited = 0; ; waited += 20) {
    const staging = fs.existsSync(out) ? fs.readdirSync(out).find((f) => f.startsWith('.neurolmm-partial-')) : undefined;
    if (staging && fs.readdirSync(path.join(out, staging)).length >= 1) break;
    assert.ok(waited < 120_000 && child.exitCode === null, `the writer never started writing ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  child.kill('SIGKILL');
  await exited;
  const left = listing(out);
  assert.deepEqual(
    left.filter((f) => !f.startsWith('.neurolmm-partial-')),
    [],
    'no map and no manifest under a final name',
  );
  // the next run clears the dead run's staging folder and writes a complete set
  const written = fit.write(out);
  assert.deepEqual(listing(out), [...written.map((p) => path.basename(p)), MANIFEST_NAME].sort());
});

test('derived maps (compareFits) are written as a set too, with no model in the manifest', () => {
  const maps = new BrainMaps(fit.nvox, fit.geometry, [{ name: 'Chi2', nvol: 1, volumes: ['Chi2'], data: new Float32Array(fit.nvox).fill(2) }]);
  const out = path.join(tmp, 'derived');
  assert.deepEqual(
    maps.write(out).map((p) => path.basename(p)),
    ['blmm_vox_Chi2.func.gii'],
  );
  const manifest = JSON.parse(fs.readFileSync(path.join(out, MANIFEST_NAME), 'utf8')) as Manifest;
  assert.equal(manifest.model, undefined);
  assert.deepEqual(manifest.maps, [{ file: 'blmm_vox_Chi2.func.gii', name: 'Chi2', volumes: ['Chi2'] }]);
});
