/**
 * The JupyterLab 4 prebuilt extension loaded the way JupyterLab loads one, in headless Chromium: its
 * module-federation container (static/remoteEntry.*.js) is initialised with a share scope in which
 * the host provides @jupyter-widgets/base; the plugin must require the host's registry token, register
 * the widget module, and the module it registers must render a SurfaceViewer from saved state.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { SurfaceViewer, savedWidgetState } from '../../src/viewers';
import { REPO, SKIP_BROWSER, artifact, launchChromium, syntheticBrain, vertexMap } from './fixtures';

const LAB = path.join(REPO, 'widgets', 'dist', 'labextension');
const SKIP = SKIP_BROWSER || (fs.existsSync(path.join(LAB, 'package.json')) ? false : `${LAB} not built (npm run build:widgets)`);

describe('JupyterLab prebuilt extension', { skip: SKIP }, () => {
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    // The host side: JupyterLab with jupyterlab_widgets provides @jupyter-widgets/base; html-manager
    // stands in for its widget manager.
    const hostEntry = artifact('lab-host-entry.js');
    fs.writeFileSync(
      hostEntry,
      "import * as base from '@jupyter-widgets/base';\n" +
        "import { HTMLManager } from '@jupyter-widgets/html-manager/lib/htmlmanager';\n" +
        'window.host = { base, HTMLManager };\n',
    );
    await esbuild.build({
      entryPoints: [hostEntry],
      bundle: true,
      format: 'iife',
      outfile: artifact('lab-host.js'),
      nodePaths: [path.join(REPO, 'node_modules')],
      loader: { '.css': 'empty', '.woff': 'empty', '.woff2': 'empty', '.ttf': 'empty', '.eot': 'empty', '.svg': 'empty' },
      logLevel: 'error',
    });
    const manifest = JSON.parse(fs.readFileSync(path.join(LAB, 'package.json'), 'utf8'));
    const html = artifact('lab-host.html');
    fs.writeFileSync(
      html,
      '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>' +
        `<script src="lab-host.js"></script><script src="${path.join(LAB, manifest.jupyterlab._build.load)}"></script>` +
        '<div id="out"></div></body></html>',
    );
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 900, height: 650 } });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`file://${html}`);
  });

  after(async () => {
    await browser?.close();
  });

  it('the plugin requires the host registry token and registers neurolmm-widgets', async () => {
    const registered = await page.evaluate(async () => {
      const w = window as any;
      const { base } = w.host;
      const version = '6.0.12';
      const scope: any = { '@jupyter-widgets/base': { [version]: { get: () => Promise.resolve(() => base), loaded: 1, from: 'host' } } };
      const container = w._JUPYTERLAB['neurolmm-widgets'];
      await container.init(scope);
      const plugin = (await container.get('./extension'))().default;
      const registrations: any[] = [];
      plugin.activate({}, { registerWidget: (data: any) => registrations.push(data) });
      const exports = await registrations[0].exports();
      w.labModule = exports;
      return {
        id: plugin.id,
        autoStart: plugin.autoStart,
        sameToken: plugin.requires[0] === base.IJupyterWidgetRegistry,
        name: registrations[0].name,
        version: registrations[0].version,
        classes: Object.keys(exports)
          .filter((k) => /Model|View/.test(k))
          .sort(),
        extendsHostBase: exports.SurfaceModel.prototype instanceof base.DOMWidgetModel,
        shared: Object.keys(scope).sort(),
      };
    });
    assert.deepEqual(registered, {
      id: 'neurolmm-widgets:plugin',
      autoStart: true,
      sameToken: true,
      name: 'neurolmm-widgets',
      version: JSON.parse(fs.readFileSync(path.join(REPO, 'widgets', 'package.json'), 'utf8')).version,
      classes: ['SurfaceModel', 'SurfaceView', 'VolumeModel', 'VolumeView'],
      extendsHostBase: true,
      shared: ['@jupyter-widgets/base', 'neurolmm-widgets', 'plotly.js-dist-min'],
    });
  });

  it('the registered module renders a SurfaceViewer from saved widget state', async () => {
    const brain = syntheticBrain();
    const viewer = new SurfaceViewer({ surface: { lh: brain.lh }, maps: { z: vertexMap(brain.lh, [-55, 0, 0], (_x, _y, z) => z) } });
    const { modelId, document: savedState } = savedWidgetState(viewer.spec());
    const counts = await page.evaluate(
      async ([modelId, state]) => {
        const w = window as any;
        const manager = new w.host.HTMLManager({ loader: () => Promise.resolve(w.labModule) });
        const models = await manager.set_state(state);
        const model = models.find((m: any) => m.model_id === modelId);
        await manager.display_view(await manager.create_view(model), document.getElementById('out'));
        const gd = await new Promise<any>((resolve) => {
          const poll = () => {
            const el = document.querySelector('.neurolmm-plot') as any;
            if (el?.data) resolve(el);
            else setTimeout(poll, 50);
          };
          poll();
        });
        return gd.data.filter((t: any) => t.type === 'mesh3d').map((t: any) => t.x.length);
      },
      [modelId, savedState] as const,
    );
    assert.deepEqual(counts, [10242]);
    assert.deepEqual(errors, []);
    await page.screenshot({ path: artifact('labextension-surface.png') });
  });
});
