/**
 * `npm run bench:brain`: the whole-brain engine on an ABCD-shaped surface set (the default
 * SyntheticDataset: 5,179 subjects with 1,389 / 2,924 / 866 having 1 / 2 / 3 visits, 9,835
 * images, follow-up times in years since baseline that differ per subject, 19 sites with a site
 * random intercept in the truth, a medial wall and coverage patches with many distinct
 * missingness patterns; 20,484 vertices = both fsaverage5 hemispheres), read from one BLMM-style
 * .dat file per image, for the designs users fit:
 * - (1 | subject) on all images (target: <= 10 s wall on 2 cores),
 * - (1 + time | subject) on the subjects with >= 2 visits, as BLMM's des2 (<= 3 min),
 * - (1 | site) + (1 | subject) (<= 2 min) and (1 | site/subject) (<= 3 min),
 * with five T contrasts as in the BLMM demonstration; peak RSS target <= 3 GB.
 * When Rscript with lme4 and lmerTest is installed, the same fits (lmer and lmerTest's summary,
 * i.e. the Satterthwaite tests the maps hold) are timed in R on sampled vertices in the same run,
 * and the lme4 loop over every fitted vertex on one core is projected from them (target: each
 * design at least 30x faster here). The images are generated once into a cache folder (not
 * timed). Figures are printed and written to bench/results-brain.json.
 *
 * Options: --vertices N, --design intercept|slope|site|nested|all, --workers N, --dir CACHE,
 * --times continuous|discrete, --lme4-vertices K (0: no R)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lmerBrain, defaultWorkers } from '../src/brain/lmerbrain';
import { VoxelStatus } from '../src/brain/layout';
import { SyntheticDataset, FSAVERAGE5_BOTH_HEMISPHERES } from '../src/brain/synthetic';
import { readCSV, tableOf } from '../src/frame/table';
import type { Column, Table } from '../src/frame/types';

const root = path.resolve(__dirname, '..', '..');

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const vertices = Number(option('vertices', String(FSAVERAGE5_BOTH_HEMISPHERES)));
const design = option('design', 'all');
const workers = Number(option('workers', String(defaultWorkers())));
const times = option('times', 'continuous') as 'continuous' | 'discrete';
const lme4Vertices = Number(option('lme4-vertices', '4'));
const seed = 2024;
const dir = option('dir', path.join(os.tmpdir(), `neurolmm-bench-brain-${seed}-${vertices}-${times}`));

/** The synthetic images on disk, generated once per seed, size and time scale. */
function dataset(data: SyntheticDataset): string {
  const done = path.join(dir, 'complete.json');
  const tablePath = path.join(dir, 'table.csv');
  if (fs.existsSync(done)) return tablePath;
  const started = Date.now();
  process.stderr.write(`generating ${data.nimages} images x ${vertices} vertices in ${dir}\n`);
  data.writeFiles(dir, { onProgress: (d, t) => process.stderr.write(`\r  ${d}/${t} vertices`) });
  fs.writeFileSync(done, JSON.stringify({ seed, vertices, images: data.nimages, seconds: (Date.now() - started) / 1000 }));
  process.stderr.write('\n');
  return tablePath;
}

/** The rows of subjects with at least two visits (BLMM demo's des2). */
function multiVisitRows(table: Table): number[] {
  const subject = table.column('subject') as Extract<Column, { kind: 'label' }>;
  const visits = new Map<string, number>();
  for (const s of subject.values) visits.set(s!, (visits.get(s!) ?? 0) + 1);
  return subject.values.map((s, r) => (visits.get(s!)! >= 2 ? r : -1)).filter((r) => r >= 0);
}

function subset(table: Table, rows: number[]): Table {
  const columns = new Map<string, Column>();
  for (const name of table.names) {
    const c = table.column(name)!;
    columns.set(
      name,
      c.kind === 'numeric' ? { kind: 'numeric', values: Float64Array.from(rows, (r) => c.values[r]) } : { kind: 'label', values: rows.map((r) => c.values[r]) },
    );
  }
  return tableOf(columns, table.source);
}

const unit = (p: number, j: number) => Array.from({ length: p }, (_, i) => (i === j ? 1 : 0));
const WITH_SITES = 'sex + age + time + nih + site';
const WITHOUT_SITES = 'sex + age + time + nih';

interface Case {
  key: string;
  name: string;
  formula: string;
  /** rows of the table (all, or the subjects with >= 2 visits) */
  rows?: number[];
  p: number;
  limitSeconds: number;
}

/**
 * Seconds per vertex of lmerTest::lmer + summary (Satterthwaite tests) in R on one core, over
 * `values.length` vertices after one untimed fit; undefined without R, lme4 or lmerTest.
 */
