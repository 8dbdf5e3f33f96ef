/**
 * VolumeViewer rendered from saved widget state in headless Chromium: orthogonal slices over a
 * background resampled from another grid, threshold, crosshair, world coordinates, volume control,
 * clicks; screenshots in test-artifacts/widgets/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { VolumeViewer } from '../../src/viewers';
import { SKIP_BROWSER, artifact, openWidgetPage } from './fixtures';

// Stat grid: 40 x 48 x 36 voxels of 3 mm, x running right-to-left (a negative affine diagonal, as
// in LAS images), centred on world 0. Background: 2 mm grid, RAS.
const dims = [40, 48, 36];
const affine = [
  [-3, 0, 0, 60],
  [0, 3, 0, -72],
  [0, 0, 3, -54],
  [0, 0, 0, 1],
];
const nvox = dims[0] * dims[1] * dims[2];
const index = (i: number, j: number, k: number) => i + dims[0] * (j + dims[1] * k);
const POSITIVE = [28, 30, 20];
const NEGATIVE = [10, 15, 12];
const stat = new Float32Array(2 * nvox);
for (let k = 0; k < dims[2]; k++) {
  for (let j = 0; j < dims[1]; j++) {
    for (let i = 0; i < dims[0]; i++) {
      const blob = (c: number[], width: number) => Math.exp(-((i - c[0]) ** 2 + (j - c[1]) ** 2 + (k - c[2]) ** 2) / (2 * width ** 2));
      const v = 6 * blob(POSITIVE, 3) - 4 * blob(NEGATIVE, 2.5);
      stat[index(i, j, k)] = v;
      stat[nvox + index(i, j, k)] = -0.5 * v;
    }
  }
}
const bgDims = [90, 108, 81];
const bgAffine = [
  [2, 0, 0, -90],
  [0, 2, 0, -108],
  [0, 0, 2, -81],
  [0, 0, 0, 1],
];
// An ellipsoidal head: brighter towards the centre, 0 outside.
const background = new Float32Array(bgDims[0] * bgDims[1] * bgDims[2]);
for (let k = 0; k < bgDims[2]; k++) {
  for (let j = 0; j < bgDims[1]; j++) {
    for (let i = 0; i < bgDims[0]; i++) {
      const [x, y, z] = [2 * i - 90, 2 * j - 108, 2 * k - 81];
      const r = Math.hypot(x / 60, y / 70, z / 52);
      background[i + bgDims[0] * (j + bgDims[1] * k)] = r < 1 ? 200 - 120 * r : 0;
    }
  }
}

type Pixel = [number, number, number];
async function pixelAtVoxel(page: Page, plane: string, voxel: number[]): Promise<Pixel> {
  return page.evaluate(
    ([plane, voxel, dims]) => {
      const canvas = document.querySelector(`canvas[data-plane=${plane}]`) as HTMLCanvasElement;
      // Display axes: sagittal (j right, k up), coronal (i, k), axial (i, j); i is flipped (x runs against it).
      const [h, v, nh, nv] =
        plane === 'sagittal'
          ? [voxel[1], voxel[2], dims[1], dims[2]]
          : plane === 'coronal'
            ? [dims[0] - 1 - voxel[0], voxel[2], dims[0], dims[2]]
            : [dims[0] - 1 - voxel[0], voxel[1], dims[0], dims[1]];
      const x = Math.floor(((h + 0.5) * canvas.width) / nh);
      const y = Math.floor(((nv - 1 - v + 0.5) * canvas.height) / nv);
      const d = canvas.getContext('2d')!.getImageData(x + 2, y + 2, 1, 1).data;
      return [d[0], d[1], d[2]] as [number, number, number];
    },
    [plane, voxel, dims] as const,
  );
}
const isGrey = ([r, g, b]: Pixel) => r === g && g === b;
const isRed = ([r, g, b]: Pixel) => r > g + 60 && r > b + 60;
const isBlue = ([r, , b]: Pixel) => b > r + 60;

async function setControl(page: Page, selector: string, value: string) {
  await page.evaluate(
    ([selector, value]) => {
      const el = document.querySelector(selector) as HTMLInputElement;
      el.value = value;
      el.dispatchEvent(new Event('change'));
    },
    [selector, value],
  );
}

describe('VolumeViewer in a browser (saved widget state)', { skip: SKIP_BROWSER }, () => {
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    const viewer = new VolumeViewer({
      stat: { dims, data: stat, affine, nvol: 2 },
      background: { dims: bgDims, data: background, affine: bgAffine },
      names: ['Sex', 'Age'],
      statistic: 'conT',
      threshold: 1.5,
      cursor: POSITIVE as [number, number, number],
    });
    const html = viewer.toHTML(artifact('volume.html'));
    ({ browser, page } = await openWidgetPage(html, { width: 1000, height: 600 }, errors));
  });

  after(async () => {
    await browser?.close();
  });

  it('draws three slices sized by voxel size in mm, with no page error', async () => {
    const sizes = await page.evaluate(() =>
      Array.from(document.querySelectorAll('.neurolmm-slices canvas')).map((c: any) => [c.dataset.plane, c.width, c.height]),
    );
    // 48 x 3 mm = 144 mm is the longest side; it gets 260 px.
    const px = (n: number) => Math.round((n * 3 * 260) / 144);
    assert.deepEqual(sizes, [
      ['sagittal', px(48), px(36)],
      ['coronal', px(40), px(36)],
      ['axial', px(40), px(48)],
    ]);
    assert.deepEqual(errors, []);
    await page.screenshot({ path: artifact('volume-threshold1.5.png') });
  });

  it('shows the cursor voxel, its world coordinates and value', async () => {
    const info = await page.locator('.neurolmm-volume .neurolmm-status').textContent();
    // world = affine * [28, 30, 20, 1] = (60 - 84, -72 + 90, -54 + 60)
    assert.equal(info, 'voxel (28, 30, 20) · world (-24.0, 18.0, 6.0) mm · conT [Sex] = 6');
  });

  it('colours values at or above threshold and shows the background below it', async () => {
    for (const plane of ['sagittal', 'coronal', 'axial']) {
      assert.ok(isRed(await pixelAtVoxel(page, plane, POSITIVE)), `${plane}: blob centre should be red`);
    }
    // |value| < 1.5 far from both blobs: grey background (bright inside the head).
    const far = [20, 40, 30];
    assert.ok(Math.abs(stat[index(20, 40, 30)]) < 1.5);
    const p = await pixelAtVoxel(page, 'axial', [far[0], far[1], POSITIVE[2]]);
    assert.ok(isGrey(p) && p[0] > 60, `axial pixel at ${far}: ${p}`);
    // Corners lie outside the head: black.
    assert.deepEqual(await pixelAtVoxel(page, 'axial', [0, 0, POSITIVE[2]]), [0, 0, 0]);
  });

  it('colorbar spans ±max|x| of the shown volume', async () => {
    const labels = await page.locator('.neurolmm-colorbar span').allTextContents();
    const max = stat.subarray(0, nvox).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assert.equal(max, Math.fround(6));
    assert.deepEqual(labels, ['-6', '6']);
  });

  it('the volume control switches volume: the blob turns blue, the colorbar rescales', async () => {
    await setControl(page, 'select[name=volume]', '1');
    assert.ok(isBlue(await pixelAtVoxel(page, 'axial', POSITIVE)));
    assert.deepEqual(await page.locator('.neurolmm-colorbar span').allTextContents(), ['-3', '3']);
    assert.match((await page.locator('.neurolmm-volume .neurolmm-status').textContent()) ?? '', /conT \[Age\] = -3$/);
    await page.screenshot({ path: artifact('volume-volume1.png') });
    await setControl(page, 'select[name=volume]', '0');
  });

  it('raising the threshold above the peak greys the blob', async () => {
    await setControl(page, 'input[name=threshold]', '6.5');
    assert.ok(isGrey(await pixelAtVoxel(page, 'axial', POSITIVE)));
    await setControl(page, 'input[name=threshold]', '1.5');
  });

  it('a click on a slice moves the crosshair to that voxel', async () => {
    const canvas = page.locator('canvas[data-plane=axial]');
    const box = (await canvas.boundingBox())!;
    // Voxel i = 10 is column 40 - 1 - 10 = 29 (x flipped); j = 15 is row 48 - 1 - 15 = 32.
    await canvas.click({ position: { x: ((29 + 0.5) * box.width) / 40, y: ((32 + 0.5) * box.height) / 48 } });
    const info = await page.locator('.neurolmm-volume .neurolmm-status').textContent();
    assert.match(info ?? '', /^voxel \(10, 15, 20\) · world \(30\.0, -27\.0, 6\.0\) mm/);
    assert.ok(isBlue(await pixelAtVoxel(page, 'coronal', [10, 15, 12])), 'coronal slice through the negative blob');
    await page.screenshot({ path: artifact('volume-clicked.png') });
  });
});
