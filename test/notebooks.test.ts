/**
 * The example notebooks (notebooks/*.ipynb) run headless on the installed neurolmm kernel with
 * Debian's `jupyter nbconvert --execute` (which fails on any cell error), importing the library as
 * "neurolmm" from a directory outside the package, and show lme4's and R's numbers.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { datasets } from '../src/datasets';
import { fixture, lme4References, relativeError } from './helpers';
import { findJupyterPython, installTestKernel, missingPythonMessage, REPO_DIR, TestKernel } from './kernel/jupyter';
import { codeCell, executeNotebook, exportHtml, joined, Notebook, NOTEBOOK_DIR, NOTEBOOK_MODULES, outputOf, problems, readNotebook } from './notebook-run';
import { artifact, launchChromium, openOffline, SKIP_BROWSER } from './widgets/fixtures';

const NOTEBOOKS = ['sleepstudy', 'pixel', 'machines', 'group-analysis', 'hrf-basis'];
/** Executed in blmm-notebook.test.ts, once per data path. */
const BLMM_NOTEBOOK = 'blmm-demo';

const python = findJupyterPython(NOTEBOOK_MODULES);
const skip = python ? false : missingPythonMessage(NOTEBOOK_MODULES);
let kernel: TestKernel | undefined;
/** Executed notebooks by name, run in parallel (one kernel each) before the tests. */
const executed = new Map<string, Promise<Notebook>>();

before(() => {
  if (skip) return;
  kernel = installTestKernel();
  for (const name of NOTEBOOKS) {
    const run = executeNotebook(python!, kernel, name);
    run.catch(() => undefined); // reported by the test that awaits it
    executed.set(name, run);
  }
});

after(() => kernel?.remove());

/** The R references of test/reference/make-r-extensions.R. */
const extensions = () => JSON.parse(readFileSync(path.join(REPO_DIR, 'test', 'fixtures', 'r-extensions.json'), 'utf8'));

interface Printed {
  value: number;
  /** digits after the point; -1 for 4 significant digits in e-notation */
  decimals: number;
  /** printed as '< value' (R's p-value floor) */
  bound?: boolean;
}

/** The row of a printed table starting with `label`, as numbers (other tokens dropped). */
function tableRow(text: string, label: string): Printed[] {
  const line = text.split('\n').find((l) => l.trimStart().startsWith(`${label} `));
  assert.ok(line, `no row '${label}' in\n${text}`);
  return line
    .trim()
    .slice(label.length)
    .trim()
    .split(/\s+/)
    .flatMap((token, i, tokens): Printed[] =>
      /^-?\d+(\.\d+)?(e-?\d+)?$/.test(token)
        ? [{ value: Number(token), decimals: /e/.test(token) ? -1 : (token.split('.')[1] ?? '').length, bound: tokens[i - 1] === '<' }]
        : [],
    );
}

/** A printed number equals the reference to the digits printed. */
function assertPrinted(printed: Printed, reference: number, what: string): void {
  if (printed.bound) {
    assert.ok(reference < printed.value, `${what}: printed < ${printed.value}, reference ${reference}`);
    return;
  }
  const tolerance = printed.decimals < 0 ? Math.abs(reference) * 5e-4 : 0.5 * 10 ** -printed.decimals + 1e-12;
  assert.ok(Math.abs(printed.value - reference) <= tolerance, `${what}: printed ${printed.value}, reference ${reference}`);
}

/** The variances of a printed random-effects table equal lme4's (relative tolerance), in lme4's order. */
function assertVariances(summary: string, fit: string, tolerance: number): void {
  const reference = lme4References()[fit].varcorr.filter((v) => v.var2 === null);
  const table = summary.split('Random effects:\n')[1].split('Number of obs')[0];
  const printed = table
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '')
    .map((line) =>
      Number(
        line
          .trim()
          .split(/\s+/)
          .find((token) => /^\d/.test(token)),
      ),
    );
  assert.equal(printed.length, reference.length, table);
  printed.forEach((variance, i) =>
    assert.ok(relativeError(variance, reference[i].vcov) < tolerance, `${reference[i].grp} ${reference[i].var1}: ${variance} vs lme4 ${reference[i].vcov}`),
  );
}

