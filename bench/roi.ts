/**
 * `npm run bench`: median wall time per fit (in-process, after warm-up), objective evaluations
 * and peak RSS for the ROI models of the speed issue; when Rscript with lme4 is installed, lme4
 * fits the same data in the same run and the ratio is printed. Results go to bench/results-roi.json.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCSV } from '../src/frame/table';
import { lmer } from '../src/lmm/lmer';

interface Case {
  name: string;
  data: string;
  formula: string;
  /** timed fits here, and in R (each after one untimed fit) */
  repeats: number;
  lme4Repeats: number;
}

const root = path.resolve(__dirname, '..', '..');
const fixtures = path.join(root, 'test', 'fixtures');
const cases: Case[] = [
  { name: 'sleepstudy', data: 'sleepstudy', formula: 'Reaction ~ 1 + Days + (1 + Days | Subject)', repeats: 200, lme4Repeats: 10 },
  { name: 'Penicillin (crossed)', data: 'Penicillin', formula: 'diameter ~ 1 + (1 | plate) + (1 | sample)', repeats: 100, lme4Repeats: 10 },
  { name: 'Pixel (nested)', data: 'Pixel', formula: 'pixel ~ day + I(day^2) + (day | Dog) + (1 | Dog:Side)', repeats: 100, lme4Repeats: 10 },
  { name: 'InstEval', data: 'InstEval', formula: 'y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)', repeats: 5, lme4Repeats: 1 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function lme4Seconds(c: Case): number | undefined {
  // grouping variables are factors in R too, and so is InstEval's quoted 0/1 `service`
  const script = `suppressMessages(library(lme4))
d <- read.csv("${path.join(fixtures, c.data + '.csv')}", stringsAsFactors = TRUE)
f <- as.formula(${JSON.stringify(c.formula)})
for (nm in unique(unlist(lapply(findbars(f), function(b) all.vars(b[[3]]))))) d[[nm]] <- factor(d[[nm]])
if ("service" %in% names(d)) d$service <- factor(d$service)
invisible(lmer(f, d)); t <- replicate(${c.lme4Repeats}, system.time(lmer(f, d))[["elapsed"]]); cat(median(t))`;
  try {
    return Number(execFileSync('Rscript', ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return undefined;
  }
}

const results = [];
for (const c of cases) {
  const table = readCSV(path.join(fixtures, `${c.data}.csv`));
  lmer(c.formula, table); // warm-up
  const times: number[] = [];
  let evaluations = 0;
  for (let i = 0; i < c.repeats; i++) {
    const t0 = process.hrtime.bigint();
    const m = lmer(c.formula, table);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    evaluations = m.optimizer.evaluations;
  }
  const ms = median(times);
  const r = lme4Seconds(c);
  const row = {
    model: c.name,
    medianMs: Number(ms.toFixed(3)),
    evaluations,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    lme4Ms: r === undefined ? null : Number((r * 1000).toFixed(1)),
    speedup: r === undefined ? null : Number(((r * 1000) / ms).toFixed(1)),
  };
  results.push(row);
  console.log(JSON.stringify(row));
}
fs.writeFileSync(path.join(root, 'bench', 'results-roi.json'), JSON.stringify(results, null, 2) + '\n');
console.log('| model | median ms/fit | evaluations | peak RSS MB | lme4 ms | speed-up |');
console.log('|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.model} | ${r.medianMs} | ${r.evaluations} | ${r.peakRssMB} | ${r.lme4Ms ?? 'n/a'} | ${r.speedup ?? 'n/a'} |`);
