/**
 * Test fixtures for the viewers: a synthetic fsaverage5-sized mesh (icosphere of 10,242 vertices),
 * the BLMM demo location, headless Chromium, PNG pixels of screenshots, and the artifacts folder.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import type { Browser, Page } from 'playwright-core';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const ARTIFACTS = path.join(REPO, 'test-artifacts', 'widgets');
export const BLMM_DEMO = path.resolve(REPO, process.env.NEUROLMM_BLMM_DEMO ?? '../shared/data/blmm-demo');
export const HAVE_DEMO = fs.existsSync(path.join(BLMM_DEMO, 'geom', 'lh.pial'));
export const SKIP_DEMO = HAVE_DEMO ? false : `BLMM demo data not found at ${BLMM_DEMO} (set NEUROLMM_BLMM_DEMO)`;
export const CHROMIUM = '/usr/bin/chromium';
export const SKIP_BROWSER = fs.existsSync(CHROMIUM) ? false : `${CHROMIUM} not found: apt-get update && apt-get install -y chromium`;

export function artifact(name: string): string {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return path.join(ARTIFACTS, name);
}

/**
 * Icosphere: an icosahedron subdivided `levels` times, projected on a sphere of `radius` around
 * `centre`. Level 5 has 10 * 4^5 + 2 = 10,242 vertices and 20,480 faces, like fsaverage5.
 * Faces are counter-clockwise seen from outside (FreeSurfer's orientation).
 */
export function icosphere(levels = 5, radius = 50, centre: [number, number, number] = [0, 0, 0]) {
  const t = (1 + Math.sqrt(5)) / 2;
  const points: number[][] = [
    [-1, t, 0],
    [1, t, 0],
    [-1, -t, 0],
    [1, -t, 0],
    [0, -1, t],
    [0, 1, t],
    [0, -1, -t],
    [0, 1, -t],
    [t, 0, -1],
    [t, 0, 1],
    [-t, 0, -1],
    [-t, 0, 1],
  ].map(unit);
  let faces: number[][] = [
    [0, 11, 5],
    [0, 5, 1],
    [0, 1, 7],
    [0, 7, 10],
    [0, 10, 11],
    [1, 5, 9],
    [5, 11, 4],
    [11, 10, 2],
    [10, 7, 6],
    [7, 1, 8],
    [3, 9, 4],
    [3, 4, 2],
    [3, 2, 6],
    [3, 6, 8],
    [3, 8, 9],
    [4, 9, 5],
    [2, 4, 11],
    [6, 2, 10],
    [8, 6, 7],
    [9, 8, 1],
  ];
  for (let level = 0; level < levels; level++) {
    const midpoints = new Map<string, number>();
    const midpoint = (a: number, b: number) => {
      const key = a < b ? `${a},${b}` : `${b},${a}`;
      let m = midpoints.get(key);
      if (m === undefined) {
        m = points.push(unit(points[a].map((v, k) => (v + points[b][k]) / 2))) - 1;
        midpoints.set(key, m);
      }
      return m;
    };
    faces = faces.flatMap(([a, b, c]) => {
      const ab = midpoint(a, b),
        bc = midpoint(b, c),
        ca = midpoint(c, a);
      return [
        [a, ab, ca],
        [b, bc, ab],
        [c, ca, bc],
        [ab, bc, ca],
      ];
    });
  }
  const vertices = new Float32Array(points.flatMap((p) => p.map((v, k) => v * radius + centre[k])));
  return { vertices, faces: new Int32Array(faces.flat()), nvertices: points.length, nfaces: faces.length };
}

function unit(p: number[]): number[] {
  const n = Math.hypot(p[0], p[1], p[2]);
  return p.map((v) => v / n);
}

/** Two hemispheres side by side, as fsaverage's are (left at negative x). */
export function syntheticBrain() {
  return { lh: icosphere(5, 50, [-55, 0, 0]), rh: icosphere(5, 50, [55, 0, 0]) };
}

