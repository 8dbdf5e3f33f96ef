/**
 * notebooks/blmm-demo.ipynb executed headless on the neurolmm kernel, once per data path: with the
 * BLMM demo folder (NEUROLMM_BLMM_DEMO, default ../shared/data/blmm-demo), with the variable naming a
 * missing folder (the notebook simulates and fits a folder of the same layout), and with a folder
 * lacking part of the layout (the first code cell stops with a message naming what is missing).
 * Printed ranges are checked against the .dat files read here; each run's HTML export (nbconvert,
 * template neurolmm) is opened in headless Chromium with no network and must draw every viewer.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { WIDGET_STATE_MIME, WIDGET_VIEW_MIME } from '../src/viewers/widget-state';
import { findJupyterPython, installTestKernel, missingPythonMessage, TestKernel } from './kernel/jupyter';
import { codeCell, executeNotebook, exportHtml, joined, Notebook, NOTEBOOK_MODULES, outputOf, problems } from './notebook-run';
import { artifact, BLMM_DEMO, launchChromium, openOffline, SKIP_BROWSER, SKIP_DEMO } from './widgets/fixtures';

const CONTRASTS = ['Intercept', 'Sex', 'Cross-sectional age', 'Longitudinal time', 'NIH score'];
const FSAVERAGE5 = 10242;
/** Per cell: the simulated path fits both designs on both hemispheres in one cell. */
const CELL_TIMEOUT = 600;

const python = findJupyterPython(NOTEBOOK_MODULES);
const SKIP_JUPYTER = python ? false : missingPythonMessage(NOTEBOOK_MODULES);

let kernel: TestKernel | undefined;
const runs = new Map<'demo' | 'simulated' | 'incomplete', Promise<Notebook>>();
const MISSING = 'no-such-blmm-folder';

before(() => {
  if (SKIP_JUPYTER) return;
  kernel = installTestKernel();
  const incomplete = path.join(kernel.workDir, 'incomplete-blmm');
  for (const entry of ['geom', 'results_lh_des1']) mkdirSync(path.join(incomplete, entry), { recursive: true });
  for (const hemi of ['lh', 'rh']) writeFileSync(path.join(incomplete, 'geom', `${hemi}.pial`), '');
  const start = (name: 'demo' | 'simulated' | 'incomplete', folder: string) => {
    const run = executeNotebook(python!, kernel!, 'blmm-demo', { output: `blmm-${name}.ipynb`, env: { NEUROLMM_BLMM_DEMO: folder }, timeout: CELL_TIMEOUT });
    run.catch(() => undefined); // reported by the test that awaits it
    runs.set(name, run);
  };
  if (!SKIP_DEMO) start('demo', BLMM_DEMO);
  start('simulated', path.join(kernel.workDir, MISSING));
  start('incomplete', incomplete);
});

after(() => kernel?.remove());

/**
 * One volume of a BLMM map read here: finite values inside the mask (int32 in design folders, float32
 * in compare), min and max to the 4 significant digits the notebook prints.
 */
function datRange(
  folder: string,
  statistic: string,
  nvol: number,
  volume: number,
  design = statistic.startsWith('Chi2') ? 'compare' : 'des1',
): { min: number; max: number; vertices: number } {
  let min = Infinity,
    max = -Infinity,
    vertices = 0;
  for (const hemi of ['lh', 'rh']) {
    const dir = path.join(folder, `results_${hemi}_${design}`);
    const values = new Float32Array(readFileSync(path.join(dir, `blmm_vox_${statistic}.dat`)).buffer.slice(0));
    // a nonzero bit pattern is a nonzero value in either type
    const mask = new Int32Array(readFileSync(path.join(dir, 'blmm_vox_mask.dat')).buffer.slice(0));
    assert.equal(values.length, nvol * FSAVERAGE5, `${dir} ${statistic}`);
    for (let i = 0; i < FSAVERAGE5; i++) {
      const x = values[i * nvol + volume];
      if (mask[i] === 0 || !Number.isFinite(x)) continue;
      min = Math.min(min, x);
      max = Math.max(max, x);
      vertices++;
    }
  }
  const digits = (x: number) => Number(x.toPrecision(4)) + 0; // -0 (Chi2lp where p = 1) prints as 0
  return { min: digits(min), max: digits(max), vertices };
}

