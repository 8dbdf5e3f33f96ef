/**
 * What one chunk task of an ABCD-scale analysis takes (README, "On a cluster"), measured on a
 * small run and scaled. The synthetic ABCD set (9,835 images of 5,179 subjects) with --vertices
 * vertices (default 2,048) is written as .dat files; `neurolmm brain --chunks 2 --chunk 1` runs
 * as its own process for each design and worker count, and its manifest gives the fitting's CPU
 * time and the process's peak memory; a rerun of the complete chunk gives the start-up of a
 * task (reading the table, opening every image). A task of V voxels then takes
 * start-up + V x (CPU per voxel); its memory is what `--cluster slurm` requests (chunkMemoryMB),
 * shown beside the measured peak. Not part of the test suite: run with
 *   node dist/bench/chunks.js [--vertices N] [--dir CACHE]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chunkMemoryMB, type ChunkManifest, type ChunkPlan } from '../src/brain/chunks';
import { chunkWidth } from '../src/brain/lmerbrain';
import { SyntheticDataset } from '../src/brain/synthetic';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const vertices = Number(option('vertices', '2048'));
const dir = option('dir', path.join(os.tmpdir(), `neurolmm-bench-chunks-${vertices}`));
const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');
const FIXED = 'sex + age + time + nih + site';
/** designs as bench/brain.ts: the slope on the subjects with at least two visits (BLMM's des2) */
const DESIGNS = [
  { design: 'random intercept', formula: `y ~ ${FIXED} + (1 | subject)`, table: 'table.csv' },
  { design: 'intercept + slope', formula: `y ~ ${FIXED} + (1 + time | subject)`, table: 'table-2-visits.csv' },
];
/** the analyses the README sizes: surface (both fsaverage5 hemispheres) and 2 mm volume, in chunks */
const TARGETS = [
  { what: '20,484 vertices in 4 chunks', voxels: 20484, chunks: 4 },
  { what: '200,000 voxels in 20 chunks', voxels: 200000, chunks: 20 },
];

/** Runs a chunk task as its own process; returns its manifest and the process's CPU seconds. */
function chunkTask(formula: string, table: string, out: string, workers: number): { manifest: ChunkManifest; processCpu: number } {
  const args = ['brain', '--data', path.join(dir, table), '--image-column', 'InputFile', '--image-dir', dir, '--formula', formula, '--contrast', 'time=time'];
  const command = [process.execPath, CLI, ...args, '--out', out, '--chunks', '2', '--chunk', '1', '--workers', String(workers), '--quiet']
    .map((a) => `'${a}'`)
    .join(' ');
  // bash's `times` prints the children's user and system time on its second line
  const result = spawnSync('bash', ['-c', `${command} >/dev/null && times`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(result.stderr);
  const [user, system] = result.stdout
    .trim()
    .split('\n')[1]
    .split(' ')
    .map((t) => {
      const m = /(\d+)m([\d.]+)s/.exec(t)!;
      return 60 * Number(m[1]) + Number(m[2]);
    });
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'chunks', 'chunk-0001', 'manifest.json'), 'utf8')) as ChunkManifest;
  return { manifest, processCpu: user + system };
}

function main(): void {
  if (!fs.existsSync(path.join(dir, 'table.csv'))) {
    process.stderr.write(`writing 9,835 images of ${vertices} vertices to ${dir}\n`);
    new SyntheticDataset({ seed: 2024, vertices }).writeFiles(dir);
  }
  // the rows of subjects with two or three visits (subject is the second column)
  const [header, ...lines] = fs.readFileSync(path.join(dir, 'table.csv'), 'utf8').trim().split('\n');
  const visits = new Map<string, number>();
  for (const l of lines) visits.set(l.split(',')[1], (visits.get(l.split(',')[1]) ?? 0) + 1);
  fs.writeFileSync(path.join(dir, 'table-2-visits.csv'), [header, ...lines.filter((l) => visits.get(l.split(',')[1])! >= 2)].join('\n') + '\n');
  const rows: string[] = [];
  for (const { design, formula, table } of DESIGNS) {
    for (const workers of [1, 2]) {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-chunk-task-'));
      try {
        const fitted = chunkTask(formula, table, out, workers);
        const rerun = chunkTask(formula, table, out, workers);
        const m = fitted.manifest;
        const plan = JSON.parse(fs.readFileSync(path.join(out, 'chunks', 'plan.json'), 'utf8')) as ChunkPlan;
        const cpuPerVoxel = m.cpuSeconds / (m.to - m.from);
        const startup = rerun.processCpu;
        const measured = `${m.to - m.from} voxels: ${fitted.processCpu.toFixed(1)} s CPU, ${m.seconds.toFixed(1)} s, peak ${m.peakMemoryMB} MB (requested ${chunkMemoryMB(plan, workers)} MB)`;
        const scaled = TARGETS.map((t) => {
          const perTask = Math.ceil(t.voxels / t.chunks);
          const target = { ...plan, voxels: t.voxels, chunks: t.chunks, width: chunkWidth(plan.nimages, t.voxels) };
          return `${t.what}: ${(startup + perTask * cpuPerVoxel).toFixed(0)} s CPU, ${chunkMemoryMB(target, workers)} MB`;
        });
        rows.push(`| ${design} | ${workers} | ${(1000 * cpuPerVoxel).toFixed(2)} ms | ${startup.toFixed(1)} s | ${measured} | ${scaled.join('; ')} |`);
        process.stderr.write(`${rows.at(-1)}\n`);
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    }
  }
  console.log(`| design | workers | CPU per voxel | start-up | measured chunk task (${vertices / 2} of ${vertices} vertices) | scaled task |`);
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

main();