/** A per-vertex function of the unit-sphere position of each vertex of a mesh. */
export function vertexMap(mesh: { vertices: Float32Array }, centre: number[], f: (x: number, y: number, z: number) => number): Float32Array {
  const nv = mesh.vertices.length / 3;
  const out = new Float32Array(nv);
  for (let i = 0; i < nv; i++) {
    const [x, y, z] = [0, 1, 2].map((k) => mesh.vertices[3 * i + k] - centre[k]);
    const r = Math.hypot(x, y, z);
    out[i] = f(x / r, y / r, z / r);
  }
  return out;
}

/** RGBA pixels of an 8-bit RGB/RGBA non-interlaced PNG (what Chromium's screenshots are). */
export function decodePng(png: Buffer): { width: number; height: number; rgba: Uint8Array } {
  let offset = 8;
  let width = 0,
    height = 0,
    colorType = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('ascii', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      if (data[8] !== 8 || data[12] !== 0) throw new Error('decodePng: only 8-bit non-interlaced PNGs');
      colorType = data[9];
    } else if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  if (!channels) throw new Error(`decodePng: colour type ${colorType} not supported`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      pixels[y * stride + x] = (line[x] + predictor) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < 3; k++) rgba[4 * i + k] = pixels[i * channels + k];
    rgba[4 * i + 3] = channels === 4 ? pixels[i * channels + 3] : 255;
  }
  return { width, height, rgba };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a),
    pb = Math.abs(p - b),
    pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Counts of strongly red, strongly blue and neutral (grey: r = g = b within 12) opaque pixels. */
export function colourCensus({ rgba }: { rgba: Uint8Array }) {
  let red = 0,
    blue = 0,
    grey = 0;
  for (let i = 0; i < rgba.length; i += 4) {
    const [r, g, b] = [rgba[i], rgba[i + 1], rgba[i + 2]];
    if (r > g + 60 && r > b + 60) red++;
    else if (b > r + 60 && b > g + 30) blue++;
    else if (Math.max(r, g, b) - Math.min(r, g, b) <= 12 && r < 235) grey++;
  }
  return { red, blue, grey };
}

/** Headless Chromium through playwright-core (Debian's build; Playwright's own browsers cannot be fetched here). */
export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
  });
}

/**
 * Opens a saved-widget HTML file in a new headless Chromium, recording page errors (and, when
 * given, every request) before it loads, and waits until the widgets rendered and, with `plot`,
 * until Plotly laid out the first figure.
 */
export async function openWidgetPage(
  html: string,
  viewport: { width: number; height: number },
  errors: string[],
  options: { requests?: string[]; plot?: boolean } = {},
): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport });
    page.on('pageerror', (e) => errors.push(String(e)));
    if (options.requests) page.on('request', (r) => options.requests!.push(r.url()));
    await page.goto(`file://${html}`);
    await page.evaluate(() => (window as any).neurolmmWidgets.rendered);
    if (options.plot) await page.waitForFunction(() => (document.querySelector('.neurolmm-plot') as any)?._fullLayout !== undefined);
    return { browser, page };
  } catch (error) {
    // the caller never sees this browser, so it would outlive the test
    await browser.close();
    throw error;
  }
}

/**
 * Opens a local page in a new tab of `browser` with no network: page errors and every request other
 * than local files (which fails) are recorded in `errors`.
 */
export async function openOffline(browser: Browser, file: string, errors: string[], viewport = { width: 1000, height: 700 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
    errors.push(`network request: ${url}`);
    return route.abort();
  });
  // an exported notebook holds megabytes of widget state: parsing it may outlast the default 30 s on a busy machine
  await page.goto(`file://${file}`, { waitUntil: 'domcontentloaded', timeout: 180_000 });
  return page;
}

/** Sets a SurfaceViewer control as a person would (value + change event) and waits for Plotly's redraw. */
export async function changeControl(page: Page, selector: string, value: string): Promise<void> {
  await page.evaluate(
    ([selector, value]) =>
      new Promise<void>((resolve, reject) => {
        const gd = document.querySelector('.neurolmm-plot') as any;
        const el = document.querySelector(selector) as HTMLInputElement | HTMLSelectElement;
        if (el.value === value) return reject(new Error(`${selector} is already ${value}: no redraw would follow`));
        gd.once('plotly_afterplot', () => resolve());
        el.value = value;
        // sliders act on input, number boxes and selects on change
        el.dispatchEvent(new Event(el.type === 'range' ? 'input' : 'change'));
      }),
    [selector, value],
  );
}