/** broom / broom.mixed columns per model (test/reference/make-broom.R). */
type BroomColumns = Record<string, (number | string | null)[]>;
const broom: { mixed: Record<string, { tidy: BroomColumns; augment: BroomColumns }> } = JSON.parse(readFileSync(fixture('broom-references.json'), 'utf8'));

/**
 * A printed data-frame row (its index label first) equals the reference row: numbers to the digits
 * printed or to `relative` (what the tidy tests allow for estimates that depend on theta), NaN where R
 * has NA.
 */
function assertFrameRow(text: string, index: number, reference: (number | null)[], relative: number, what: string): void {
  const line = text.split('\n').find((l) => l.startsWith(`${index} `));
  assert.ok(line, `no row ${index} in\n${text}`);
  const numbers = line
    .slice(String(index).length)
    .trim()
    .split(/\s+/)
    .filter((token) => /^(-?\d+(\.\d+)?(e-?\d+)?|NaN)$/.test(token));
  assert.equal(numbers.length, reference.length, `${what}: ${line}`);
  numbers.forEach((token, i) => {
    const expected = reference[i];
    if (expected === null) return assert.equal(token, 'NaN', `${what} column ${i}`);
    const decimals = /e/.test(token) ? -1 : (token.split('.')[1] ?? '').length;
    const tolerance = Math.max(decimals < 0 ? Math.abs(expected) * 5e-4 : 0.5 * 10 ** -decimals, relative * Math.abs(expected));
    assert.ok(Math.abs(Number(token) - expected) <= tolerance, `${what} column ${i}: printed ${token}, reference ${expected}`);
  });
}

/** The numeric cells of row `i` of a broom reference, in its column order. */
const referenceRow = (columns: BroomColumns, i: number, names: string[]): (number | null)[] => names.map((name) => columns[name][i] as number | null);
const TIDY_NUMBERS = ['estimate', 'std.error', 'statistic', 'df', 'p.value', 'conf.low', 'conf.high'];

/** A data-frame output is shown as a rich table. */
function assertRichTable(notebook: Notebook, source: RegExp): void {
  const outputs = codeCell(notebook, source).outputs!;
  assert.ok(
    outputs.some((o) => String(joined(o.data?.['text/html'])).includes('<table')),
    `no HTML table for ${source}`,
  );
}

test('the notebooks are committed without outputs, for the neurolmm kernel', () => {
  const files = readdirSync(NOTEBOOK_DIR).filter((f) => f.endsWith('.ipynb'));
  assert.deepEqual(files.sort(), [...NOTEBOOKS, BLMM_NOTEBOOK].map((n) => `${n}.ipynb`).sort());
  for (const name of [...NOTEBOOKS, BLMM_NOTEBOOK]) {
    const notebook = readNotebook(path.join(NOTEBOOK_DIR, `${name}.ipynb`));
    assert.equal(notebook.metadata.kernelspec.name, 'neurolmm');
    assert.ok(
      notebook.cells.every((c) => (c.outputs ?? []).length === 0),
      `${name}.ipynb has outputs`,
    );
    const first = notebook.cells.find((c) => c.cell_type === 'code')!;
    assert.match(joined(first.source), /from "neurolmm";/, `${name}.ipynb imports the library by its package name`);
  }
});

for (const name of NOTEBOOKS) {
  test(`${name}.ipynb runs without errors or warnings`, { skip }, async () => {
    assert.deepEqual(problems(await executed.get(name)!), []);
  });
}

