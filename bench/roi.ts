/**
 * `npm run bench`: median wall time per fit (in-process, after warm-up), objective evaluations
 * and peak RSS for the ROI models of the speed issue; when Rscript with lme4 (nlme for the
 * residual-structure models) is installed, R fits the same data in the same run and the ratio is
 * printed. Results go to bench/results-roi.json. `--only=TEXT` runs the models whose name
 * contains TEXT (and then leaves the results file alone).
 * Then Kenward-Roger (`kenwardRoger(fit)`, wall and CPU time of this process), beside pbkrtest's
 * `vcovAdj` timed by R's `system.time` on the models it can do, in the same run: results in
 * bench/results-kr.json. `node dist/bench/roi.js --kenward-roger` runs that part alone.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readCSV } from '../src/frame/table';
import { kenwardRoger } from '../src/inference/kenward-roger';
import { lmer } from '../src/lmm/lmer';
import { corAR1, lme, varIdent, type NlmeOptions } from '../src/nlme';

interface Case {
  name: string;
  data: string;
  formula: string;
  /** timed fits here, and in R (each after one untimed fit) */
  repeats: number;
  lme4Repeats: number;
  /** an nlme model: neurolmm's lme() with these options against nlme::lme(nlme.call) in R */
  nlme?: { options: NlmeOptions; call: string };
}

const root = path.resolve(__dirname, '..', '..');
const fixtures = path.join(root, 'test', 'fixtures');
const cases: Case[] = [
  { name: 'sleepstudy', data: 'sleepstudy', formula: 'Reaction ~ 1 + Days + (1 + Days | Subject)', repeats: 200, lme4Repeats: 10 },
  { name: 'Penicillin (crossed)', data: 'Penicillin', formula: 'diameter ~ 1 + (1 | plate) + (1 | sample)', repeats: 100, lme4Repeats: 10 },
  { name: 'Pixel (nested)', data: 'Pixel', formula: 'pixel ~ day + I(day^2) + (day | Dog) + (1 | Dog:Side)', repeats: 100, lme4Repeats: 10 },
  { name: 'InstEval', data: 'InstEval', formula: 'y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)', repeats: 5, lme4Repeats: 1 },
  {
    name: 'Ovary, corAR1 (nlme)',
    data: 'Ovary',
    formula: 'follicles ~ sin(2*pi*Time) + cos(2*pi*Time) + (1 | Mare)',
    repeats: 200,
    lme4Repeats: 20,
    nlme: {
      options: { correlation: corAR1('~ 1 | Mare') },
      call: 'lme(follicles ~ sin(2*pi*Time) + cos(2*pi*Time), d, random = ~ 1 | Mare, correlation = corAR1(form = ~ 1 | Mare))',
    },
  },
  {
    name: 'Orthodont, varIdent (nlme)',
    data: 'Orthodont',
    formula: 'distance ~ age + Sex + (1 | Subject)',
    repeats: 200,
    lme4Repeats: 20,
    nlme: {
      options: { weights: varIdent('~ 1 | Sex') },
      call: 'lme(distance ~ age + Sex, d, random = ~ 1 | Subject, weights = varIdent(form = ~ 1 | Sex))',
    },
  },
];
const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const selected = only ? cases.filter((c) => c.name.includes(only)) : cases;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** R's median seconds per fit: lme4's lmer, or nlme's lme for an nlme case */
function rSeconds(c: Case): number | undefined {
  return scriptSeconds(c.nlme ? nlmeScript(c) : lme4Script(c));
}

