/**
 * The SurfaceViewer linked to a running neurolmm kernel: a cell creates the viewer; its comm_open
 * (binary buffers) and display reach a widget manager in headless Chromium through this test's
 * Jupyter client; a click on a vertex travels back as a comm message and runs the cell's
 * `viewer.on('click')` listener in the kernel; controls sync both ways.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { KernelMessage } from '../../kernel-ext/wire';
import { REPO, SKIP_BROWSER, artifact, launchChromium } from './fixtures';
import { KernelClient } from './kernel-client';

const KERNEL_MAIN = path.join(REPO, 'dist', 'kernel-ext', 'main.js');
const SKIP = SKIP_BROWSER || (fs.existsSync(KERNEL_MAIN) ? false : `${KERNEL_MAIN} not built`);

/** The page side of the kernel link: an html-manager whose comms are this test's Jupyter client. */
function installBridge() {
  const w = window as any;
  const { HTMLManager, loader } = w.neurolmmWidgets;
  const decode = (b64: string) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return new DataView(bytes.buffer);
  };
  const encode = (b: ArrayBuffer | ArrayBufferView) => {
    const bytes = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    let s = '';
    for (const x of bytes) s += String.fromCharCode(x);
    return btoa(s);
  };
  const comms = new Map<string, any>();
  const manager = new HTMLManager({ loader });
  const makeComm = (comm_id: string, target_name: string) => {
    const comm: any = {
      comm_id,
      target_name,
      open: () => '',
      close: () => '',
      send: (data: unknown, callbacks: any, _metadata: unknown, buffers: Array<ArrayBuffer | ArrayBufferView> = []) => {
        // Widget models hold back further updates until the kernel reports idle for this message.
        w.toKernel({ comm_id, data, buffers: buffers.map(encode) }).then(() => callbacks?.iopub?.status?.({ content: { execution_state: 'idle' } }));
        return '';
      },
      on_msg: (cb: (msg: unknown) => void) => (comm.onMsg = cb),
      on_close: (cb: (msg: unknown) => void) => (comm.onClose = cb),
    };
    comms.set(comm_id, comm);
    return comm;
  };
  w.fromKernel = async (msg: { msg_type: string; content: any; metadata: any; buffers: string[] }) => {
    const buffers = msg.buffers.map(decode);
    if (msg.msg_type === 'comm_open' && msg.content.target_name === 'jupyter.widget') {
      await manager.handle_comm_open(makeComm(msg.content.comm_id, msg.content.target_name), { content: msg.content, metadata: msg.metadata, buffers });
    } else if (msg.msg_type === 'comm_msg') {
      comms.get(msg.content.comm_id)?.onMsg?.({ content: msg.content, buffers });
    } else if (msg.msg_type === 'display_data' || msg.msg_type === 'execute_result') {
      const view = msg.content.data['application/vnd.jupyter.widget-view+json'];
      if (!view) return;
      const host = document.createElement('div');
      document.body.append(host);
      const model = await manager.get_model(view.model_id);
      await manager.display_view(await manager.create_view(model), host);
    }
  };
}

