/**
 * The whole-brain engine on image files: NIfTI volumes and BLMM-style .dat surfaces written by the
 * synthetic generator, the `neurolmm brain` command (3dLME-style table and BLMM input file), maps
 * read back with the I/O readers and compared with the in-memory fit, BLMM's output layout, and
 * clear errors for bad files before any fitting.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { lmerBrain, lmerBrainSync } from '../src/brain/lmerbrain';
import { SyntheticDataset } from '../src/brain/synthetic';
import { runBrain } from '../src/cli/brain';
import { DataError } from '../src/errors';
import { modelFrame } from '../src/frame/modelframe';
import { readCSV, toTable } from '../src/frame/table';
import { readBlmmResults } from '../src/io/blmm';
import { readGifti } from '../src/io/gifti';
import { readNifti } from '../src/io/nifti';

const FORMULA = 'y ~ sex + age + time + nih + site + (1 | subject)';
const VISITS: [number, number, number] = [10, 40, 30];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-brain-io-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI with its stdout captured. */
async function cli(args: string[]): Promise<string> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string) => {
    out += chunk;
    return true;
  }) as typeof process.stdout.write;
  try {
    await runBrain([...args, '--quiet', '--workers', '0']);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, what: string, tolerance = 1e-6): void {
  assert.equal(a.length, b.length, `${what} length`);
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(b[i])) assert.ok(Number.isNaN(a[i]), `${what}[${i}] should be NaN`);
    else assert.ok(Math.abs(a[i] - b[i]) <= tolerance * Math.max(1, Math.abs(b[i])), `${what}[${i}] ${a[i]} vs ${b[i]}`);
  }
}

test('brain files: NIfTI volumes through the CLI, maps with the input affine equal the in-memory fit', async () => {
  const data = new SyntheticDataset({ visits: VISITS, medialWall: 0, patchy: 0, volume: [6, 5, 4], seed: 3 });
  const dir = path.join(tmp, 'volume');
  const { table } = data.writeFiles(dir);
  const out = path.join(tmp, 'volume-out');
  const stdout = await cli([
    '--data',
    table,
    '--formula',
    FORMULA,
    '--image-column',
    'InputFile',
    '--image-dir',
    dir,
    '--out',
    out,
    '--contrast',
    'time=time',
    '--contrast',
    'sexage=[[0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],[0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]]',
  ]);
  assert.match(stdout, /Wrote 19 maps/);
  const inMemory = lmerBrainSync(FORMULA, data.table, {
    images: data.matrix(),
    contrasts: {
      time: 'time',
      sexage: [
        [0, 1, ...Array(21).fill(0)],
        [0, 0, 1, ...Array(20).fill(0)],
      ],
    },
  });
  // voxels outside the ellipsoid are 0 in every image: no data, not fitted
  assert.ok(inMemory.counts().fitted > 40 && inMemory.counts().fitted < 120);
  for (const name of ['beta', 'sigma2', 'D', 'llh', 'conT', 'conTlp', 'conT_swedf', 'conF', 'conFlp', 'n', 'mask']) {
    const image = readNifti(path.join(out, `blmm_vox_${name}.nii`));
    assert.deepEqual(image.dims.slice(0, 3), [6, 5, 4]);
    assert.deepEqual(image.affine, data.geometry.affine);
    close(image.data, inMemory.map(name), name, 1e-5);
  }
});

test('brain files: BLMM-style .dat surfaces give BLMM .dat outputs (vertex-major, int32 n/mask/edf)', async () => {
  const data = new SyntheticDataset({ visits: VISITS, medialWall: 0, patchy: 0, vertices: 40, seed: 6 });
  const dir = path.join(tmp, 'surface');
  const { table } = data.writeFiles(dir);
  const out = path.join(tmp, 'surface-out');
  const p = modelFrame('~ sex + age + time + nih + site', toTable(data.table), { responseOptional: true }).xNames.length;
  const unit = (j: number) => Array.from({ length: p }, (_, i) => (i === j ? 1 : 0)).join(',');
  await cli([
    '--data',
    table,
    '--formula',
    FORMULA,
    '--image-column',
    'InputFile',
    '--image-dir',
    dir,
    '--out',
    out,
    '--contrast',
    `Intercept=${unit(0)}`,
    '--contrast',
    'Sex=sexM',
    '--contrast',
    `Age=${unit(2)}`,
    '--contrast',
    'Time=time',
    '--contrast',
    'NIH=nih',
  ]);
  const results = readBlmmResults(out, { nvertices: 40 });
  const inMemory = lmerBrainSync(FORMULA, data.table, {
    images: data.matrix(),
    contrasts: { Intercept: 'Intercept', Sex: 'sexM', Age: 'age', Time: 'time', NIH: 'nih' },
  });
  assert.equal(results.map('beta').nvol, p);
  assert.equal(results.map('con').nvol, 5);
  assert.equal(results.map('D').nvol, 1);
  assert.ok(results.map('n').data instanceof Int32Array);
  assert.ok(results.map('mask').data instanceof Int32Array);
  assert.equal(results.map('edf').data[0], data.nimages - p);
  for (const name of ['beta', 'con', 'conSE', 'conT', 'conTlp', 'conT_swedf', 'sigma2', 'D', 'llh']) {
    const nvol = results.map(name).nvol;
    for (let v = 0; v < nvol; v++) close(results.volume(name, v), inMemory.map(name, v), `${name}[${v}]`, 1e-5);
  }
});