/** The number an R script prints (seconds), or undefined when Rscript or a package it loads is missing. */
function scriptSeconds(script: string): number | undefined {
  try {
    return Number(execFileSync('Rscript', ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return undefined;
  }
}

function nlmeScript(c: Case): string {
  // the grouping factor is a factor in R too (Ovary's Mare is numbered)
  const group = c.formula.match(/\|\s*(\w+)\s*\)/)![1];
  return `suppressMessages(library(nlme))
d <- read.csv("${path.join(fixtures, c.data + '.csv')}", stringsAsFactors = TRUE)
d[["${group}"]] <- factor(d[["${group}"]])
invisible(${c.nlme!.call}); t <- replicate(${c.lme4Repeats}, system.time(${c.nlme!.call})[["elapsed"]]); cat(median(t))`;
}

function lme4Script(c: Case): string {
  // grouping variables are factors in R too, and so is InstEval's quoted 0/1 `service`
  return `suppressMessages(library(lme4))
d <- read.csv("${path.join(fixtures, c.data + '.csv')}", stringsAsFactors = TRUE)
f <- as.formula(${JSON.stringify(c.formula)})
for (nm in unique(unlist(lapply(findbars(f), function(b) all.vars(b[[3]]))))) d[[nm]] <- factor(d[[nm]])
if ("service" %in% names(d)) d$service <- factor(d$service)
invisible(lmer(f, d)); t <- replicate(${c.lme4Repeats}, system.time(lmer(f, d))[["elapsed"]]); cat(median(t))`;
}

function fitBenchmark(): void {
  const results = [];
  for (const c of selected) {
    const table = readCSV(path.join(fixtures, `${c.data}.csv`));
    const fit = () => (c.nlme ? lme(c.formula, table, c.nlme.options) : lmer(c.formula, table));
    for (let i = 0; i < (c.nlme ? 50 : 1); i++) fit(); // warm-up
    const times: number[] = [];
    let evaluations = 0;
    for (let i = 0; i < c.repeats; i++) {
      const t0 = process.hrtime.bigint();
      const m = fit();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      evaluations = m.optimizer.evaluations;
    }
    const ms = median(times);
    const r = rSeconds(c);
    const row = {
      model: c.name,
      medianMs: Number(ms.toFixed(3)),
      evaluations,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      [c.nlme ? 'nlmeMs' : 'lme4Ms']: r === undefined ? null : Number((r * 1000).toFixed(1)),
      speedup: r === undefined ? null : Number(((r * 1000) / ms).toFixed(1)),
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
  if (!only) fs.writeFileSync(path.join(root, 'bench', 'results-roi.json'), JSON.stringify(results, null, 2) + '\n');
  console.log('| model | median ms/fit | evaluations | peak RSS MB | R (lme4 or nlme) ms | speed-up |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results)
    console.log(`| ${r.model} | ${r.medianMs} | ${r.evaluations} | ${r.peakRssMB} | ${r.lme4Ms ?? r.nlmeMs ?? 'n/a'} | ${r.speedup ?? 'n/a'} |`);
}

interface KenwardRogerCase {
  name: string;
  data: string;
  formula: string;
  /** R code making the data frame `d`'s factors, after read.csv(stringsAsFactors = TRUE) */
  factors: string;
  /** why pbkrtest is not run, when it cannot be */
  pbkrtestSkipped?: string;
}

const krCases: KenwardRogerCase[] = [
  { name: 'sleepstudy', data: 'sleepstudy', formula: 'Reaction ~ Days + (Days | Subject)', factors: 'd$Subject <- factor(d$Subject)' },
  { name: 'Penicillin (crossed)', data: 'Penicillin', formula: 'diameter ~ 1 + (1 | plate) + (1 | sample)', factors: '' },
  { name: '48 x 36 crossed, slopes', data: 'kr-crossed', formula: 'y ~ cond * x + (1 + x | subject) + (1 + cond | item)', factors: '' },
  {
    name: 'InstEval',
    data: 'InstEval',
    formula: 'y ~ 1 + service + (1 | s) + (1 | d) + (1 | dept:service)',
    factors: '',
    pbkrtestSkipped: 'pbkrtest forms n x n matrices: 73,421^2 doubles = 43 GB',
  },
];

/** pbkrtest's vcovAdj on the case's lme4 fit, seconds by system.time; undefined without R or pbkrtest. */
function pbkrtestSeconds(c: KenwardRogerCase): number | undefined {
  const script = `suppressMessages({library(lme4); library(pbkrtest)})
d <- read.csv("${path.join(fixtures, c.data + '.csv')}", stringsAsFactors = TRUE)
${c.factors}
fit <- lmer(${c.formula}, d)
cat(system.time(vcovAdj(fit))[["elapsed"]])`;
  return scriptSeconds(script);
}

function kenwardRogerBenchmark(): void {
  const results = [];
  for (const c of krCases) {
    const table = readCSV(path.join(fixtures, `${c.data}.csv`));
    lmer(c.formula, table); // warm-up
    let cpu = process.cpuUsage();
    let t0 = process.hrtime.bigint();
    const fit = lmer(c.formula, table);
    const fitMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const fitCpu = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    t0 = process.hrtime.bigint();
    kenwardRoger(fit);
    const krMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const krCpu = process.cpuUsage(cpu);
    const r = c.pbkrtestSkipped ? undefined : pbkrtestSeconds(c);
    const row = {
      model: c.name,
      rows: fit.n,
      q: fit.terms.reduce((sum, t) => sum + t.nlevels * t.k, 0),
      fitMs: Number(fitMs.toFixed(1)),
      fitCpuMs: Math.round((fitCpu.user + fitCpu.system) / 1000),
      kenwardRogerMs: Number(krMs.toFixed(1)),
      kenwardRogerCpuMs: Math.round((krCpu.user + krCpu.system) / 1000),
      pbkrtestMs: r === undefined ? null : Number((r * 1000).toFixed(0)),
      pbkrtest: c.pbkrtestSkipped ?? (r === undefined ? 'Rscript with pbkrtest not found' : 'vcovAdj, system.time'),
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
  fs.writeFileSync(path.join(root, 'bench', 'results-kr.json'), JSON.stringify(results, null, 2) + '\n');
  console.log('| model | rows | q | fit ms | Kenward-Roger ms (CPU ms) | pbkrtest vcovAdj ms |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results)
    console.log(`| ${r.model} | ${r.rows} | ${r.q} | ${r.fitMs} | ${r.kenwardRogerMs} (${r.kenwardRogerCpuMs}) | ${r.pbkrtestMs ?? r.pbkrtest} |`);
}

const kenwardRogerOnly = process.argv.includes('--kenward-roger');
if (!kenwardRogerOnly) fitBenchmark();
if (kenwardRogerOnly || !only) kenwardRogerBenchmark();
