/**
 * AFNI 3dLME scripts as input (src/brain/afni.ts): the committed example (test/fixtures/afni-3dlme/
 * model.txt, TENT-basis betas with AR(1) over the basis order) run on synthetic NIfTI images, its
 * maps checked against the ROI lme() fit of sampled voxels (nlme's anova F tests of the SS type
 * asked, the GLTs' t, the GLFs' F), the GLT codings against the fitted model's own predictions
 * (sum-coded factors, levels averaged as phia does), the command line, and one-line errors
 * naming the file and line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { afniLME, readAfniModel } from '../src/brain/afni';
import { VoxelStatus } from '../src/brain/layout';
import { DataError } from '../src/errors';
import { readNifti, writeNifti } from '../src/io/nifti';
import { nlmeAnova } from '../src/nlme/inference';
import { RRandom } from '../src/stats/rng';
import { fixture, repoRoot } from './helpers';

const DIMS = [3, 2, 2];
const NVOX = 12;
const SUBJECTS = 12;
const BASIS = 5;

/** A folder with the example script, its images (12 subjects x 5 basis functions) and mask. */
function exampleFolder(script = fs.readFileSync(fixture('afni-3dlme/model.txt'), 'utf8')): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-afni-'));
  fs.mkdirSync(path.join(dir, 'images'));
  const rng = new RRandom(16);
  const values = Array.from({ length: SUBJECTS * BASIS }, () => new Float32Array(NVOX));
  for (let v = 0; v < NVOX; v++)
    for (let s = 0; s < SUBJECTS; s++) {
      const b = 0.5 * rng.normal();
      let e = rng.normal();
      for (let t = 0; t < BASIS; t++) {
        if (t > 0) e = 0.5 * e + Math.sqrt(0.75) * rng.normal();
        const hrf = ((v % 4) / 2) * Math.sin((Math.PI * t) / (BASIS - 1)) + (s % 2 ? 0.4 : 0);
        values[s * BASIS + t][v] = hrf + b + e;
      }
    }
  for (let s = 0; s < SUBJECTS; s++)
    for (let t = 0; t < BASIS; t++)
      writeNifti(path.join(dir, 'images', `s${String(s + 1).padStart(2, '0')}_t${t}.nii`), { dims: DIMS, data: values[s * BASIS + t] });
  const mask = new Float32Array(NVOX).fill(1);
  mask[NVOX - 1] = 0;
  writeNifti(path.join(dir, 'mask.nii'), { dims: DIMS, data: mask });
  fs.writeFileSync(path.join(dir, 'model.txt'), script);
  return dir;
}

const close = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('the example 3dLME script: F maps (marginal), GLT t and GLF F maps as NIfTI, equal to lme() per voxel', async () => {
  const dir = exampleFolder();
  const { model, fit, out, written } = await afniLME(path.join(dir, 'model.txt'));
  assert.equal(out, path.join(dir, 'hrfOut'));
  assert.equal(model.anova, 'marginal');
  assert.equal(model.correlation?.kind, 'corAR1');
  assert.deepEqual(fit.xNames, ['Timet0', 'Timet1', 'Timet2', 'Timet3', 'Timet4']);
  // GLTs and GLF as contrast rows; with -corStr every coefficient gets its t map too (3dLME's basis-function output)
  const byName = Object.fromEntries(fit.contrasts.map((c) => [c.name, c]));
  assert.deepEqual(byName.peak.rows, [[0, 0, 1, 0, 0]]);
  assert.deepEqual(byName.rise.rows, [[-1, 0, 1, 0, 0]]);
  assert.equal(byName.late.kind, 'F');
  assert.deepEqual(byName.late.rows, [
    [0, 0, 1, 0, 0],
    [0, 0, 0, 1, 0],
    [0, 0, 0, 0, 1],
  ]);
  assert.deepEqual(
    fit.contrasts.filter((c) => c.kind === 'T').map((c) => c.name),
    ['peak', 'rise', 'Timet0', 'Timet1', 'Timet2', 'Timet3', 'Timet4'],
  );
  for (const name of ['anovaF', 'conT', 'conF', 'Phi', 'beta']) assert.ok(fs.existsSync(path.join(out, `hrfOut_${name}.nii`)), `${name} written`);
  assert.ok(written.length > 10);
  assert.equal(fit.status[NVOX - 1], VoxelStatus.outsideMask);
  const conT = readNifti(path.join(out, 'hrfOut_conT.nii'));
  assert.deepEqual(conT.dims.slice(0, 3), DIMS);
  for (const i of [0, 5, 10]) {
    const roi = fit.voxel(i);
    assert.equal(roi.corStruct().Phi.toFixed(5), fit.map('Phi')[i].toFixed(5));
    nlmeAnova(roi, { type: 'marginal' }).rows.forEach((r) => close(fit.map('anovaF', r.term)[i], r.F, 1e-5, `voxel ${i} F ${r.term}`));
    const rise = nlmeAnova(roi, { L: [-1, 0, 1, 0, 0] }).rows[0];
    close(fit.map('conT', 'rise')[i] ** 2, rise.F, 1e-5, `voxel ${i} rise t^2`);
    close(conT.data[1 * NVOX + i], fit.map('conT', 'rise')[i], 1e-6, `voxel ${i} conT file`);
    const late = nlmeAnova(roi, { L: byName.late.rows }).rows[0];
    close(fit.map('conF', 'late')[i], late.F, 1e-5, `voxel ${i} late F`);
    assert.equal(fit.map('conF_swedf', 'late')[i], late.denDF);
  }
});

