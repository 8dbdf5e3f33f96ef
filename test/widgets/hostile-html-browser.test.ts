/**
 * Every HTML output rendered in headless Chromium with hostile names: a CSV file named
 * `<img src=x onerror=alert(1)>.csv`, columns and factor levels holding markup. Each output type
 * (lmer, lm and gls fits, anova tables, contrasts, intervals, data frames, plots, whole-brain fits,
 * widgets, viewers' and figures' toHTML pages) must show the names as text and run no script of
 * them: any alert() fails the test.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Browser, Page } from 'playwright-core';
import { anova, confint, contrast, gls, lm, lmer, readCSV, SurfaceViewer, VolumeViewer } from '../../src';
import { lmerBrainSync } from '../../src/brain/lmerbrain';
import { mimeBundleOf } from '../../src/display/mime';
import { PlotlyFigure, setPlotlyInlining } from '../../src/display/plotly';
import { caterpillarPlot, qqPlot, residualsVsFitted, shrinkagePlot, subjectPanels } from '../../src/plots';
import { datasets } from '../../src/datasets';
import { SKIP_BROWSER, icosphere, launchChromium } from './fixtures';

const FILE_NAME = '<img src=x onerror=alert(1)>.csv';
const RESPONSE = '<img src=y onerror=alert(2)>';
const COVARIATE = '</td><script>alert(3)</script>';
const GROUP = '"><svg onload=alert(4)>';
const LEVEL = (s: string) => `<iframe srcdoc="<script>parent.alert(5)</script>">${s}`;
const PAYLOADS = [FILE_NAME, RESPONSE, COVARIATE, GROUP];

/** sleepstudy with hostile column names and subject labels, written to a CSV file of a hostile name. */
function hostileCsv(dir: string): string {
  const sleep = datasets.sleepstudy();
  const [reaction, days, subject] = ['Reaction', 'Days', 'Subject'].map((name) => sleep.column(name)!.values);
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const lines = [[RESPONSE, COVARIATE, GROUP].map(quote).join(',')];
  for (let i = 0; i < sleep.nrows; i++) lines.push(`${reaction[i]},${days[i]},${quote(LEVEL(String(subject[i])))}`);
  const file = path.join(dir, FILE_NAME);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const name = (s: string) => `\`${s}\``;

/** Markup that Plotly's text parser would draw (bold, a line break, a decoded entity) rather than show. */
const PLOTLY_MARKUP = '<b>bold</b><br>a &amp; b <a href="javascript:alert(6)">link</a>';
const PLAIN_TITLE = 'Age effect (t), left hemisphere';

/**
 * The Plotly title and colorbar title of the widget inside `container` as the page shows them:
 * their text, how many styled, linked or extra-line elements Plotly drew in them, and whether
 * the title has a size.
 */
async function plotlyLabels(page: Page, container: string): Promise<{ title: string; colorbar: string; styled: number; visible: boolean }> {
  return page.evaluate((selector) => {
    const root = document.querySelector(selector)!;
    const title = root.querySelector('.gtitle') as SVGGraphicsElement;
    const colorbar = root.querySelector('.cbtitle text')!;
    const box = title.getBBox();
    return {
      title: title.textContent ?? '',
      colorbar: colorbar.textContent ?? '',
      styled: [title, colorbar].reduce((n, el) => n + el.querySelectorAll('tspan[style], a, tspan.line ~ tspan.line').length, 0),
      visible: box.width > 0 && box.height > 0,
    };
  }, container);
}

describe('hostile names in every HTML output', { skip: SKIP_BROWSER }, () => {
  let dir: string;
  let browser: Browser;
  const alerts: string[] = [];
  const errors: string[] = [];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'neurolmm-hostile-'));
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function open(load: (page: Page) => Promise<unknown>): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    page.on('dialog', (d) => {
      alerts.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await load(page);
    return page;
  }

  it('fits, tables, data frames, plots and widgets of a notebook output area', async () => {
    const data = readCSV(hostileCsv(dir));
    const formula = `${name(RESPONSE)} ~ ${name(COVARIATE)} + (${name(COVARIATE)} | ${name(GROUP)})`;
    const fit = lmer(formula, data);
    const fixed = lm(`${name(RESPONSE)} ~ ${name(COVARIATE)}`, data);
    const intercept = lmer(`${name(RESPONSE)} ~ ${name(COVARIATE)} + (1 | ${name(GROUP)})`, data);
    const grid = icosphere(1);
    const brain = lmerBrainSync(`${name(RESPONSE)} ~ ${name(COVARIATE)} + (1 | ${name(GROUP)})`, data, {
      images: Float32Array.from({ length: data.nrows * 4 }, (_, k) => 250 + Math.sin(k) * 30 + (k % 7)),
      contrasts: { hostile: name(COVARIATE) },
    });
    setPlotlyInlining('first-output');
    const outputs: Record<string, unknown> = {
      lmer: fit,
      lm: fixed,
      gls: gls(`${name(RESPONSE)} ~ ${name(COVARIATE)}`, data),
      anovaType3: anova(fit, { type: 3 }),
      anovaLRT: anova(fixed, intercept, fit),
      contrast: contrast(fit, { [name(COVARIATE)]: 1 }),
      confint: confint(fit),
      table: data,
      records: [{ [RESPONSE]: 1, [GROUP]: LEVEL('a') }],
      brain,
      residualsVsFitted: residualsVsFitted(fit),
      qqPlot: qqPlot(fit),
      caterpillar: caterpillarPlot(fit),
      panels: subjectPanels(fit, { x: name(COVARIATE) }),
      shrinkage: shrinkagePlot(fit),
      surface: new SurfaceViewer({ surface: { lh: grid }, maps: { [RESPONSE]: new Float32Array(grid.nvertices) }, title: RESPONSE }),
    };
    const fragments = Object.entries(outputs).map(([key, value]) => {
      const bundle = mimeBundleOf(value);
      const markup = String(bundle['text/html'] ?? `<pre>${String(bundle['text/plain']).replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`)}</pre>`);
      return `<section data-output="${key}">${markup}</section>`;
    });
    // JupyterLab puts text/html into the page and runs its scripts (trusted outputs): so does this page
    const page = await open(async (page) => {
      await page.setContent(`<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>${fragments.join('\n')}</body></html>`, { timeout: 180_000 });
      await page.waitForFunction(() => document.querySelectorAll('.neurolmm-plotly .main-svg').length >= 5, undefined, { timeout: 180_000 });
      await page.waitForFunction(() => document.querySelector('section[data-output="surface"] .gtitle') !== null, undefined, { timeout: 60_000 });
    });
    const surfaceLabels = await plotlyLabels(page, 'section[data-output="surface"]');
    const text = await page.evaluate(() =>
      Object.fromEntries(Array.from(document.querySelectorAll('section')).map((s: any) => [s.dataset.output as string, (s.textContent ?? '') as string])),
    );
    await page.close();
    assert.deepEqual(alerts, []);
    assert.deepEqual(errors, []);
    // the names are shown as text, where each output shows them
    assert.ok(text.lm.includes(`data = ${FILE_NAME}`), 'the lm call shows the file name');
    assert.ok(text.lmer.includes(`Data: ${FILE_NAME}`) && text.lmer.includes(GROUP), 'the lmer summary shows the data and group names');
    for (const key of ['anovaType3', 'confint', 'table', 'gls']) assert.ok(text[key].includes(COVARIATE), `${key} shows the covariate`);
    assert.ok(text.anovaLRT.includes(FILE_NAME), 'the LRT table names the data');
    assert.ok(text.records.includes(LEVEL('a')), 'a data frame cell is text');
    assert.ok(text.residualsVsFitted.includes(`Residuals vs fitted: ${name(RESPONSE)}`), `the plot title is literal: ${text.residualsVsFitted}`);
    assert.ok(text.caterpillar.includes(GROUP), 'the caterpillar plot names the group literally');
    // the widget's Plotly title and colorbar show the characters typed, not entities
    assert.deepEqual(surfaceLabels, { title: RESPONSE, colorbar: RESPONSE, styled: 0, visible: true });
  });

  it('standalone pages: viewers and figures written with toHTML', async () => {
    const grid = icosphere(2);
    const pages = {
      surface: new SurfaceViewer({
        surface: { lh: grid },
        maps: { [RESPONSE]: Float32Array.from({ length: grid.nvertices }, (_, i) => Math.sin(i)) },
        title: FILE_NAME,
      }).toHTML(path.join(dir, 'surface.html')),
      volume: new VolumeViewer({
        stat: {
          dims: [4, 4, 4],
          data: Float32Array.from({ length: 64 }, (_, i) => i - 32),
          affine: [
            [2, 0, 0, 0],
            [0, 2, 0, 0],
            [0, 0, 2, 0],
            [0, 0, 0, 1],
          ],
          nvol: 1,
        },
        names: [COVARIATE],
        statistic: GROUP,
        title: FILE_NAME,
      }).toHTML(path.join(dir, 'volume.html')),
      figure: new PlotlyFigure({ data: [{ type: 'scatter', x: [1, 2], y: [3, 4], name: RESPONSE }], layout: { title: FILE_NAME } }),
    };
    const figureFile = path.join(dir, 'figure.html');
    pages.figure.toHTML(figureFile);
    // the surface viewer's title and colorbar are Plotly's: markup Plotly would draw, and a plain title
    const titled = (title: string, statistic: string) =>
      new SurfaceViewer({ surface: { lh: grid }, maps: { [statistic]: Float32Array.from({ length: grid.nvertices }, (_, i) => Math.cos(i)) }, title });
    titled(PLOTLY_MARKUP, PLOTLY_MARKUP).toHTML(path.join(dir, 'markup.html'));
    titled(PLAIN_TITLE, 't').toHTML(path.join(dir, 'plain.html'));
    const expectedLabels: Record<string, { title: string; colorbar: string }> = {
      surface: { title: FILE_NAME, colorbar: RESPONSE },
      markup: { title: PLOTLY_MARKUP, colorbar: PLOTLY_MARKUP },
      plain: { title: PLAIN_TITLE, colorbar: 't' },
    };
    const files = {
      surface: path.join(dir, 'surface.html'),
      volume: path.join(dir, 'volume.html'),
      figure: figureFile,
      markup: path.join(dir, 'markup.html'),
      plain: path.join(dir, 'plain.html'),
    };
    for (const [key, file] of Object.entries(files)) {
      const page = await open(async (page) => {
        await page.goto(`file://${file}`);
        if (key === 'figure') await page.waitForFunction(() => document.querySelector('.neurolmm-plotly .main-svg') !== null);
        else await page.evaluate(() => (window as any).neurolmmWidgets.rendered);
      });
      // the viewers' pages are titled by their description, which names the maps
      if (!expectedLabels[key] || key === 'surface')
        assert.ok((await page.title()).includes(key === 'figure' ? FILE_NAME : key === 'surface' ? RESPONSE : 'VolumeViewer'), `${key}: the title is literal`);
      if (expectedLabels[key]) {
        await page.waitForFunction(() => document.querySelector('.gtitle') !== null, undefined, { timeout: 60_000 });
        assert.deepEqual(await plotlyLabels(page, 'body'), { ...expectedLabels[key], styled: 0, visible: true }, `${key}: Plotly's labels show the text typed`);
      }
      await page.close();
    }
    assert.deepEqual(alerts, []);
    assert.deepEqual(errors, []);
  });

  it('payloads do run when not escaped (the test can fail)', async () => {
    const page = await open((page) => page.setContent(`<!DOCTYPE html><body>${PAYLOADS[0]}</body>`));
    await page.waitForFunction(() => true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await page.close();
    assert.deepEqual(alerts.splice(0), ['1']);
  });
});
