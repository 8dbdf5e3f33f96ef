/**
 * The symmetric diverging colormap shared by both viewers (blue negative, white at zero, red positive;
 * ColorBrewer RdBu reversed) and the grey shades drawn where a value is below threshold.
 */
export type Rgb = [number, number, number];

const STOPS: ReadonlyArray<readonly [number, Rgb]> = [
  [0.0, [5, 48, 97]],
  [0.1, [33, 102, 172]],
  [0.2, [67, 147, 195]],
  [0.3, [146, 197, 222]],
  [0.4, [209, 229, 240]],
  [0.5, [247, 247, 247]],
  [0.6, [253, 219, 199]],
  [0.7, [244, 165, 130]],
  [0.8, [214, 96, 77]],
  [0.9, [178, 24, 43]],
  [1.0, [103, 0, 31]],
];

/** The same stops in Plotly's colorscale form, so the colorbar and the vertex colours agree. */
export const PLOTLY_COLORSCALE: Array<[number, string]> = STOPS.map(([t, c]) => [t, rgbString(c)]);

export function rgbString([r, g, b]: Rgb): string {
  return `rgb(${r},${g},${b})`;
}

/** Colour of `value` on the scale [-vmax, vmax] (clamped outside it). */
export function divergingRgb(value: number, vmax: number): Rgb {
  const t = Math.min(1, Math.max(0, (value / vmax + 1) / 2));
  const upper = Math.max(1, STOPS.findIndex(([s]) => s >= t));
  const [t0, c0] = STOPS[upper - 1];
  const [t1, c1] = STOPS[upper];
  const w = (t - t0) / (t1 - t0);
  return [0, 1, 2].map((k) => Math.round(c0[k] + w * (c1[k] - c0[k]))) as Rgb;
}

/** Grey levels of the background: sulci (positive FreeSurfer curvature/sulc) darker than gyri. */
export const GREY_SULCUS: Rgb = [128, 128, 128];
export const GREY_GYRUS: Rgb = [190, 190, 190];
export const GREY_PLAIN: Rgb = [160, 160, 160];

export function backgroundRgb(background: Float32Array | null, vertex: number): Rgb {
  if (background === null) return GREY_PLAIN;
  return background[vertex] > 0 ? GREY_SULCUS : GREY_GYRUS;
}

/** Largest |x| over the finite values of the given arrays; 1 when there is none (all zero or NaN). */
export function maxAbs(arrays: Iterable<Float32Array>): number {
  let m = 0;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = Math.abs(a[i]);
      if (v > m && Number.isFinite(v)) m = v;
    }
  }
  return m > 0 ? m : 1;
}

/** A value is drawn in colour when it is finite and |value| >= threshold. */
export function isSuprathreshold(value: number, threshold: number): boolean {
  return Number.isFinite(value) && Math.abs(value) >= threshold;
}
