/**
 * SurfaceViewer rendered from saved widget state (toHTML -> html-manager) in headless Chromium:
 * vertex counts, grey below threshold, controls that recolour, colorbar range, clicks; screenshots
 * go to test-artifacts/widgets/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { SurfaceViewer } from '../../src/viewers';
import { SKIP_BROWSER, artifact, changeControl, colourCensus, decodePng, openWidgetPage, syntheticBrain, vertexMap } from './fixtures';

const brain = syntheticBrain();
const LH_CENTRE = [-55, 0, 0];
const RH_CENTRE = [55, 0, 0];
// conT: volume 0 rises from -4 (bottom) to +4 (top); volume 1 is its mirror image. beta: 0.5 * y.
// sigma2: 1 + z, from 0 (bottom) to 2 (top), never negative.
const conT = (mesh: { vertices: Float32Array }, centre: number[]) => {
  const up = vertexMap(mesh, centre, (_x, _y, z) => 4 * z);
  const down = up.map((v) => -v);
  const data = new Float32Array(2 * up.length);
  data.set(up, 0);
  data.set(down, up.length);
  return { nvol: 2, data, names: ['Intercept', 'Age'] };
};
const maps = {
  conT: { lh: conT(brain.lh, LH_CENTRE), rh: conT(brain.rh, RH_CENTRE) },
  beta: { lh: vertexMap(brain.lh, LH_CENTRE, (_x, y) => 0.5 * y), rh: vertexMap(brain.rh, RH_CENTRE, (_x, y) => 0.5 * y) },
  sigma2: { lh: vertexMap(brain.lh, LH_CENTRE, (_x, _y, z) => 1 + z), rh: vertexMap(brain.rh, RH_CENTRE, (_x, _y, z) => 1 + z) },
};
const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

interface PlotState {
  meshes: Array<{ hemi: string; nvertices: number; nfaces: number; colours: string[]; values: number[]; x: number[]; y: number[] }>;
  colorbar: { cmin: number; cmax: number; ticks: string[]; colorscale: [number, string][] };
  status: string;
  selects: Record<string, string>;
  /** the threshold's number box and slider */
  threshold: { box: string; slider: string };
}

async function plotState(page: Page): Promise<PlotState> {
  return page.evaluate(() => {
    const gd = document.querySelector('.neurolmm-plot') as any;
    const meshes = gd.data
      .filter((t: any) => t.type === 'mesh3d')
      .map((t: any) => ({
        hemi: t.meta.hemi,
        nvertices: t.x.length,
        nfaces: t.i.length,
        colours: t.vertexcolor,
        values: Array.from(t.customdata as Float32Array),
        x: Array.from(t.x as Float32Array),
        y: Array.from(t.y as Float32Array),
      }));
    const bar = gd.data.find((t: any) => t.marker?.showscale);
    const ticks = Array.from(gd.querySelectorAll('.colorbar .cbaxis text')).map((e: any) => e.textContent);
    const selects: Record<string, string> = {};
    for (const s of Array.from(document.querySelectorAll('.neurolmm-controls select')) as HTMLSelectElement[]) selects[s.name] = s.value;
    const input = (name: string) => (document.querySelector(`input[name=${name}]`) as HTMLInputElement).value;
    return {
      meshes,
      colorbar: { cmin: bar.marker.cmin, cmax: bar.marker.cmax, ticks, colorscale: bar.marker.colorscale },
      status: document.querySelector('.neurolmm-status')!.textContent!,
      selects,
      threshold: { box: input('threshold'), slider: input('threshold-slider') },
    };
  });
}

const GREYS = new Set(['rgb(128,128,128)', 'rgb(190,190,190)', 'rgb(160,160,160)']);

