/**
 * `npm run bench:brain`: the whole-brain engine on the synthetic ABCD-scale surface set (5,179
 * subjects with 1,389 / 2,924 / 866 having 1 / 2 / 3 visits, 9,835 images, p = 23, 20,484
 * vertices = both fsaverage5 hemispheres), read from one BLMM-style .dat file per image:
 * - random intercept on all images (target: <= 30 s wall on 2 cores),
 * - intercept + slope on time for the subjects with >= 2 visits, as BLMM's des2 (target: <= 10 min),
 * with five T contrasts as in the BLMM demonstration; peak RSS target <= 3 GB.
 * The images are generated once into a cache folder (not timed). Figures are printed and written
 * to bench/results-brain.json.
 *
 * Options: --vertices N, --design intercept|slope|both, --workers N, --dir CACHE
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lmerBrain, defaultWorkers } from '../src/brain/lmerbrain';
import { SyntheticDataset, FSAVERAGE5_BOTH_HEMISPHERES } from '../src/brain/synthetic';
import { readCSV, tableOf } from '../src/frame/table';
import type { Column, Table } from '../src/frame/types';

const root = path.resolve(__dirname, '..', '..');

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const vertices = Number(option('vertices', String(FSAVERAGE5_BOTH_HEMISPHERES)));
const design = option('design', 'both');
const workers = Number(option('workers', String(defaultWorkers())));
const seed = 2024;
const dir = option('dir', path.join(os.tmpdir(), `neurolmm-bench-brain-${seed}-${vertices}`));

/** The synthetic images on disk, generated once per seed and size. */
function dataset(): string {
  const done = path.join(dir, 'complete.json');
  const tablePath = path.join(dir, 'table.csv');
  if (fs.existsSync(done)) return tablePath;
  const started = Date.now();
  const data = new SyntheticDataset({ seed, vertices });
  process.stderr.write(`generating ${data.nimages} images x ${vertices} vertices in ${dir}\n`);
  data.writeFiles(dir, { onProgress: (d, t) => process.stderr.write(`\r  ${d}/${t} vertices`) });
  fs.writeFileSync(done, JSON.stringify({ seed, vertices, images: data.nimages, seconds: (Date.now() - started) / 1000 }));
  process.stderr.write('\n');
  return tablePath;
}

/** Rows of subjects with at least two visits (BLMM demo's des2). */
function multiVisit(table: Table): Table {
  const subject = table.column('subject') as Extract<Column, { kind: 'label' }>;
  const visits = new Map<string, number>();
  for (const s of subject.values) visits.set(s!, (visits.get(s!) ?? 0) + 1);
  const keep = subject.values.map((s, r) => (visits.get(s!)! >= 2 ? r : -1)).filter((r) => r >= 0);
  const columns = new Map<string, Column>();
  for (const name of table.names) {
    const c = table.column(name)!;
    columns.set(name, c.kind === 'numeric' ? { kind: 'numeric', values: Float64Array.from(keep, (r) => c.values[r]) } : { kind: 'label', values: keep.map((r) => c.values[r]) });
  }
  return tableOf(columns, table.source);
}

const unit = (j: number) => Array.from({ length: 23 }, (_, i) => (i === j ? 1 : 0));
const contrasts = { Intercept: unit(0), Sex: unit(1), 'Cross-sectional age': unit(2), 'Longitudinal time': unit(3), 'NIH score': unit(4) };
const FIXED = 'sex + age + time + nih + site';

async function main(): Promise<void> {
  const tablePath = dataset();
  const table = readCSV(tablePath);
  const cases = [
    { name: 'random intercept', formula: `y ~ ${FIXED} + (1 | subject)`, table, limitSeconds: 30 },
    { name: 'intercept + slope (>= 2 visits)', formula: `y ~ ${FIXED} + (1 + time | subject)`, table: multiVisit(table), limitSeconds: 600 },
  ].filter((c) => design === 'both' || (design === 'intercept') === c.name.startsWith('random'));
  const results = [];
  for (const c of cases) {
    // other processes on the machine stretch the wall time: the load before the run says how much
    const loadBefore = os.loadavg()[0];
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    let last = 0;
    const fit = await lmerBrain(c.formula, c.table, {
      images: 'InputFile',
      imageDir: dir,
      contrasts,
      workers,
      onProgress: (p) => {
        if (p.seconds - last < 2 && p.voxelsDone < p.voxels) return;
        last = p.seconds;
        process.stderr.write(`\r  ${c.name}: ${p.voxelsDone}/${p.voxels} vertices, ${p.seconds.toFixed(1)} s`);
      },
    });
    const wall = (Date.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    process.stderr.write('\n');
    const counts = fit.counts();
    const row = {
      design: c.name,
      formula: c.formula,
      images: fit.nimages,
      vertices: fit.nvox,
      fitted: counts.fitted,
      failures: counts.failures,
      workers,
      cores: os.cpus().length,
      wallSeconds: Number(wall.toFixed(2)),
      cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
      evaluationsPerVertex: Number((fit.evaluations / Math.max(1, counts.fitted)).toFixed(1)),
      limitSeconds: c.limitSeconds,
      withinLimit: wall <= c.limitSeconds,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      loadAverageBefore: loadBefore,
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
  const peak = Math.round(process.resourceUsage().maxRSS / 1024);
  const out = { date: new Date().toISOString(), node: process.version, loadAverageAfter: os.loadavg(), peakRssMB: peak, peakRssWithinLimit: peak <= 3 * 1024, results };
  fs.writeFileSync(path.join(root, 'bench', 'results-brain.json'), JSON.stringify(out, null, 2) + '\n');
  console.log('| design | images | vertices | wall s | cpu s | evaluations/vertex | peak RSS MB | limit s | load before |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of results)
    console.log(`| ${r.design} | ${r.images} | ${r.vertices} | ${r.wallSeconds} | ${r.cpuSeconds} | ${r.evaluationsPerVertex} | ${r.peakRssMB} | ${r.limitSeconds} | ${r.loadAverageBefore.toFixed(1)} |`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
