/**
 * A notebook run in a real JupyterLab 4 (its front end built from npm by the shared harness,
 * ../shared/jupyterlab/build.sh, cached outside the repository; served by Debian's jupyter_server)
 * in headless Chromium: run all cells on the neurolmm kernel, a SurfaceViewer rendered by the real
 * widget manager, its statistic switched from the page reaching the kernel's viewer (with the
 * statistic's threshold), and a click on the brain running the kernel's click handler. A screenshot
 * is saved on failure (test-artifacts/widgets/jupyterlab-failure.png).
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { installTestKernel, TestKernel } from '../kernel/jupyter';
import { REPO, SKIP_BROWSER, artifact, launchChromium, syntheticBrain } from './fixtures';
import { freePort } from './kernel-client';

const HARNESS = path.resolve(REPO, process.env.NEUROLMM_JUPYTERLAB_HARNESS ?? '../shared/jupyterlab');
/** The built front end (~700 MB), kept between runs outside the repository. */
const LAB = path.resolve(process.env.NEUROLMM_JUPYTERLAB_CACHE ?? path.join(os.homedir(), '.cache', 'neurolmm', 'jupyterlab'));
const SERVER_MODULES = ['jupyter_server', 'jupyterlab_server'];
const hasServer = spawnSync('/usr/bin/python3', ['-c', `import ${SERVER_MODULES.join(', ')}`]).status === 0;
const SKIP =
  SKIP_BROWSER ||
  (hasServer ? false : 'Debian python3 lacks jupyter_server/jupyterlab_server (CI: apt-get install -y python3-jupyter-server python3-jupyterlab-server)') ||
  (fs.existsSync(path.join(HARNESS, 'build.sh')) ? false : `no JupyterLab harness at ${HARNESS} (set NEUROLMM_JUPYTERLAB_HARNESS)`);

const TOKEN = 'neurolmm-test';
const NOTEBOOK = 'viewer.ipynb';

const code = (source: string) => ({ cell_type: 'code', metadata: {}, execution_count: null, outputs: [], source });
/** The notebook JupyterLab runs: a viewer over a synthetic brain (from brain.json), a click handler. */
const notebook = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'neurolmm', display_name: 'neurolmm (TypeScript)', language: 'typescript' } },
  cells: [
    code(
      [
        'import * as fs from "fs";',
        'import { SurfaceViewer } from "neurolmm";',
        'const raw = JSON.parse(fs.readFileSync("brain.json", "utf8"));',
        'const surface = { lh: { vertices: Float32Array.from(raw.lh.vertices), faces: Int32Array.from(raw.lh.faces) }, rh: { vertices: Float32Array.from(raw.rh.vertices), faces: Int32Array.from(raw.rh.faces) } };',
        '// conT: height above the centre (signed); sigma2: its square (never negative)',
        'const height = (v: Float32Array) => Float32Array.from({ length: v.length / 3 }, (_, i) => v[3 * i + 2] / 10);',
        'const conT = { lh: height(surface.lh.vertices), rh: height(surface.rh.vertices) };',
        'const sigma2 = { lh: conT.lh.map((x) => x * x), rh: conT.rh.map((x) => x * x) };',
        'const viewer = new SurfaceViewer({ surface, maps: { conT, sigma2 }, statistic: "conT", title: "JupyterLab test" });',
        'const clicks: { hemi: string; vertex: number }[] = [];',
        'viewer.on("click", ({ hemi, vertex }) => clicks.push({ hemi, vertex }));',
        'viewer',
      ].join('\n'),
    ),
    code('[viewer.get("statistic"), viewer.get("threshold")]'),
  ],
};

