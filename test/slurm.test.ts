/**
 * `neurolmm brain --cluster slurm` against a real SLURM: a single-node cluster started for the
 * test (munged, slurmctld, slurmd on this machine; see slurm-cluster.ts) runs a small whole-brain
 * fit as a job array of 4 chunks and the merge job, and the maps equal the same fit run here,
 * byte for byte; then, through a BLMM input file with `clusterType: SLURM`, an array task killed
 * with scancel is refitted by the retry array and the maps still equal the local ones.
 * Skipped where SLURM cannot run (not root, slurm-wlm or munge absent) unless
 * NEUROLMM_REQUIRE_SLURM=1 (CI), where that is a failure.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { SyntheticDataset } from '../src/brain/synthetic';
import { runBrain } from '../src/cli/brain';
import { modelFrame } from '../src/frame/modelframe';
import { toTable } from '../src/frame/table';
import { LocalSlurm, slurmUnavailable } from './slurm-cluster';

const FORMULA = 'y ~ sex + age + time + nih + site + (1 | subject)';
const CLI = path.resolve(__dirname, '..', 'src', 'cli', 'main.js');
const unavailable = slurmUnavailable();
const required = process.env.NEUROLMM_REQUIRE_SLURM === '1';
const skip = unavailable && !required ? `SLURM test skipped: ${unavailable}` : false;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-slurm-test-'));
let cluster: LocalSlurm | undefined;
const data = new SyntheticDataset({ visits: [10, 40, 30], vertices: 1024, seed: 31, missing: 0.02 });
const dataDir = path.join(tmp, 'data');
const { table, images } = data.writeFiles(dataDir);

before(async () => {
  if (skip) return;
  if (unavailable) throw new Error(`NEUROLMM_REQUIRE_SLURM=1 but ${unavailable}`);
  cluster = await LocalSlurm.start();
});

after(async () => {
  await cluster?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The CLI in this process, output swallowed. */
async function runHere(args: string[]): Promise<void> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    await runBrain([...args, '--quiet', '--workers', '1']);
  } finally {
    process.stdout.write = write;
  }
}

interface Submitted {
  /** resolves with the exit code and output when the command has ended */
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** resolves with the chunk array's job id once it is printed */
  arrayId: Promise<string>;
}

/** `neurolmm brain ... --wait` as its own process, talking to the test cluster. */
function submit(args: string[]): Submitted {
  const child = spawn(process.execPath, [CLI, 'brain', ...args, '--wait'], { env: cluster!.env, cwd: tmp });
  let stdout = '';
  let stderr = '';
  let foundArray: (id: string) => void;
  const arrayId = new Promise<string>((resolve) => (foundArray = resolve));
  child.stdout.on('data', (d) => {
    stdout += d;
    const m = /chunk array (\d+)/.exec(stdout);
    if (m) foundArray(m[1]);
  });
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { done, arrayId };
}

/** Every map file of `a` is in `b` with the same bytes. */
function assertSameMaps(a: string, b: string): void {
  const maps = fs.readdirSync(a).filter((f) => f.startsWith('blmm_vox_'));
  assert.ok(maps.length >= 14, `maps in ${a}`);
  assert.deepEqual(
    fs
      .readdirSync(b)
      .filter((f) => f.startsWith('blmm_vox_'))
      .sort(),
    maps.sort(),
  );
  for (const f of maps) assert.ok(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), `${f} differs`);
}