test('brain files: the layout matches the BLMM demonstration outputs', { skip: demoSkip() }, async () => {
  const demo = readBlmmResults(path.join(demoDir(), 'results_lh_des1'));
  // seed 8: all 19 sites occur, so p = 23 as in the demonstration's design
  const data = new SyntheticDataset({ visits: VISITS, medialWall: 0, patchy: 0, vertices: 10, seed: 8 });
  const dir = path.join(tmp, 'layout');
  const { table } = data.writeFiles(dir);
  const out = path.join(tmp, 'layout-out');
  await cli([
    '--data',
    table,
    '--formula',
    FORMULA,
    '--image-column',
    'InputFile',
    '--image-dir',
    dir,
    '--out',
    out,
    '--contrast',
    'Intercept=Intercept',
    '--contrast',
    'Sex=sexM',
    '--contrast',
    'Age=age',
    '--contrast',
    'Time=time',
    '--contrast',
    'NIH=nih',
  ]);
  const ours = readBlmmResults(out, { nvertices: 10 });
  for (const [name, map] of demo.maps) {
    assert.ok(ours.maps.has(name), `missing map ${name}`);
    assert.equal(ours.map(name).nvol, map.nvol, `volumes of ${name}`);
    assert.equal(ours.map(name).data.constructor, map.data.constructor, `type of ${name}`);
  }
  // BLMM's edf is n - p, as ours
  const i = demo.map('mask').data.indexOf(1);
  assert.equal(demo.map('edf').data[i], demo.map('n').data[i] - demo.map('beta').nvol);
});

function demoDir(): string {
  return process.env.NEUROLMM_BLMM_DEMO ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'data', 'blmm-demo');
}

function demoSkip(): string | false {
  return fs.existsSync(path.join(demoDir(), 'results_lh_des1')) ? false : `BLMM demo outputs not found at ${demoDir()} (set NEUROLMM_BLMM_DEMO)`;
}

test('brain files: a BLMM input file (X, Z factor/design, contrasts, Missingness) gives the lmer() formula fit', async () => {
  const data = new SyntheticDataset({ visits: VISITS, medialWall: 0, patchy: 0, vertices: 12, seed: 4, missing: 0.05 });
  const dir = path.join(tmp, 'blmm');
  const { images } = data.writeFiles(dir);
  const frame = modelFrame(FORMULA.replace(/^y /, ''), toTable(data.table), { responseOptional: true });
  const n = frame.n;
  const p = frame.xNames.length;
  const rows = (f: (r: number) => number[]) => Array.from({ length: n }, (_, r) => f(r).join(',')).join('\n') + '\n';
  fs.writeFileSync(
    path.join(dir, 'X.csv'),
    rows((r) => frame.xNames.map((_, j) => frame.X[r + j * n])),
  );
  const subject = frame.reTerms[0].factor.codes;
  fs.writeFileSync(
    path.join(dir, 'f1.csv'),
    rows((r) => [subject[r] + 1]),
  );
  fs.writeFileSync(
    path.join(dir, 'z1.csv'),
    rows(() => [1]),
  );
  fs.writeFileSync(path.join(dir, 'Y.txt'), images.map((f) => path.basename(f)).join('\n') + '\n');
  const timeIndex = frame.xNames.indexOf('time');
  const yml = `# BLMM inputs
MAXMEM: 2**32
Y_files: Y.txt
X: X.csv
Z:
  - f1:
      name: subject
      factor: f1.csv
      design: z1.csv
outdir: out
contrasts:
  - c1:
      name: Time
      vector: [${frame.xNames.map((_, j) => (j === timeIndex ? 1 : 0)).join(', ')}]
  - c2:
      name: SexAge
      vector: [[${frame.xNames.map((_, j) => (j === 1 ? 1 : 0)).join(', ')}], [${frame.xNames.map((_, j) => (j === 2 ? 1 : 0)).join(', ')}]]
Missingness:
  MinPercent: 0.90
`;
  const config = path.join(dir, 'blmm_inputs.yml');
  fs.writeFileSync(config, yml);
  await cli(['--config', config]);
  const out = path.join(dir, 'out');
  assert.ok(fs.existsSync(path.join(out, 'inputs.yml')));
  const results = readBlmmResults(out, { nvertices: 12 });
  const reference = lmerBrainSync(FORMULA, data.table, {
    images: data.matrix(),
    minPercent: 0.9,
    contrasts: {
      Time: 'time',
      SexAge: [
        [0, 1, ...Array(p - 2).fill(0)],
        [0, 0, 1, ...Array(p - 3).fill(0)],
      ],
    },
  });
  for (const name of ['beta', 'sigma2', 'D', 'llh', 'conT', 'conT_swedf', 'conF', 'conF_swedf']) {
    const nvol = results.map(name).nvol;
    for (let v = 0; v < nvol; v++) close(results.volume(name, v), reference.map(name, v), `${name}[${v}]`, 1e-5);
  }
  close(Float32Array.from(results.map('n').data), reference.map('n'), 'n');
  assert.equal(
    Array.from(results.map('mask').data).reduce((s, x) => s + x, 0),
    reference.counts().fitted,
  );
});

