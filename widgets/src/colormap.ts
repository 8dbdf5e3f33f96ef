/**
 * The colour scales shared by both viewers, chosen as nilearn does: a signed map gets the symmetric
 * diverging colormap centred at zero (blue negative, white at zero, red positive; ColorBrewer RdBu
 * reversed), a map with no negative value a sequential one from zero (ColorBrewer YlOrRd), so no half
 * of the scale goes unused; and the grey shades drawn where a value is below threshold.
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

const SEQUENTIAL_STOPS: ReadonlyArray<readonly [number, Rgb]> = [
  [0.0, [255, 255, 204]],
  [0.125, [255, 237, 160]],
  [0.25, [254, 217, 118]],
  [0.375, [254, 178, 76]],
  [0.5, [253, 141, 60]],
  [0.625, [252, 78, 42]],
  [0.75, [227, 26, 28]],
  [0.875, [189, 0, 38]],
  [1.0, [128, 0, 38]],
];

/** How values map to colours: diverging on [-vmax, vmax] or sequential on [0, vmax]. */
export interface ColourScale {
  kind: 'diverging' | 'sequential';
  vmin: number;
  vmax: number;
}

/**
 * The scale of the shown values: sequential when none is negative, else diverging; vmax is the
 * setting when positive, else the largest |x| (1 when there is none).
 */
export function colourScale(arrays: Float32Array[], vmaxSetting: unknown): ColourScale {
  const vmax = typeof vmaxSetting === 'number' && vmaxSetting > 0 ? vmaxSetting : maxAbs(arrays);
  const signed = arrays.some((a) => a.some((v) => v < 0));
  return signed ? { kind: 'diverging', vmin: -vmax, vmax } : { kind: 'sequential', vmin: 0, vmax };
}

const stopsOf = (scale: ColourScale) => (scale.kind === 'diverging' ? STOPS : SEQUENTIAL_STOPS);

/** The scale's stops in Plotly's colorscale form, so the colorbar and the vertex colours agree. */
export function plotlyColorscale(scale: ColourScale): Array<[number, string]> {
  return stopsOf(scale).map(([t, c]) => [t, rgbString(c)]);
}

export function rgbString([r, g, b]: Rgb): string {
  return `rgb(${r},${g},${b})`;
}

/** Colour of `value` on the scale (clamped outside [vmin, vmax]). */
export function scaleRgb(value: number, scale: ColourScale): Rgb {
  const stops = stopsOf(scale);
  const t = Math.min(1, Math.max(0, (value - scale.vmin) / (scale.vmax - scale.vmin)));
  const upper = Math.max(
    1,
    stops.findIndex(([s]) => s >= t),
  );
  const [t0, c0] = stops[upper - 1];
  const [t1, c1] = stops[upper];
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