function lme4SecondsPerVertex(table: Table, rows: number[] | undefined, formula: string, values: Float32Array[]): number | undefined {
  if (values.length === 0) return undefined;
  const file = path.join(dir, 'lme4-sample.csv');
  const used = rows ?? Array.from({ length: table.nrows }, (_, r) => r);
  const names = ['subject', 'sex', 'age', 'time', 'nih', 'site'];
  const lines = [[...names, ...values.map((_, k) => `y${k}`)].join(',')];
  for (const r of used) {
    const cells = names.map((n) => String(table.column(n)!.values[r]));
    // the .dat images hold zeros where nothing was measured (BLMM's convention): NA for R
    for (const v of values) cells.push(v[r] === 0 || Number.isNaN(v[r]) ? 'NA' : String(v[r]));
    lines.push(cells.join(','));
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
  const script = `suppressMessages({ library(lme4); library(lmerTest) })
d <- read.csv(${JSON.stringify(file)}, stringsAsFactors = TRUE)
f <- as.formula(${JSON.stringify(formula)})
fit <- function(k) { d$y <- d[[paste0("y", k)]]; summary(lmerTest::lmer(f, d, control = lmerControl(check.nobs.vs.nRE = "ignore")))$coefficients }
invisible(fit(0))
t <- system.time(for (k in seq_len(${values.length}) - 1) fit(k))
cat(t[["user.self"]] + t[["sys.self"]])`;
  try {
    return Number(execFileSync('Rscript', ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) / values.length;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const data = new SyntheticDataset({ seed, vertices, times });
  const tablePath = dataset(data);
  const table = readCSV(tablePath);
  const pSites = 23;
  const cases: Case[] = [
    { key: 'intercept', name: '(1 | subject)', formula: `y ~ ${WITH_SITES} + (1 | subject)`, p: pSites, limitSeconds: 10 },
    {
      key: 'slope',
      name: '(1 + time | subject), >= 2 visits',
      formula: `y ~ ${WITH_SITES} + (1 + time | subject)`,
      rows: multiVisitRows(table),
      p: pSites,
      limitSeconds: 180,
    },
    { key: 'site', name: '(1 | site) + (1 | subject)', formula: `y ~ ${WITHOUT_SITES} + (1 | site) + (1 | subject)`, p: 5, limitSeconds: 120 },
    { key: 'nested', name: '(1 | site/subject)', formula: `y ~ ${WITHOUT_SITES} + (1 | site/subject)`, p: 5, limitSeconds: 180 },
  ].filter((c) => design === 'all' || design === c.key);
  const results = [];
  for (const c of cases) {
    const contrasts = {
      Intercept: unit(c.p, 0),
      Sex: unit(c.p, 1),
      'Cross-sectional age': unit(c.p, 2),
      'Longitudinal time': unit(c.p, 3),
      'NIH score': unit(c.p, 4),
    };
    const caseTable = c.rows ? subset(table, c.rows) : table;
    // other processes on the machine stretch the wall time: the load before the run says how much
    const loadBefore = os.loadavg()[0];
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    let last = 0;
    const fit = await lmerBrain(c.formula, caseTable, {
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
    // lme4 on vertices spread over the fitted ones, some with missing images among them
    const fitted = [...fit.status.keys()].filter((i) => fit.status[i] === VoxelStatus.fitted);
    const sample = Array.from({ length: Math.min(lme4Vertices, fitted.length) }, (_, k) => fitted[Math.floor(((k + 0.5) * fitted.length) / lme4Vertices)]);
    const values = sample.map((v) => data.chunk(v, v + 1));
    const lme4PerVertex = lme4SecondsPerVertex(table, c.rows, c.formula, values);
    const lme4Loop = lme4PerVertex === undefined ? undefined : lme4PerVertex * counts.fitted;
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
      lme4SecondsPerVertex: lme4PerVertex === undefined ? null : Number(lme4PerVertex.toFixed(3)),
      lme4LoopSeconds: lme4Loop === undefined ? null : Math.round(lme4Loop),
      timesFasterThanLme4Loop: lme4Loop === undefined ? null : Number((lme4Loop / wall).toFixed(1)),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      loadAverageBefore: loadBefore,
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
  const peak = Math.round(process.resourceUsage().maxRSS / 1024);
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    times,
    loadAverageAfter: os.loadavg(),
    peakRssMB: peak,
    peakRssWithinLimit: peak <= 3 * 1024,
    results,
  };
  fs.writeFileSync(path.join(root, 'bench', 'results-brain.json'), JSON.stringify(out, null, 2) + '\n');
  const minutes = (s: number | null) => (s === null ? 'no R' : s >= 3600 ? `${(s / 3600).toFixed(1)} h` : `${(s / 60).toFixed(1)} min`);
  console.log('| design | images | vertices fitted | wall s (target) | cpu s | evaluations/vertex | lme4 loop, 1 core | x lme4 | load before |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of results)
    console.log(
      `| ${r.design} | ${r.images} | ${r.fitted} | ${r.wallSeconds} (${r.limitSeconds}) | ${r.cpuSeconds} | ${r.evaluationsPerVertex} | ${minutes(r.lme4LoopSeconds)} | ${r.timesFasterThanLme4Loop ?? '-'} | ${r.loadAverageBefore.toFixed(1)} |`,
    );
  console.log(`peak RSS ${peak} MB (target 3072)`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
