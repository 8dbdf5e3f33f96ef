/**
 * The BLMM demo (fsaverage5 pial surfaces, ABCD n-back results) in the SurfaceViewer, from saved
 * state in headless Chromium: every design and statistic travels in the page; screenshots in
 * test-artifacts/widgets/. Skips when the demo folder is absent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { SurfaceViewer } from '../../src/viewers';
import { BLMM_DEMO, SKIP_BROWSER, SKIP_DEMO, artifact, changeControl, openWidgetPage } from './fixtures';

const CONTRASTS = ['Intercept', 'Sex', 'Cross-sectional age', 'Longitudinal time', 'NIH score'];

/** max |x| over the masked vertices of one volume of a BLMM map, both hemispheres (vertex-major files). */
function maxAbsOfVolume(design: string, statistic: string, nvol: number, volume: number): number {
  let max = 0;
  for (const hemi of ['lh', 'rh']) {
    const folder = path.join(BLMM_DEMO, `results_${hemi}_${design}`);
    const values = new Float32Array(fs.readFileSync(path.join(folder, `blmm_vox_${statistic}.dat`)).buffer.slice(0));
    const mask = new Int32Array(fs.readFileSync(path.join(folder, 'blmm_vox_mask.dat')).buffer.slice(0));
    for (let i = 0; i < mask.length; i++)
      if (mask[i] !== 0 && Number.isFinite(values[i * nvol + volume])) max = Math.max(max, Math.abs(values[i * nvol + volume]));
  }
  return max;
}

const colorbar = (page: Page) =>
  page.evaluate(() => (document.querySelector('.neurolmm-plot') as any).data.find((t: any) => t.marker?.showscale).marker.cmax as number);

describe('BLMM demo in the SurfaceViewer', { skip: SKIP_BROWSER || SKIP_DEMO }, () => {
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  before(async () => {
    const viewer = SurfaceViewer.fromBlmm(BLMM_DEMO, { design: ['des1', 'des2'], contrasts: CONTRASTS, threshold: 3, volume: 2 });
    const html = viewer.toHTML(artifact('blmm-demo.html'));
    ({ browser, page } = await openWidgetPage(html, { width: 1100, height: 750 }, errors, { plot: true }));
  });

  after(async () => {
    await browser?.close();
  });

  it('shows both fsaverage5 pial hemispheres with conT [Cross-sectional age] of des1', async () => {
    const state = await page.evaluate(() => {
      const gd = document.querySelector('.neurolmm-plot') as any;
      return {
        meshes: gd.data.filter((t: any) => t.type === 'mesh3d').map((t: any) => [t.meta.hemi, t.x.length, t.i.length]),
        selects: Object.fromEntries(Array.from(document.querySelectorAll('.neurolmm-controls select')).map((s: any) => [s.name, s.value])),
        volumeOptions: Array.from((document.querySelector('select[name=volume]') as HTMLSelectElement).options).map((o) => o.text),
      };
    });
    assert.deepEqual(state.meshes, [
      ['lh', 10242, 20480],
      ['rh', 10242, 20480],
    ]);
    assert.deepEqual(state.selects, { hemisphere: 'both', design: 'des1', statistic: 'conT', volume: '2' });
    assert.deepEqual(
      state.volumeOptions,
      CONTRASTS.map((c, i) => `${i}: ${c}`),
    );
    assert.equal(await colorbar(page), Math.fround(maxAbsOfVolume('des1', 'conT', 5, 2)));
    assert.deepEqual(errors, []);
    await page.screenshot({ path: artifact('blmm-des1-conT-age-lateral.png') });
  });

  it('switching design, statistic and volume rescales the colorbar to the data', async () => {
    await changeControl(page, 'select[name=design]', 'des2');
    await changeControl(page, 'select[name=statistic]', 'D');
    await changeControl(page, 'select[name=volume]', '1');
    assert.equal(await colorbar(page), Math.fround(maxAbsOfVolume('des2', 'D', 3, 1)));
    const label = await page.locator('.neurolmm-status').textContent();
    assert.match(label ?? '', /^D \[D21\], range/);
    await changeControl(page, 'select[name=statistic]', 'conTlp');
    await changeControl(page, 'select[name=volume]', '4');
    assert.equal(await colorbar(page), Math.fround(maxAbsOfVolume('des2', 'conTlp', 5, 4)));
    await page.evaluate(() => (document.querySelector('button[data-camera=dorsal]') as HTMLButtonElement).click());
    await page.waitForTimeout(500);
    await page.screenshot({ path: artifact('blmm-des2-conTlp-nih-dorsal.png') });
  });
});