describe('SurfaceViewer linked to the neurolmm kernel', { skip: SKIP }, () => {
  let kernel: KernelClient;
  let browser: Browser;
  let page: Page;
  let widgetOpen: KernelMessage | undefined;
  const toKernel: Array<Promise<KernelMessage[]>> = [];
  const pageErrors: string[] = [];

  before(async () => {
    kernel = await KernelClient.start();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    const html = artifact('kernel-link.html');
    fs.writeFileSync(
      html,
      `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><script src="${path.join(REPO, 'widgets', 'dist', 'embed.js')}"></script></body></html>`,
    );
    await page.goto(`file://${html}`);
    await page.evaluate(() => (window as any).neurolmmWidgets.rendered);
    await page.exposeFunction('toKernel', (msg: { comm_id: string; data: Record<string, unknown>; buffers: string[] }) => {
      const handled = kernel.request(
        'comm_msg',
        { comm_id: msg.comm_id, data: msg.data },
        60_000,
        msg.buffers.map((b) => Buffer.from(b, 'base64')),
      );
      toKernel.push(handled);
      return handled.then(() => undefined);
    });
    await page.evaluate(installBridge);
    // IOPub messages are delivered to the page one at a time, in order (comm_open before its display).
    let queue = Promise.resolve();
    kernel.onIopub((m) => {
      if (!['comm_open', 'comm_msg', 'comm_close', 'display_data', 'execute_result'].includes(m.header.msg_type)) return;
      if (m.header.msg_type === 'comm_open' && m.content.target_name === 'jupyter.widget') widgetOpen = m;
      const msg = { msg_type: m.header.msg_type, content: m.content, metadata: m.metadata, buffers: m.buffers.map((b) => Buffer.from(b).toString('base64')) };
      queue = queue.then(() => page.evaluate((msg) => (window as any).fromKernel(msg), msg)).catch((e) => void pageErrors.push(String(e)));
    });
  });

  after(async () => {
    await browser?.close();
    await kernel?.stop();
  });

  it('a cell shows the viewer; mesh and maps arrive as binary buffers', async () => {
    const viewers = JSON.stringify(path.join(REPO, 'dist', 'src', 'viewers'));
    const fixtures = JSON.stringify(path.join(REPO, 'dist', 'test', 'widgets', 'fixtures'));
    await kernel.execute(
      [
        `const { SurfaceViewer } = require(${viewers});`,
        `const { syntheticBrain, vertexMap } = require(${fixtures});`,
        'const brain = syntheticBrain();',
        'const height = (mesh: { vertices: Float32Array }, x0: number) => vertexMap(mesh, [x0, 0, 0], (_x: number, _y: number, z: number) => 3 * z);',
        'const viewer = new SurfaceViewer({ surface: brain, maps: { conT: { lh: height(brain.lh, -55), rh: height(brain.rh, 55) } }, threshold: 1 });',
        'const clicks: any[] = [];',
        "viewer.on('click', (click: any) => clicks.push(click));",
        'viewer',
      ].join('\n'),
    );
    await page.waitForFunction(() => (document.querySelector('.neurolmm-plot') as any)?.data?.length >= 2, undefined, { timeout: 30_000 });
    assert.ok(widgetOpen, 'no jupyter.widget comm_open on IOPub');
    const data = widgetOpen!.content.data as { state: Record<string, any>; buffer_paths: Array<Array<string | number>> };
    assert.equal(data.state._model_name, 'SurfaceModel');
    assert.deepEqual(data.buffer_paths.slice(0, 3), [
      ['meshes', 'lh', 'vertices'],
      ['meshes', 'lh', 'faces'],
      ['meshes', 'lh', 'background'],
    ]);
    // 10,242 xyz float32 = 122,904 bytes; 20,480 faces x 3 int32 = 245,760 bytes; the JSON has no arrays of them.
    assert.equal(widgetOpen!.buffers[0].byteLength, 10242 * 3 * 4);
    assert.equal(widgetOpen!.buffers[1].byteLength, 20480 * 3 * 4);
    assert.equal(data.state.meshes.lh.vertices, undefined);
    assert.ok(JSON.stringify(data).length < 5000, `JSON part of comm_open is ${JSON.stringify(data).length} characters`);
    const counts = await page.evaluate(() =>
      (document.querySelector('.neurolmm-plot') as any).data.filter((t: any) => t.type === 'mesh3d').map((t: any) => t.x.length),
    );
    assert.deepEqual(counts, [10242, 10242]);
  });

  it('a click on a vertex reaches the kernel and runs the click listener there', async () => {
    const box = (await page.locator('.neurolmm-plot').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.3);
    await page.mouse.move(box.x + box.width / 2 + 2, box.y + box.height * 0.3 + 1);
    await page.waitForSelector('.hovertext', { timeout: 10_000 });
    await page.mouse.down();
    await page.waitForTimeout(200);
    await page.mouse.up();
    await page.waitForFunction(() => /vertex \d+/.test(document.querySelector('.neurolmm-status')!.textContent!));
    const status = await page.locator('.neurolmm-status').textContent();
    const shownVertex = Number(/left vertex (\d+): conT = /.exec(status ?? '')?.[1]);
    await Promise.all(toKernel);
    // (tslab does not resolve shorthand properties of cell variables: `{ clicks: clicks }`.)
    const result = await kernel.execute("JSON.stringify({ clicks: clicks, selected: viewer.get('selected') })");
    const value = result.find((m) => m.header.msg_type === 'execute_result')!.content.data as Record<string, string>;
    // text/plain shows the string as Node's inspect does: in single quotes.
    const { clicks, selected } = JSON.parse(value['text/plain'].slice(1, -1));
    assert.equal(clicks.length, 1, `clicks in the kernel: ${JSON.stringify(clicks)}`);
    assert.equal(clicks[0].hemi, 'lh');
    assert.equal(clicks[0].vertex, shownVertex);
    assert.equal(clicks[0].statistic, 'conT');
    assert.ok(Number.isInteger(clicks[0].vertex) && clicks[0].vertex >= 0 && clicks[0].vertex < 10242);
    assert.deepEqual(selected, { hemi: 'lh', vertex: shownVertex });
    await page.screenshot({ path: artifact('kernel-link-click.png') });
  });

  it('controls sync both ways: kernel set() redraws the page, page threshold reaches the kernel', async () => {
    await kernel.execute('viewer.set({ threshold: 2.5 })');
    await page.waitForFunction(() => (document.querySelector('input[name=threshold]') as HTMLInputElement).value === '2.5');
    await page.evaluate(() => {
      const input = document.querySelector('input[name=threshold]') as HTMLInputElement;
      input.value = '0.75';
      input.dispatchEvent(new Event('change'));
    });
    await page.waitForTimeout(300);
    await Promise.all(toKernel);
    const result = await kernel.execute("viewer.get('threshold')");
    const value = result.find((m) => m.header.msg_type === 'execute_result')!.content.data as Record<string, string>;
    assert.equal(value['text/plain'], '0.75');
    assert.deepEqual(pageErrors, []);
  });
});