describe('SurfaceViewer in a browser (saved widget state)', { skip: SKIP_BROWSER }, () => {
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const requests: string[] = [];

  before(async () => {
    const viewer = new SurfaceViewer({ surface: brain, maps, statistic: 'conT', threshold: 2, title: 'synthetic' });
    const html = viewer.toHTML(artifact('surface.html'));
    ({ browser, page } = await openWidgetPage(html, { width: 1000, height: 700 }, errors, { requests, plot: true }));
  });

  after(async () => {
    await browser?.close();
  });

  it('shows 10,242 vertices and 20,480 faces per hemisphere, with no page error and no request but the file', async () => {
    const state = await plotState(page);
    assert.deepEqual(
      state.meshes.map((m) => [m.hemi, m.nvertices, m.nfaces]),
      [
        ['lh', 10242, 20480],
        ['rh', 10242, 20480],
      ],
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [`file://${artifact('surface.html')}`]);
    await page.screenshot({ path: artifact('surface-conT-threshold2.png') });
  });

  it('draws values below the threshold in the grey background and the others in colour', async () => {
    const { meshes } = await plotState(page);
    for (const m of meshes) {
      let below = 0;
      m.values.forEach((v, i) => {
        if (Math.abs(v) < 2) {
          below++;
          assert.ok(GREYS.has(m.colours[i]), `${m.hemi} vertex ${i} (value ${v}) should be grey, is ${m.colours[i]}`);
        } else assert.ok(!GREYS.has(m.colours[i]), `${m.hemi} vertex ${i} (value ${v}) should be coloured`);
      });
      // |4z| < 2 is the band |z| < 0.5: half of the sphere's area (Archimedes), and of its nearly uniform vertices.
      assert.ok(Math.abs(below / m.nvertices - 0.5) < 0.02, `${below} of ${m.nvertices} below threshold`);
    }
    const pixels = colourCensus(decodePng(await page.screenshot()));
    assert.ok(pixels.red > 1000 && pixels.blue > 1000 && pixels.grey > 1000, `rendered pixels: ${JSON.stringify(pixels)}`);
  });

  it('colorbar spans ±max|x| of the shown volume', async () => {
    const { colorbar } = await plotState(page);
    const expected = Math.max(maxAbs(maps.conT.lh.data.subarray(0, 10242)), maxAbs(maps.conT.rh.data.subarray(0, 10242)));
    assert.equal(colorbar.cmax, expected);
    assert.equal(colorbar.cmin, -expected);
    assert.ok(Math.abs(expected - 4) < 1e-6);
    const ticks = colorbar.ticks.map((t) => Number(t.replace('\u2212', '-')));
    assert.ok(ticks.length >= 3, `colorbar ticks: ${colorbar.ticks}`);
    assert.ok(Math.min(...ticks) >= -4 && Math.max(...ticks) <= 4 && Math.min(...ticks) <= -2 && Math.max(...ticks) >= 2, `ticks ${ticks}`);
  });

  it('changing the volume recolours the mesh (volume 1 mirrors volume 0)', async () => {
    const before = await plotState(page);
    await changeControl(page, 'select[name=volume]', '1');
    const after = await plotState(page);
    assert.equal(after.selects.volume, '1');
    assert.match(after.status, /conT \[Age\]/);
    const lh0 = before.meshes[0],
      lh1 = after.meshes[0];
    let changed = 0;
    lh0.values.forEach((v, i) => {
      assert.ok(lh1.values[i] === -v, `vertex ${i}: ${lh1.values[i]} is not -(${v})`);
      if (lh0.colours[i] !== lh1.colours[i]) changed++;
    });
    assert.ok(changed > 0.45 * 10242, `${changed} vertices changed colour`);
    await page.screenshot({ path: artifact('surface-conT-volume1.png') });
  });

  it('changing the statistic recolours the mesh, rescales the colorbar and resets the threshold', async () => {
    await changeControl(page, 'select[name=statistic]', 'beta');
    const state = await plotState(page);
    assert.equal(state.selects.statistic, 'beta');
    // |t| 2 is conT's threshold; beta has none of its own, so 0
    assert.deepEqual(state.threshold, { box: '0', slider: '0' });
    const expected = Math.max(maxAbs(maps.beta.lh), maxAbs(maps.beta.rh));
    assert.equal(state.colorbar.cmax, expected);
    // With threshold 0 every vertex is coloured; y = 0 maps to the colormap's white centre.
    for (const m of state.meshes) for (const c of m.colours) assert.ok(!GREYS.has(c));
    await page.screenshot({ path: artifact('surface-beta.png') });
  });

  it('a statistic that is never negative gets a sequential colour scale from 0', async () => {
    await changeControl(page, 'select[name=statistic]', 'sigma2');
    const state = await plotState(page);
    assert.equal(state.colorbar.cmin, 0);
    assert.equal(state.colorbar.cmax, Math.max(maxAbs(maps.sigma2.lh), maxAbs(maps.sigma2.rh)));
    // YlOrRd: light yellow at 0, dark red at the top; no white centre and no blue
    assert.deepEqual(
      [state.colorbar.colorscale[0], state.colorbar.colorscale.at(-1)],
      [
        [0, 'rgb(255,255,204)'],
        [1, 'rgb(128,0,38)'],
      ],
    );
    assert.match(state.status, /sigma2, range 0 to 2\b/);
    const pixels = colourCensus(decodePng(await page.screenshot({ path: artifact('surface-sigma2.png') })));
    // blue: only the threshold slider's handle (a few hundred pixels), none of the brain
    assert.ok(pixels.red > 10000 && pixels.blue < 500, `rendered pixels: ${JSON.stringify(pixels)}`);
  });

  it('the threshold slider and number box show the same value', async () => {
    // the slider moves freely; its value is rounded to 3 significant digits, which the box shows
    await changeControl(page, 'input[name=threshold-slider]', '1.23456');
    assert.deepEqual((await plotState(page)).threshold, { box: '1.23', slider: '1.23' });
    // a typed threshold above the colour range (0 to 2) does not leave the slider behind at its end
    await changeControl(page, 'input[name=threshold]', '6');
    assert.deepEqual((await plotState(page)).threshold, { box: '6', slider: '6' });
  });

  it('hemisphere and camera controls redraw: right hemisphere alone, medial view', async () => {
    await changeControl(page, 'select[name=hemisphere]', 'right');
    let state = await plotState(page);
    assert.deepEqual(
      state.meshes.map((m) => m.hemi),
      ['rh'],
    );
    const eye = await page.evaluate(
      () =>
        new Promise<any>((resolve) => {
          const gd = document.querySelector('.neurolmm-plot') as any;
          gd.once('plotly_afterplot', () => resolve(gd._fullLayout.scene.camera.eye));
          (document.querySelector('button[data-camera=medial]') as HTMLButtonElement).click();
        }),
    );
    // The right hemisphere's medial side faces -x.
    assert.ok(eye.x < -1 && Math.abs(eye.y) < 1e-9 && Math.abs(eye.z) < 1e-9, JSON.stringify(eye));
    await page.screenshot({ path: artifact('surface-rh-medial.png') });
    await changeControl(page, 'select[name=hemisphere]', 'both');
    state = await plotState(page);
    assert.equal(state.meshes.length, 2);
  });

  it('the medial view of both hemispheres sets them apart, each medial wall to the camera', async () => {
    // still the medial camera: the left hemisphere as it is, seen from +x; the right one turned half a
    // turn (its medial wall, at -x, now faces +x too) and set beyond the left one along y
    const [lh, rh] = (await plotState(page)).meshes;
    const original = Array.from(brain.rh.vertices.filter((_, i) => i % 3 === 0));
    assert.deepEqual(lh.x, Array.from(brain.lh.vertices.filter((_, i) => i % 3 === 0)));
    rh.x.forEach((x, i) => assert.equal(x, -original[i]));
    assert.ok(Math.min(...rh.y) > Math.max(...lh.y), 'the hemispheres overlap along y');
    await page.screenshot({ path: artifact('surface-both-medial.png') });
  });

  it('hovering shows the vertex value and clicking selects a vertex', async () => {
    await changeControl(page, 'select[name=statistic]', 'conT');
    await page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const gd = document.querySelector('.neurolmm-plot') as any;
          gd.once('plotly_afterplot', () => resolve());
          (document.querySelector('button[data-camera=lateral]') as HTMLButtonElement).click();
        }),
    );
    const box = (await page.locator('.neurolmm-plot').boundingBox())!;
    // Lateral view of both hemispheres from the left: the left hemisphere fills the middle.
    const x = box.x + box.width / 2,
      y = box.y + box.height * 0.35;
    await page.mouse.move(x, y);
    await page.mouse.move(x + 2, y + 1);
    const hover = await page.waitForSelector('.hovertext', { timeout: 5000 }).then((e) => e.textContent());
    assert.match(hover ?? '', /left vertex \d+conT \[Age\]: [-\u2212]?\d/);
    // gl3d reports a click from its render loop while the button is down, so hold it for a few frames.
    await page.mouse.down();
    await page.waitForTimeout(200);
    await page.mouse.up();
    await page.waitForFunction(() => /vertex \d+/.test(document.querySelector('.neurolmm-status')!.textContent!));
    const state = await plotState(page);
    const [, hemi, vertex, value] = /^(left|right) vertex (\d+): conT \[Age\] = (\S+);/.exec(state.status) ?? [];
    assert.equal(hemi, 'left');
    // The status reports the map's own value at the clicked vertex.
    assert.equal(Number(value), Number(Number(maps.conT.lh.data[10242 + Number(vertex)]).toPrecision(4)));
    await page.screenshot({ path: artifact('surface-selected.png') });
  });
});