test('3dLME codings: sum-coded factors, levels averaged, sequential F tests, gls with -ranEff NA', async () => {
  const script = fs
    .readFileSync(fixture('afni-3dlme/model.txt'), 'utf8')
    .replace("-model  '0+Time'", "-model  'Group*Time'")
    .replace("-corStr 'order : AR1'", '')
    .replace('-SS_type 3', '-SS_type 1')
    .replace(
      /-num_glt 2[^]*?-dataTable/,
      "-num_glt 2 -gltLabel 1 'pat-ctr' -gltCode 1 'Group : 1*patient -1*control' \\\n -gltLabel 2 'pat_t2' -gltCode 2 'Group : 1*patient Time : 1*t2' \\\n -num_glf 1 -glfLabel 1 'early' -glfCode 1 'Time : 1*t1 -1*t0 & 1*t2 -1*t0' -dataTable",
    );
  const dir = exampleFolder(script);
  const { model, fit } = await afniLME(path.join(dir, 'model.txt'), { workers: 0 });
  assert.equal(model.anova, 'sequential');
  assert.deepEqual(model.coding, { Group: 'sum', Time: 'sum' });
  assert.deepEqual(fit.mapInfo('anovaF').volumes, ['(Intercept)', 'Group', 'Time', 'Group:Time']);
  const i = 2;
  const roi = fit.voxel(i);
  // the GLTs against the model's own predictions on the reference grid (phia's averaging)
  const grid = (group: string) => ({
    Group: Array(BASIS).fill(group),
    Time: Array.from({ length: BASIS }, (_, t) => `t${t}`),
    Subj: Array(BASIS).fill('s01'),
    order: Array.from({ length: BASIS }, (_, t) => t),
  });
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
  const patient = roi.predict(grid('patient'), { level: 0 });
  const control = roi.predict(grid('control'), { level: 0 });
  close(fit.map('con', 'pat-ctr')[i], mean(patient) - mean(control), 1e-5, 'pat-ctr');
  close(fit.map('con', 'pat_t2')[i], patient[2], 1e-5, 'pat_t2');
  nlmeAnova(roi).rows.forEach((r) => close(fit.map('anovaF', r.term)[i], r.F, 1e-5, `sequential F ${r.term}`));
  const early = fit.contrasts.find((c) => c.name === 'early')!;
  close(fit.map('conF', 'early')[i], nlmeAnova(roi, { L: early.rows }).rows[0].F, 1e-5, 'early F');

  const glsDir = exampleFolder(script.replace("-ranEff '~1'", '-ranEff NA'));
  const gls = await afniLME(path.join(glsDir, 'model.txt'), { workers: 0 });
  assert.equal(gls.fit.voxel(i).kind, 'gls');
  assert.ok(!gls.fit.mapNames.includes('Phi'));
});

test("the first 3dLME's model.txt (Key:value lines): VarStr, CorStr, SS, pairwise contrasts", async () => {
  const dir = exampleFolder(fs.readFileSync(fixture('afni-3dlme/model-2008.txt'), 'utf8'));
  const { model, fit, out } = await afniLME(path.join(dir, 'model.txt'), { workers: 0 });
  assert.equal(out, path.join(dir, 'groupOut'));
  assert.equal(model.anova, 'sequential');
  assert.equal(model.weights?.kind, 'varIdent');
  assert.equal(model.correlation?.kind, 'corAR1');
  // R's default (treatment) coding, as the 2008 script kept
  assert.deepEqual(model.coding, {});
  assert.deepEqual(fit.mapInfo('varIdent').volumes, ['control', 'patient']);
  const i = 3;
  const roi = fit.voxel(i);
  close(fit.map('varIdent', 'patient')[i], roi.varStruct().patient, 1e-5, 'varIdent ratio');
  close(fit.map('Phi')[i], roi.corStruct().Phi, 1e-5, 'Phi');
  nlmeAnova(roi).rows.forEach((r) => close(fit.map('anovaF', r.term)[i], r.F, 1e-5, `sequential F ${r.term}`));
  // contrast(fm, a, b, type = "average"): predictions averaged over the levels given as 0
  const grid = (group: string) => ({
    Group: Array(BASIS).fill(group),
    Time: Array.from({ length: BASIS }, (_, t) => `t${t}`),
    Subj: Array(BASIS).fill('s01'),
    order: Array.from({ length: BASIS }, (_, t) => t),
  });
  const patient = roi.predict(grid('patient'), { level: 0 });
  const control = roi.predict(grid('control'), { level: 0 });
  const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;
  close(fit.map('con', 'patient-control')[i], mean(patient) - mean(control), 1e-5, 'patient-control');
  close(fit.map('con', 'patient-control at t2')[i], patient[2] - control[2], 1e-5, 'at t2');
});