test('slurm: a 4-task job array and the merge give the local maps byte for byte', { skip }, async () => {
  const args = ['--data', table, '--formula', FORMULA, '--image-column', 'InputFile', '--image-dir', dataDir, '--contrast', 'time=time'];
  const local = path.join(tmp, 'local');
  await runHere([...args, '--out', local]);
  const out = path.join(tmp, 'slurm');
  const run = submit([...args, '--out', out, '--cluster', 'slurm', '--chunks', '4']);
  const { code, stdout, stderr } = await run.done;
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  assert.match(
    stdout,
    /1024 voxels in 4 chunks; 0 complete already\nchunk array \d+: chunks 1-4, 1 CPU and \d+ MB per task\nretry array \d+: runs only if a chunk fails/,
  );
  assert.match(stdout, /merge job \d+: writes the maps to /);
  assert.match(stderr, /chunks: 4\/4 done, 0 running; merge job \d+ (running|completed)/);
  assert.doesNotMatch(stderr, /fits it again/);
  // the merge job's own output: the fit's summary
  assert.match(stdout, /Whole-brain linear mixed model fit by REML[\s\S]*Wrote 14 maps to /);
  assertSameMaps(local, out);
  // each task wrote its chunk, with what it took
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'chunks', 'chunk-0002', 'manifest.json'), 'utf8'));
  assert.equal(manifest.from, 256);
  assert.ok(manifest.peakMemoryMB > 0 && manifest.cpuSeconds > 0);
});

/** A BLMM input file for the same model (X, the subject factor and its design), clusterType SLURM. */
function blmmInputs(dir: string): string {
  const frame = modelFrame(FORMULA.replace(/^y /, ''), toTable(data.table), { responseOptional: true });
  const { n, X, xNames } = frame;
  const csv = (rows: number[][]) => rows.map((r) => r.join(',')).join('\n') + '\n';
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'X.csv'), csv(Array.from({ length: n }, (_, r) => xNames.map((_, j) => X[r + j * n]))));
  fs.writeFileSync(path.join(dir, 'subject.csv'), csv(Array.from(frame.reTerms[0].factor.codes, (c) => [c + 1])));
  fs.writeFileSync(path.join(dir, 'ones.csv'), csv(Array.from({ length: n }, () => [1])));
  fs.writeFileSync(path.join(dir, 'Y.txt'), images.join('\n') + '\n');
  const time = xNames.map((name) => (name === 'time' ? 1 : 0)).join(', ');
  const yml = path.join(dir, 'blmm_inputs.yml');
  fs.writeFileSync(
    yml,
    `Y_files: Y.txt\nX: X.csv\nZ:\n  - f1:\n      name: subject\n      factor: subject.csv\n      design: ones.csv\noutdir: out\ncontrasts:\n  - c1:\n      name: time\n      vector: [${time}]\nclusterType: SLURM\nnumNodes: 2\n`,
  );
  return yml;
}

test('slurm: a task killed with scancel is refitted by the retry array, and the maps still match', { skip }, async () => {
  const yml = blmmInputs(path.join(tmp, 'blmm'));
  const local = path.join(tmp, 'blmm-local');
  // the same input file without clusterType fits here
  const here = path.join(tmp, 'blmm', 'here.yml');
  fs.writeFileSync(here, fs.readFileSync(yml, 'utf8').replace(/clusterType: SLURM\n/, ''));
  await runHere(['--config', here, '--out', local]);

  const run = submit(['--config', yml, '--chunks', '4']);
  const array = await run.arrayId;
  // kill the first task seen running
  let killed: string | undefined;
  for (let waited = 0; !killed && waited < 60000; waited += 100) {
    const running = cluster!.command('squeue', ['-h', '-r', '-t', 'RUNNING', '-j', array, '-o', '%i']).trim().split('\n')[0];
    if (running) {
      cluster!.command('scancel', [running]);
      killed = running;
    } else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(killed, 'no array task was seen running');
  const { code, stdout, stderr } = await run.done;
  assert.equal(code, 0, `${stdout}\n${stderr}`);
  const chunk = killed.split('_')[1];
  const out = path.join(tmp, 'blmm', 'out');
  // numNodes: at most 2 tasks at once
  assert.match(stdout, /chunk array \d+: chunks 1-4, 1 CPU and \d+ MB per task, at most 2 at once/);
  assert.match(stderr, new RegExp(`chunk ${chunk} \\(job ${killed}\\) CANCELLED.*: SLURM fits it again when the array has ended`));
  assert.doesNotMatch(stderr, /failed again/);
  assert.ok(fs.existsSync(path.join(out, 'chunks', 'slurm', `chunk-${chunk}.retry.out`)), 'the retry task ran');
  assertSameMaps(local, out);
  assert.ok(fs.existsSync(path.join(out, 'inputs.yml')));
});
