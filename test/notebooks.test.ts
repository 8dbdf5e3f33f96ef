/**
 * The example notebooks (notebooks/*.ipynb) run headless on the installed neurolmm kernel with
 * Debian's `jupyter nbconvert --execute` (which fails on any cell error), importing the library as
 * "neurolmm" from a directory outside the package, and show lme4's and R's numbers.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { lme4References, relativeError } from './helpers';
import { findJupyterPython, installTestKernel, missingPythonMessage, REPO_DIR, TestKernel } from './kernel/jupyter';
import { executeNotebook, joined, Notebook, NOTEBOOK_DIR, NOTEBOOK_MODULES, outputOf, problems, readNotebook } from './notebook-run';

const NOTEBOOKS = ['sleepstudy', 'pixel', 'machines', 'group-analysis'];
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
    .map((line) => Number(line.trim().split(/\s+/).find((token) => /^\d/.test(token))));
  assert.equal(printed.length, reference.length, table);
  printed.forEach((variance, i) =>
    assert.ok(relativeError(variance, reference[i].vcov) < tolerance, `${reference[i].grp} ${reference[i].var1}: ${variance} vs lme4 ${reference[i].vcov}`),
  );
}

test('the notebooks are committed without outputs, for the neurolmm kernel', () => {
  const files = readdirSync(NOTEBOOK_DIR).filter((f) => f.endsWith('.ipynb'));
  assert.deepEqual(files.sort(), [...NOTEBOOKS, BLMM_NOTEBOOK].map((n) => `${n}.ipynb`).sort());
  for (const name of [...NOTEBOOKS, BLMM_NOTEBOOK]) {
    const notebook = readNotebook(path.join(NOTEBOOK_DIR, `${name}.ipynb`));
    assert.equal(notebook.metadata.kernelspec.name, 'neurolmm');
    assert.ok(notebook.cells.every((c) => (c.outputs ?? []).length === 0), `${name}.ipynb has outputs`);
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
  const note = notebook.cells.filter((c) => c.cell_type === 'markdown').map((c) => joined(c.source)).join('\n');
  assert.match(note, /612\.09\*\* where lme4 1\.1-31 prints 612\.10/);

  // R 4.2.2 / lme4 1.1-31: anova(sleep_ri, sleep_rs, sleep_lm)
  const reference = JSON.parse(readFileSync(path.join(REPO_DIR, 'test', 'fixtures', 'extra-tests.json'), 'utf8')).likelihood_ratio
    .sleepstudy_lm_ri_rs.table as Record<string, (number | null)[]>;
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

  const machines = await executed.get('machines')!;
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
});