test('neurolmm brain --afni model.txt writes the maps and prints the summary', () => {
  const dir = exampleFolder();
  const cli = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  const out = path.join(dir, 'cli-out');
  const r = spawnSync(process.execPath, [cli, 'brain', '--afni', path.join(dir, 'model.txt'), '--out', out, '--quiet'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Correlation: corAR1\(~order \| Subj\)/);
  assert.ok(fs.existsSync(path.join(out, 'cli-out_anovaF.nii')));
  const bad = spawnSync(process.execPath, [cli, 'brain', '--afni', path.join(dir, 'model.txt'), '--formula', 'y ~ 1'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--formula cannot be combined with --afni/);
});

test('bad 3dLME scripts: one message naming the file and line', () => {
  const original = fs.readFileSync(fixture('afni-3dlme/model.txt'), 'utf8');
  const cases: [string, RegExp][] = [
    [original.replace('-SS_type 3', '-SS_type 2'), /model\.txt:10: -SS_type must be 1 \(sequential\) or 3 \(marginal\), got '2'/],
    [original.replace("'Time : 1*t2 -1*t0'", "'Time : 1*t2 -1*t9'"), /model\.txt:14: -gltCode 2: 't9' is not a level of 'Time' \(t0, t1, t2, t3, t4\)/],
    [original.replace('-num_glt 2', '-num_glt 3'), /model\.txt:12: -num_glt says 3, but 2 GLTs are given/],
    [original.replace('-jobs 1', '-jobs 1 -vVars age'), /model\.txt:4: 3dLME's -vVars is not supported/],
    [original.replace('-jobs 1', '-jobz 1'), /model\.txt:4: unknown option '-jobz'/],
    [original.replace('order InputFile', 'order File'), /model\.txt:18: the data table's header must start with Subj and end with InputFile/],
    [original.replace('s01   control  t2    2', 's01   control  t2'), /model\.txt:21: 4 values for the 5 columns of the header/],
    [
      original.replace('images/s01_t3.nii', "s01+tlrc'[t3#0_Coef]'"),
      /model\.txt:22: InputFile 's01\+tlrc\[t3#0_Coef\]': AFNI datasets and sub-brick selectors are not read/,
    ],
    [original.replace("'order : AR1'", "'order : AR2'"), /model\.txt:9: -corStr 'order : AR2': the structure must be AR1, ARMA\(p,q\) or CS/],
    [original.replace("'Time : 1*t2'", "'Time 1*t2'"), /model\.txt:13: -gltCode 1: 'Time 1\*t2' must start with a variable and a colon/],
  ];
  const old = fs.readFileSync(fixture('afni-3dlme/model-2008.txt'), 'utf8');
  cases.push(
    [old.replace('SS:sequential', 'SS:typeII'), /model\.txt:9: SS: must be sequential or marginal, not 'typeII'/],
    [old.replace('CorStr:1~order|Subj', 'CorStr:4~order|Subj'), /model\.txt:8: CorStr: is 0 or 1, 2 or 3 with the order's formula/],
    [
      old.replace('patient*t2-control*t2', 'patient*t2-control'),
      /model\.txt:13: the contrast of line 13: 'control' has 1 values for the 2 model variables \(Group\*Time\)/,
    ],
    [old.replace('patient*0-control*0\n', ''), /model\.txt:12: a contrast needs two lines/],
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-afni-bad-'));
  const file = path.join(dir, 'model.txt');
  for (const [script, message] of cases) {
    fs.writeFileSync(file, script);
    assert.throws(
      () => readAfniModel(file),
      (e: Error) => e instanceof DataError && message.test(e.message) && !e.message.includes('\n'),
      `expected ${message}`,
    );
  }
});