async function waitForServer(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the Jupyter server exited (${server.exitCode}):\n${log()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the Jupyter server did not answer ${url} in 120 s:\n${log()}`);
}

/** Runs `code` on the notebook's kernel from the page; returns its execute_result as text. */
async function kernelValue(page: Page, source: string): Promise<string> {
  return page.evaluate(async (source) => {
    const kernel = (window as any).jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const future = kernel.requestExecute({ code: source, store_history: false });
    let text = '';
    future.onIOPub = (msg: any) => {
      if (msg.header.msg_type === 'execute_result') text = msg.content.data['text/plain'];
      if (msg.header.msg_type === 'error') text = `error: ${msg.content.evalue}`;
    };
    await future.done;
    return text;
  }, source);
}

describe('a notebook in a real JupyterLab 4', { skip: SKIP }, () => {
  let kernel: TestKernel;
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let serverLog = '';
  let failed = false;

  before(async () => {
    const build = spawnSync(path.join(HARNESS, 'build.sh'), [LAB], { encoding: 'utf8', timeout: 3_600_000 });
    assert.equal(build.status, 0, `build.sh failed:\n${build.stdout}\n${build.stderr}`);
    kernel = installTestKernel();
    const brain = syntheticBrain();
    const json = (m: { vertices: Float32Array; faces: Int32Array }) => ({ vertices: Array.from(m.vertices), faces: Array.from(m.faces) });
    fs.writeFileSync(path.join(kernel.workDir, 'brain.json'), JSON.stringify({ lh: json(brain.lh), rh: json(brain.rh) }));
    fs.writeFileSync(path.join(kernel.workDir, NOTEBOOK), JSON.stringify(notebook));
    const port = await freePort();
    server = spawn(path.join(HARNESS, 'serve.sh'), [LAB, kernel.workDir, String(port), TOKEN], { env: kernel.env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [server.stdout!, server.stderr!]) stream.on('data', (chunk: Buffer) => (serverLog += chunk.toString()));
    await waitForServer(`http://127.0.0.1:${port}/api/status?token=${TOKEN}`, server, () => serverLog);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`http://127.0.0.1:${port}/lab/tree/${NOTEBOOK}?reset&token=${TOKEN}`);
    await page.waitForFunction(() => (window as any).jupyterapp?.restored !== undefined, undefined, { timeout: 120_000 });
    await page.evaluate(() => (window as any).jupyterapp.restored);
    await page.waitForFunction(() => (window as any).jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle', undefined, {
      timeout: 120_000,
    });
  });

  after(async () => {
    if (failed && page) await page.screenshot({ path: artifact('jupyterlab-failure.png'), fullPage: true }).catch(() => undefined);
    await browser?.close();
    if (server && server.exitCode === null) {
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server.kill('SIGTERM'); // jupyter_server shuts its kernels down on SIGTERM
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    kernel?.remove();
  });

  const step = (name: string, body: () => Promise<void>) =>
    it(name, async () => {
      try {
        await body();
      } catch (error) {
        failed = true;
        throw error;
      }
    });

  step('runs all cells on the neurolmm kernel with no error output; the viewer renders through the widget manager', async () => {
    await page.evaluate(() => (window as any).jupyterapp.commands.execute('notebook:run-all-cells'));
    await page.waitForFunction(
      () => {
        const widget = (window as any).jupyterapp.shell.currentWidget;
        const cells = Array.from(widget.content.model.cells) as any[];
        return widget.sessionContext.session.kernel.status === 'idle' && cells.every((c) => c.executionCount !== null);
      },
      undefined,
      { timeout: 300_000 },
    );
    const outputs = await page.evaluate(() =>
      (Array.from((window as any).jupyterapp.shell.currentWidget.content.model.cells) as any[]).map((c) => c.outputs.toJSON()),
    );
    assert.deepEqual(
      outputs.flat().filter((o: any) => o.output_type === 'error'),
      [],
    );
    assert.ok(
      outputs[0].some((o: any) => o.data?.['application/vnd.jupyter.widget-view+json']),
      JSON.stringify(outputs[0]).slice(0, 500),
    );
    assert.match(JSON.stringify(outputs[1]), /\[ 'conT', 2 \]/);
    // the real widget manager renders it: a Lumino panel holding the viewer, drawn by Plotly
    await page.waitForFunction(
      () => {
        const plot = document.querySelector('.jp-OutputArea-output.lm-Panel .neurolmm-surface .neurolmm-plot') as any;
        return plot?._fullLayout !== undefined && plot.data?.filter((t: any) => t.type === 'mesh3d').length === 2;
      },
      undefined,
      { timeout: 120_000 },
    );
    assert.equal(await page.locator('text=Error displaying widget').count(), 0);
  });

  step("switching the statistic on the page changes the kernel's viewer (with sigma2's threshold, 0)", async () => {
    await page.evaluate(() => {
      const select = document.querySelector('.neurolmm-surface select[name=statistic]') as HTMLSelectElement;
      select.value = 'sigma2';
      select.dispatchEvent(new Event('change'));
    });
    await page.waitForFunction(() => (document.querySelector('.neurolmm-surface input[name=threshold]') as HTMLInputElement).value === '0');
    let value = '';
    for (let tries = 0; tries < 20 && value !== "[ 'sigma2', 0 ]"; tries++) {
      value = await kernelValue(page, '[viewer.get("statistic"), viewer.get("threshold")]');
      if (value !== "[ 'sigma2', 0 ]") await page.waitForTimeout(250);
    }
    assert.equal(value, "[ 'sigma2', 0 ]");
  });

  step("a click on the brain runs the kernel's click handler", async () => {
    const box = (await page.locator('.neurolmm-surface .neurolmm-plot').boundingBox())!;
    // gl3d reports a click from its render loop while the button is held
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.waitForTimeout(400);
    await page.mouse.up();
    let clicks = '';
    for (let tries = 0; tries < 40 && !/vertex/.test(clicks); tries++) {
      clicks = await kernelValue(page, 'clicks');
      if (!/vertex/.test(clicks)) await page.waitForTimeout(250);
    }
    assert.match(clicks, /^\[ \{ hemi: '(lh|rh)', vertex: \d+ \} \]$/);
    await page.screenshot({ path: artifact('jupyterlab-viewer.png') });
  });
});