/** The range line the notebook prints for `<design> <statistic> [<volume name>]`, as numbers. */
function printedRange(text: string, label: string): { min: number; max: number; vertices: number } {
  const escaped = label.replace(/[[\]]/g, '\\$&');
  const match = new RegExp(`^${escaped}: min (\\S+), max (\\S+) over (\\d+) vertices$`, 'm').exec(text);
  assert.ok(match, `no line '${label}: min ..., max ... over ... vertices' in\n${text}`);
  return { min: Number(match[1]), max: Number(match[2]), vertices: Number(match[3]) };
}

/** Every range the notebook prints equals the one computed here from the folder's .dat files. */
function assertRanges(notebook: Notebook, folder: string, betaVolumes: number): void {
  const contrasts = outputOf(notebook, /for \(let volume = 0; volume < CONTRASTS\.length/);
  CONTRASTS.forEach((name, v) => assert.deepEqual(printedRange(contrasts, `des1 conT [${name}]`), datRange(folder, 'conT', 5, v), `conT ${name}`));
  const first = outputOf(notebook, /const viewer = SurfaceViewer\.fromBlmm/);
  assert.deepEqual(printedRange(first, 'des1 conT [Sex]'), datRange(folder, 'conT', 5, 1));
  const statistics = outputOf(notebook, /\["beta", 1\], \["conT", 1\]/);
  assert.deepEqual(printedRange(statistics, 'des1 beta [beta 2]'), datRange(folder, 'beta', betaVolumes, 1));
  assert.deepEqual(printedRange(statistics, 'des1 conTlp [Sex]'), datRange(folder, 'conTlp', 5, 1));
  assert.deepEqual(printedRange(statistics, 'des1 sigma2 [sigma2]'), datRange(folder, 'sigma2', 1, 0));
  const comparison = outputOf(notebook, /const comparison = SurfaceViewer\.fromBlmm/);
  assert.deepEqual(printedRange(comparison, 'compare Chi2 [Chi2]'), datRange(folder, 'Chi2', 1, 0));
  assert.deepEqual(printedRange(comparison, 'compare Chi2lp [Chi2lp]'), datRange(folder, 'Chi2lp', 1, 0));
  const covariance = outputOf(notebook, /printRange\("des2", "D", volume\)/);
  ['D11', 'D21', 'D22'].forEach((name, v) => assert.deepEqual(printedRange(covariance, `des2 D [${name}]`), datRange(folder, 'D', 3, v, 'des2'), name));
}

interface SavedModel {
  model_name: string;
  state: { maps?: { statistic: string; hemi: string; nvol: number; names: string[] }[]; [key: string]: unknown };
  buffers?: { path: (string | number)[]; data: string }[];
}
const savedState = (notebook: Notebook) => notebook.metadata.widgets![WIDGET_STATE_MIME] as { state: Record<string, SavedModel> };
const viewOutputs = (notebook: Notebook) =>
  notebook.cells.flatMap((c) => c.outputs ?? []).flatMap((o) => (o.data?.[WIDGET_VIEW_MIME] ? [o.data[WIDGET_VIEW_MIME] as { model_id: string }] : []));

/**
 * The lmerBrain section: its summary counts the 400-vertex patch of 10,242 vertices; the click refits
 * the vertex of largest |conT| for Longitudinal time (found here in the viewer's saved map) with
 * lmer(), whose fixed effects equal the whole-brain beta there.
 */
function assertBrainFitSection(notebook: Notebook): void {
  const summary = outputOf(notebook, /const fit = await lmerBrain/);
  assert.match(summary, /^Formula: y ~ sex \+ age \+ time \+ nih \+ \(1 \| subject\)$/m);
  assert.match(summary, /^Images: 450   Voxels: 10242   In mask: 400   Fitted: 400   Failed: 0$/m);

  // the last widget shown is the lmerBrain fit's viewer
  const model = savedState(notebook).state[viewOutputs(notebook).at(-1)!.model_id];
  assert.match(String(model.state.title), /^lmerBrain on simulated data/);
  const index = model.state.maps!.findIndex((m) => m.statistic === 'conT');
  assert.deepEqual(model.state.maps![index].names, CONTRASTS);
  const buffer = model.buffers!.find((b) => b.path.join('/') === `maps/${index}/values`)!;
  const bytes = Buffer.from(buffer.data, 'base64');
  // copied: a small decoded Buffer may sit at an offset that is not a multiple of 4
  const time = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)).subarray(3 * FSAVERAGE5, 4 * FSAVERAGE5);
  let peak = -1,
    fitted = 0;
  time.forEach((x, i) => {
    if (Number.isNaN(x)) return;
    fitted++;
    if (peak < 0 || Math.abs(x) > Math.abs(time[peak])) peak = i;
  });
  assert.equal(fitted, 400);

  const click = codeCell(notebook, /fitViewer\.on\("click"/).outputs!;
  const line = joined(click.find((o) => o.name === 'stdout')?.text);
  const match = /^lh vertex (\d+): lmer\(\) on its 450 images; largest \|fixef - whole-brain beta\| = (\S+)$/m.exec(line);
  assert.ok(match, line);
  assert.equal(Number(match[1]), peak);
  // float32 maps against the double-precision refit
  assert.ok(Number(match[2]) < 1e-6, `refit differs from the map by ${match[2]}`);
  const refit = joined(click.find((o) => o.output_type === 'display_data')?.data?.['text/plain']);
  assert.match(refit, /^Number of obs: 450, groups: +subject, 250$/m);
}