test('brain files: bad inputs fail before fitting with a message naming the file or row', async () => {
  const data = new SyntheticDataset({ visits: VISITS, medialWall: 0, patchy: 0, vertices: 8, seed: 5 });
  const dir = path.join(tmp, 'bad');
  const { table, images } = data.writeFiles(dir);
  const base = ['--formula', FORMULA, '--image-column', 'InputFile', '--image-dir', dir, '--out', path.join(tmp, 'bad-out')];
  const rewrite = (name: string, edit: (lines: string[]) => void): string => {
    const lines = fs.readFileSync(table, 'utf8').trim().split('\n');
    edit(lines);
    const file = path.join(dir, name);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };
  // a missing file, named
  const missing = rewrite('missing.csv', (l) => (l[3] = l[3].replace(/^[^,]+/, 'nothere.dat')));
  await assert.rejects(cli(['--data', missing, ...base]), (e: unknown) => e instanceof DataError && e.message.includes('nothere.dat'));
  // mismatched dimensions, named
  fs.writeFileSync(path.join(dir, 'short.dat'), Buffer.alloc(4 * 7));
  const mismatched = rewrite('mismatched.csv', (l) => (l[5] = l[5].replace(/^[^,]+/, 'short.dat')));
  await assert.rejects(
    cli(['--data', mismatched, ...base]),
    (e: unknown) => e instanceof DataError && /short\.dat/.test(e.message) && /dimensions/.test(e.message),
  );
  // a corrupt (truncated) NIfTI, named
  fs.writeFileSync(path.join(dir, 'corrupt.nii'), Buffer.alloc(100));
  const corrupt = rewrite('corrupt.csv', (l) => (l[2] = l[2].replace(/^[^,]+/, 'corrupt.nii')));
  await assert.rejects(cli(['--data', corrupt, ...base]), (e: unknown) => e instanceof DataError && e.message.includes('corrupt.nii'));
  // a used row without an image
  const empty = rewrite('empty.csv', (l) => (l[4] = l[4].replace(/^[^,]+/, '')));
  await assert.rejects(cli(['--data', empty, ...base]), /row 4 of 'empty.csv' has no image/);
  // a contrast of the wrong length
  await assert.rejects(cli(['--data', table, ...base, '--contrast', 'c=1,0']), /contrast 'c' has 2 entries, the model has \d+ fixed effects/);
  assert.ok(!fs.existsSync(path.join(tmp, 'bad-out')), 'nothing is written when the inputs are bad');
  assert.equal(readCSV(table).nrows, images.length);
  // a GIfTI of the wrong length among .dat images is named too
  assert.throws(
    () => lmerBrainSync(FORMULA, { ...data.table, file: images.map((f, i) => (i === 7 ? path.join(dir, 'short.dat') : f)) }, { images: 'file' }),
    /short\.dat/,
  );
});

test('brain files: voxel(i) of a fit on image files is lmer() on that voxel, also after the files are closed', async () => {
  const data = new SyntheticDataset({ visits: VISITS, medialWall: 0, patchy: 0, vertices: 20, seed: 2, missing: 0.03 });
  const dir = path.join(tmp, 'voxel');
  const { images } = data.writeFiles(dir);
  const fit = await lmerBrain(FORMULA, { ...data.table, file: images }, { images: 'file', workers: 2, chunkSize: 5 });
  const inMemory = lmerBrainSync(FORMULA, data.table, { images: data.matrix() });
  for (const i of [0, 7, 19]) {
    const a = fit.voxel(i);
    const b = inMemory.voxel(i);
    assert.equal(a.n, b.n);
    assert.equal(a.logLik(), b.logLik());
  }
  close(fit.map('beta', 'time'), inMemory.map('beta', 'time'), 'beta time');
});

test('brain files: maps of an in-memory surface are written as GIfTI, one named data array per volume', () => {
  const data = new SyntheticDataset({ visits: VISITS, medialWall: 0, patchy: 0, vertices: 9, seed: 2 });
  const fit = lmerBrainSync(FORMULA, data.table, { images: data.matrix(), contrasts: { time: 'time', age: 'age' } });
  const out = path.join(tmp, 'gifti-out');
  const written = fit.write(out);
  assert.ok(written.every((f) => f.endsWith('.func.gii')));
  const con = readGifti(path.join(out, 'blmm_vox_con.func.gii'));
  assert.deepEqual(con.names, ['time', 'age']);
  close(con.arrays[1], fit.map('con', 'age'), 'con age');
  const beta = readGifti(path.join(out, 'blmm_vox_beta.func.gii'));
  assert.equal(beta.arrays.length, fit.xNames.length);
  close(beta.arrays[3], fit.map('beta', 'time'), 'beta time');
});