test('sleepstudy.ipynb: lme4 variance components and the likelihood-ratio table of R', { skip }, async () => {
  const notebook = await executed.get('sleepstudy')!;
  const correlated = outputOf(notebook, /lmer\("Reaction ~ Days \+ \(Days \| Subject\)"/);
  // lme4 1.1-31 prints 612.10 for the intercept variance; our optimum is slightly more exact
  assert.match(correlated, /^ Subject  \(Intercept\) 612\.09   24\.740\s*$/m);
  assert.match(correlated, /^          Days         35\.07    5\.922   0\.07$/m);
  assert.match(correlated, /^ Residual             654\.94   25\.592\s*$/m);
  const note = notebook.cells
    .filter((c) => c.cell_type === 'markdown')
    .map((c) => joined(c.source))
    .join('\n');
  assert.match(note, /612\.09\*\* where lme4 1\.1-31 prints 612\.10/);

  // R 4.2.2 / lme4 1.1-31: anova(sleep_ri, sleep_rs, sleep_lm)
  const reference = JSON.parse(readFileSync(path.join(REPO_DIR, 'test', 'fixtures', 'extra-tests.json'), 'utf8')).likelihood_ratio.sleepstudy_lm_ri_rs
    .table as Record<string, (number | null)[]>;
  const table = outputOf(notebook, /anova\(pooled, intercept, correlated/);
  ['pooled', 'intercept', 'correlated'].forEach((model, i) => {
    const row = tableRow(table, model);
    const columns = i === 0 ? ['npar', 'AIC', 'BIC', 'logLik', 'deviance'] : ['npar', 'AIC', 'BIC', 'logLik', 'deviance', 'Chisq', 'Df', 'p'];
    assert.equal(row.length, columns.length, `${model}: ${JSON.stringify(row)}`);
    columns.forEach((column, j) => assertPrinted(row[j], reference[column][i]!, `${model} ${column}`));
  });
  assert.match(table, /^correlated +6 .* 7\.072e-10 \*\*\*$/m);

  const uncorrelated = outputOf(notebook, /anova\(intercept, uncorrelated, correlated/);
  assert.match(uncorrelated, /^uncorrelated +5 1762\.0 1778\.0 -876\.00 +1752\.0 42\.0754  1  8\.782e-11 \*\*\*$/m);
  assert.match(uncorrelated, /^correlated +6 1763\.9 1783\.1 -875\.97 +1751\.9  0\.0639  1     0\.8004$/m);

  // performance 0.10.2's r2_nakagawa and icc (test/reference/make-r-extensions.R), and the refits agreeing
  const r2Reference = extensions().r2.find((r: { name: string }) => r.name === 'sleepstudy');
  assert.equal(outputOf(notebook, /^r2\(correlated\)/m), r2Reference.r2_text.join('\n'));
  assert.equal(outputOf(notebook, /^icc\(correlated\)/m), r2Reference.icc_text.join('\n'));
  assert.match(outputOf(notebook, /^checkConvergence\(correlated\)/m), /The refits agree with the fit/);

  const figures = notebook.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.['application/vnd.plotly.v1+json']);
  assert.equal(figures.length, 5);

  // the data explored as a danfojs DataFrame
  assertRichTable(notebook, /datasets\.sleepstudy\(\{ dataFrame: true \}\)/);
  assert.match(outputOf(notebook, /datasets\.sleepstudy\(\{ dataFrame: true \}\)/), /^0 249\.5600 +0 308$/m);
  const described = outputOf(notebook, /^sleepstudy\.describe\(\)$/);
  assert.match(described, /^count +180\.00000 180\.000000$/m);
  assert.match(described, /^min +194\.33220 +0\.000000$/m);
  // the five slowest subjects' means, from the data itself
  const sleep = datasets.sleepstudy();
  const reaction = sleep.column('Reaction')!.values as Float64Array;
  const subjects = sleep.column('Subject')!.values as string[];
  const means = [...new Set(subjects)].map((subject) => {
    const own = Array.from(reaction).filter((_, i) => subjects[i] === subject);
    return { subject, mean: own.reduce((a, b) => a + b, 0) / own.length };
  });
  means.sort((a, b) => b.mean - a.mean);
  const slowest = outputOf(notebook, /groupby\(\["Subject"\]\)/)
    .split('\n')
    .slice(1);
  assert.equal(slowest.length, 5);
  slowest.forEach((line, k) => {
    const [, subject, mean] = line.trim().split(/\s+/);
    assert.equal(subject, means[k].subject);
    assert.ok(Math.abs(Number(mean) - means[k].mean) < 5e-5, `${subject}: ${mean} vs ${means[k].mean}`);
  });
  const subject308 = outputOf(notebook, /addColumn\("restricted"/)
    .split('\n')
    .slice(1);
  assert.deepEqual(
    subject308.map((line) => line.trim().split(/\s+/).slice(2)),
    [0, 1, 2, 3, 4].map((day) => [String(day), '308', String(day > 2)]),
  );

  // broom.mixed's tidy and augment of the correlated model
  const broomFit = broom.mixed.sleepstudy;
  const tidied = outputOf(notebook, /^tidy\(correlated/m);
  assertRichTable(notebook, /^tidy\(correlated/m);
  for (let i = 0; i < 6; i++) assertFrameRow(tidied, i, referenceRow(broomFit.tidy, i, TIDY_NUMBERS), 1e-3, `tidy row ${i}`);
  const glanced = outputOf(notebook, /^glance\(\{ intercept/m);
  ['sleepstudy_ri', 'sleepstudy_rs', 'sleepstudy_full'].forEach((fit, i) => {
    const r = lme4References()[fit];
    assertFrameRow(glanced, i, [r.nobs, r.sigma, r.logLik, r.AIC, r.BIC, r.REMLcrit!, r.nobs - (i === 2 ? 6 : 4)], 1e-6, `glance ${fit}`);
  });
  // the three residuals beyond 3.5 sigma the diagnostics section names: rows 8, 57 and 60 of the data
  const outliers = outputOf(notebook, /const diagnostics = augment/);
  [7, 56, 59].forEach((row) =>
    assertFrameRow(
      outliers,
      row,
      [Number(broomFit.augment.Subject[row]), ...referenceRow(broomFit.augment, row, ['Days', 'Reaction', '.fitted', '.resid', '.hat', '.cooksd'])],
      1e-3,
      `augment row ${row}`,
    ),
  );
  assert.deepEqual(
    outliers
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/)[1]),
    ['308', '332', '332'],
  );
  const panels = figures[0].data!['application/vnd.plotly.v1+json'] as { data: { y: number[] }[] };
  assert.equal(panels.data.length, 18 * 3);
  assert.deepEqual(panels.data[0].y.slice(0, 2), [249.56, 258.7047]);
});

test('pixel.ipynb and machines.ipynb: lme4 fits of the nested models and their tests', { skip }, async () => {
  const pixel = await executed.get('pixel')!;
  const nested = outputOf(pixel, /^const quadratic/m);
  assert.match(nested, /REML criterion at convergence: 825\.2/);
  // the REML criterion is flat here: ours is 9e-8 below lme4's, with variances 1e-4 apart
  assertVariances(nested, 'pixel_nested', 2e-4);
  assert.match(outputOf(pixel, /anova\(quadratic, nested/), /^dog\/side +8 843\.26 864\.26 -413\.63 +827\.26 46\.26  1  1\.036e-11 \*\*\*$/m);
  assert.match(outputOf(pixel, /lm\("pixel ~ day \* Dog"/), /^\(Intercept\) 1048\.3518 +7\.1160/m);
  assertRichTable(pixel, /datasets\.Pixel\(\{ dataFrame: true \}\)/);
  assert.match(outputOf(pixel, /^pixel\.describe\(\)$/m), /^count +102\.000000 +102\.00000$/m);
  assert.equal(outputOf(pixel, /pixel\.column\("day"\)\.eq\(0\)/).split('\n').length, 1 + 8);
  assert.match(outputOf(pixel, /groupby\(\["Dog"\]\)/), /^0 1 +1046\.950$/m);
  assert.match(outputOf(pixel, /addColumn\("week"/), /^101 10 +L +8 1161\.1 1\.1428571$/m);
  // the REML criterion is flat here (see above): lme4's variances are 1e-4 off, so 3e-3
  const pixelRanPars = outputOf(pixel, /tidy\(nested, \{ effects: "ran_pars" \}\)/);
  for (let i = 0; i < 5; i++) assertFrameRow(pixelRanPars, i, [broom.mixed.pixel_nested.tidy.estimate[3 + i] as number], 3e-3, `pixel ran_pars ${i}`);
  assert.match(pixelRanPars, /^0 ran_pars Dog:Side sd__\(Intercept\)/m);
  const pixelFits = outputOf(pixel, /^glance\(\{ dog: quadratic/m);
  assert.match(pixelFits, /^1 dog\/side +102 .* 825\.2102 +94$/m);

  const machines = await executed.get('machines')!;
  assertRichTable(machines, /datasets\.Machines\(\{ dataFrame: true \}\)/);
  const perMachine = outputOf(machines, /agg\(\{ score: \["mean", "std"\] \}\)/);
  assert.match(perMachine, /^1 B +60\.32222 +8\.162076$/m);
  assert.equal(outputOf(machines, /groupby\(\["Worker", "Machine"\]\)/).split('\n').length, 1 + 4);
  // worker 6 on machine B: 43.7, 44.2, 43.0 against the overall mean 59.65
  assert.match(outputOf(machines, /addColumn\("centered"/), /^33 6 +B +43\.7 +-15\.95$/m);
  const machineTidy = outputOf(machines, /^tidy\(workerMachine/m);
  for (let i = 0; i < 6; i++) assertFrameRow(machineTidy, i, referenceRow(broom.mixed.machines_nested.tidy, i, TIDY_NUMBERS), 1e-3, `machines tidy row ${i}`);
  assert.match(outputOf(machines, /^glance\(\{ worker: workers/m), /^1 worker\/machine +54 .* 215\.6876 +48$/m);
  const workerMachine = outputOf(machines, /^const workerMachine/m);
  assertVariances(workerMachine, 'machines_nested', 1e-4);
  assert.match(outputOf(machines, /anova\(workers, workerMachine/), /^worker\/machine +6 237\.27 249\.20 -112\.63 +225\.27 68\.434  1  < 2\.2e-16 \*\*\*$/m);
  // B - C = 60.32 - 66.27 on 10 df (the split-plot error stratum)
  const difference = tableRow(outputOf(machines, /contrast\(workerMachine/), '1');
  // lmerTest: estimate -5.95, SE 2.176975, df 10, t -2.73315; df and SE depend on theta, which
  // the optimizer reaches to ~1e-6, so they are compared to the 1e-3 the inference tests use
  const expected = [-5.95, 2.176975, 10, -2.73315];
  difference.slice(0, 4).forEach((c, i) => assert.ok(Math.abs(c.value - expected[i]) <= 1e-3 * Math.abs(expected[i]), `${c.value} vs ${expected[i]}`));
  // emmeans 1.8.4: the machines' means and their Tukey-adjusted pairwise differences, as printed
  const emm = extensions().emm.find((e: { name: string }) => e.name === 'machines');
  assert.equal(outputOf(machines, /^const machineMeans/m), emm.emmeans_text.join('\n').trimEnd());
  assert.equal(outputOf(machines, /^machineMeans\.pairs\(\)/m), emm.pairs_text.join('\n').trimEnd());
});

test('group-analysis.ipynb: every linear-model coding reproduces its classical t statistic', { skip }, async () => {
  const notebook = await executed.get('group-analysis')!;
  const comparisons = notebook.cells
    .filter((c) => c.cell_type === 'code' && /compare\(/.test(joined(c.source)) && !/const compare/.test(joined(c.source)))
    .map((c) => joined(c.outputs!.find((o) => o.output_type === 'execute_result')?.data?.['text/plain']));
  const verdicts = comparisons.flatMap((text) => [...text.matchAll(/equal: (true|false)/g)].map((m) => m[1]));
  assert.deepEqual(verdicts, new Array(8).fill('true'), comparisons.join('\n'));

  // the designs are DataFrames; the dummy-coded model's tidy frame has the two-sample t
  const groupTable = outputOf(notebook, /const groups = new dfd\.DataFrame/);
  assert.match(groupTable, /^0 patient +12 /m);
  assert.match(groupTable, /^1 control +12 /m);
  const twoSample = Number(/model: (-?[\d.e-]+)/.exec(outputOf(notebook, /compare\(tOf\(dummy, "grouppatient"\)/))![1]);
  const grouppatient = outputOf(notebook, /^tidy\(dummy/m)
    .split('\n')
    .find((line) => line.startsWith('1 grouppatient'))!;
  assert.ok(Math.abs(Number(grouppatient.trim().split(/\s+/)[4]) - twoSample) <= 5e-7 * Math.abs(twoSample), `${grouppatient} vs t = ${twoSample}`);
  assertRichTable(notebook, /trendDesign\.query/);
});

test('hrf-basis.ipynb: the overall F test, nlme-style summaries, the brain maps equal to the voxel lme() fit', { skip }, async () => {
  const notebook = await executed.get('hrf-basis')!;
  assert.match(outputOf(notebook, /^const fit = lme\(/m), /Correlation Structure: AR\(1\)\n Formula: ~order \| Subj/);
  // all eight basis functions tested at once, on nlme's within-subject df (160 - 20 - 7)
  assert.match(outputOf(notebook, /^anova\(fit\)$/m), /^Time +8 +133 +[\d.]+ +<\.0001$/m);
  assert.match(outputOf(notebook, /^const ci = intervals/m), /Correlation structure:\n +lower +est\. +upper\nPhi /);
  assert.match(outputOf(notebook, /^anova\(independent, fit/m), /^AR\(1\) +2 11 .* 1 vs 2 /m);
  const figures = notebook.cells.flatMap((c) => c.outputs ?? []).filter((o) => o.data?.['application/vnd.plotly.v1+json']);
  assert.equal(figures.length, 2, 'the group HRF and the F map');
  // the responding voxels are found, the silent ones are not
  const detected = /responding: (\d+), silent: (\d+)/.exec(outputOf(notebook, /^const detected/m))!;
  assert.ok(Number(detected[1]) >= 6 && Number(detected[2]) <= 1, detected[0]);
  const parity = outputOf(notebook, /^const i = 14;/m);
  for (const key of ['F', 'Phi', 'logLik']) {
    const [brain, roi] = new RegExp(`${key}: \\[ (-?[\\d.e-]+), (-?[\\d.e-]+) \\]`).exec(parity)!.slice(1).map(Number);
    assert.ok(Math.abs(brain - roi) <= 1e-6 * Math.max(1, Math.abs(roi)), `${key}: ${brain} vs ${roi}`);
  }
});

/** Plotly figures in an exported page, each drawn (Plotly's layout and SVG present). */
async function drawnFigures(file: string): Promise<{ figures: number; drawn: number; errors: string[] }> {
  const browser = await launchChromium();
  try {
    const errors: string[] = [];
    const page = await openOffline(browser, file, errors);
    await page.waitForLoadState('load');
    const counts = await page.evaluate(() => {
      const figures = Array.from(document.querySelectorAll('.neurolmm-plotly')) as (HTMLElement & { _fullLayout?: unknown })[];
      return { figures: figures.length, drawn: figures.filter((f) => f._fullLayout !== undefined && f.querySelector('svg.main-svg')).length };
    });
    await page.screenshot({ path: file.replace(/\.html$/, '.png') });
    return { ...counts, errors };
  } finally {
    await browser.close();
  }
}

const PLOTLY_LIBRARY = 'plotly.js v';
for (const name of ['sleepstudy', 'pixel']) {
  test(
    `${name}.ipynb: plotly.js goes into the executed notebook once; its HTML export draws every figure with no network`,
    { skip: skip || SKIP_BROWSER },
    async () => {
      await executed.get(name)!;
      const file = path.join(kernel!.workDir, `${name}.executed.ipynb`);
      const text = readFileSync(file, 'utf8');
      assert.equal(text.split(PLOTLY_LIBRARY).length - 1, 1, 'plotly.js inlined once');
      assert.ok(statSync(file).size < 6e6, `${name}.executed.ipynb is ${statSync(file).size} bytes`);
      const figures = readNotebook(file)
        .cells.flatMap((c) => c.outputs ?? [])
        .filter((o) => o.data?.['application/vnd.plotly.v1+json']).length;
      assert.ok(figures > 0, 'the notebook shows Plotly figures');

      const drawn = await drawnFigures(exportHtml(python!, kernel!, file, artifact(`${name}-export.html`)));
      assert.deepEqual(drawn, { figures, drawn: figures, errors: [] });
    },
  );
}