/** The meshes each rendered view draws: [hemisphere, vertices] per mesh3d trace. */
async function renderedMeshes(browser: Browser, file: string): Promise<{ meshes: [string, number][][]; controls: Record<string, string>[]; errors: string[] }> {
  const errors: string[] = [];
  const page = await openOffline(browser, file, errors);
  try {
    await page.evaluate(() => (window as any).neurolmmWidgets.rendered);
    await page.waitForFunction(
      () => {
        const plots = Array.from(document.querySelectorAll('.neurolmm-plot')) as any[];
        return plots.length > 0 && plots.every((gd) => gd._fullLayout !== undefined);
      },
      undefined,
      { timeout: 120_000 },
    );
    const result = await page.evaluate(() => ({
      meshes: (Array.from(document.querySelectorAll('.neurolmm-plot')) as any[]).map((gd) =>
        gd.data.filter((t: any) => t.type === 'mesh3d').map((t: any) => [t.meta.hemi, t.x.length]),
      ),
      controls: Array.from(document.querySelectorAll('.neurolmm-controls')).map((controls) =>
        Object.fromEntries(Array.from(controls.querySelectorAll('select')).map((s: any) => [s.name, s.value])),
      ),
    }));
    await page.screenshot({ path: file.replace(/\.html$/, '.png'), fullPage: true });
    return { ...result, errors };
  } finally {
    await page.close();
  }
}

const BOTH = [
  ['lh', FSAVERAGE5],
  ['rh', FSAVERAGE5],
];

/**
 * Views in output order: the demo's viewer shown once (viewer.set cells update it; its last state:
 * design 2's D22), the comparison, and the lmerBrain patch on the left hemisphere.
 */
function assertRendered(rendered: Awaited<ReturnType<typeof renderedMeshes>>): void {
  assert.deepEqual(rendered.errors, []);
  assert.deepEqual(rendered.meshes, [BOTH, BOTH, [['lh', FSAVERAGE5]]]);
  assert.deepEqual(rendered.controls[0], { hemisphere: 'both', design: 'des2', statistic: 'D', volume: '2' });
  assert.deepEqual(rendered.controls[1], { hemisphere: 'both', design: 'compare', statistic: 'Chi2lp', volume: '0' });
  assert.equal(rendered.controls[2].statistic, 'conT');
  assert.equal(rendered.controls[2].volume, '3');
}

describe('blmm-demo.ipynb', { skip: SKIP_JUPYTER }, () => {
  let browser: Browser | undefined;
  after(async () => browser?.close());
  const chromium = async () => (browser ??= await launchChromium());

  it('with the demo folder: says so, prints the ranges of the .dat files, fits the patch and refits the clicked vertex', { skip: SKIP_DEMO }, async () => {
    const notebook = await runs.get('demo')!;
    assert.deepEqual(problems(notebook), []);
    assert.equal(outputOf(notebook, /const haveDemo/).trim(), `Path: the BLMM demo results (ABCD n-back) in ${BLMM_DEMO}`);
    assert.equal(outputOf(notebook, /function icosphere/).trim(), 'The demo results are there: nothing to simulate.');
    // ABCD design 1 has 23 fixed effects
    assertRanges(notebook, BLMM_DEMO, 23);
    assertBrainFitSection(notebook);
  });

  it(
    'with the demo folder: its HTML export (nbconvert, template neurolmm) draws 10,242 vertices per hemisphere in Chromium with no network',
    { skip: SKIP_DEMO || SKIP_BROWSER },
    async () => {
      await runs.get('demo')!;
      const page = exportHtml(python!, kernel!, 'blmm-demo.ipynb', artifact('blmm-notebook-demo.html'));
      assertRendered(await renderedMeshes(await chromium(), page));
    },
  );

  it('with NEUROLMM_BLMM_DEMO naming a missing folder: says so, simulates both designs with lmerBrain and shows them', async () => {
    const notebook = await runs.get('simulated')!;
    assert.deepEqual(problems(notebook), []);
    const message = outputOf(notebook, /const haveDemo/).trim();
    const match =
      /^Path: simulated\. There are no BLMM demo results at (.+) \(from NEUROLMM_BLMM_DEMO\), so the next cell simulates an fsaverage5-sized analysis with lmerBrain and writes it to (\S+)$/.exec(
        message,
      );
    assert.ok(match, message);
    assert.equal(match[1], path.join(kernel!.workDir, MISSING));
    const simulated = match[2];
    const fits = outputOf(notebook, /function icosphere/);
    for (const hemi of ['lh', 'rh'])
      assert.match(fits, new RegExp(`^${hemi}: 140 images of 60 subjects at 10242 vertices, design 1 in [\\d.]+ s, design 2 in [\\d.]+ s$`, 'm'));
    // the simulation has the five contrasts' coefficients only; every vertex is fitted
    assertRanges(notebook, simulated, 5);
    assert.equal(datRange(simulated, 'conT', 5, 1).vertices, 2 * FSAVERAGE5);
    assertBrainFitSection(notebook);
  });

  it(
    'with NEUROLMM_BLMM_DEMO naming a missing folder: its HTML export draws 10,242 vertices per hemisphere in Chromium with no network',
    { skip: SKIP_BROWSER },
    async () => {
      await runs.get('simulated')!;
      const page = exportHtml(python!, kernel!, 'blmm-simulated.ipynb', artifact('blmm-notebook-simulated.html'));
      assertRendered(await renderedMeshes(await chromium(), page));
    },
  );

  it('with a folder lacking part of the layout: the first code cell names what is missing', async () => {
    const failure = await runs.get('incomplete')!.then(
      () => assert.fail('the notebook ran on an incomplete folder'),
      (err: Error) => err.message,
    );
    assert.match(
      failure,
      /DataError: \S*incomplete-blmm is not a BLMM demo folder: it lacks results_lh_des2, results_lh_compare, results_rh_des1, results_rh_des2, results_rh_compare \(NEUROLMM_BLMM_DEMO must name a folder with geom\/\{lh,rh\}\.pial and results_\{lh,rh\}_\{des1,des2,compare\}\/; unset it to use the simulated analysis\)/,
    );
  });
});
