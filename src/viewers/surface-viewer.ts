/**
 * SurfaceViewer: an interactive cortical-surface viewer of vertex-wise maps (a Jupyter widget).
 *
 *   const viewer = SurfaceViewer.fromBlmm(demoDir, { design: ['des1', 'des2'], hemi: 'both' });
 *   viewer.on('click', ({ hemi, vertex }) => { ...refit that vertex with lmer() and plot it... });
 *   viewer            // last expression of a cell: the widget
 *   viewer.toHTML('brain.html');
 */
import * as fs from 'fs';
import * as path from 'path';
import { DataError } from '../errors';
import { readBlmmResults } from '../io/blmm';
import { readCurv, readSurface } from '../io/freesurfer';
import { meshCurvature } from './curvature';
import { WidgetViewer } from './viewer';
import { WidgetBuffer, WidgetSpec, viewerWidgetSpec } from './widget-state';

export type Hemi = 'lh' | 'rh';
export type HemisphereChoice = 'left' | 'right' | 'both';
export type CameraPreset = 'lateral' | 'medial' | 'dorsal' | 'ventral' | 'anterior' | 'posterior';

/** A triangle mesh (what `readSurface` returns). */
export interface SurfaceMesh {
  vertices: Float32Array;
  faces: Int32Array;
}

/** One map: a single volume, or `nvol` volumes stored volume-major (`data[v * nvertices + i]`). */
export type MapValues = Float32Array | { nvol: number; data: Float32Array; names?: string[] };
/** A map on one hemisphere, or per hemisphere. */
export type HemiMaps = MapValues | { lh?: MapValues; rh?: MapValues };

export interface SurfaceControls {
  hemisphere: HemisphereChoice;
  design: string;
  statistic: string;
  volume: number;
  /** |x| below it shows the grey background; default per statistic (`defaultThreshold`). */
  threshold: number;
  /** Colour range ±vmax; null: max |x| of the shown volume over both hemispheres. */
  vmax: number | null;
  camera: CameraPreset;
  /** The last clicked vertex. */
  selected: { hemi: Hemi; vertex: number } | null;
}

export interface SurfaceViewerOptions extends Partial<Omit<SurfaceControls, 'selected'>> {
  surface: { lh?: SurfaceMesh; rh?: SurfaceMesh };
  /** Maps by statistic name (one design); or give `designs`. */
  maps?: Record<string, HemiMaps>;
  /** Maps by design, then statistic name. */
  designs?: Record<string, Record<string, HemiMaps>>;
  /** Curvature or sulcal depth per vertex (positive = sulcus); default: computed from the mesh. */
  background?: { lh?: Float32Array; rh?: Float32Array };
  title?: string;
  /** Plot height in pixels. */
  height?: number;
}

export interface VertexClick {
  hemi: Hemi;
  vertex: number;
  /** The shown value at that vertex (null where it is NaN or absent). */
  value: number | null;
  design: string;
  statistic: string;
  volume: number;
}

export interface BlmmViewerOptions extends Partial<Omit<SurfaceControls, 'selected' | 'design'>> {
  /** Design folder suffixes (results_<hemi>_<design>); default: every one present for the hemispheres. */
  design?: string | string[];
  hemi?: Hemi | 'both';
  /** Surface file in geom/ (geom/<hemi>.<surface>); default 'pial'. */
  surface?: string;
  /** Only these statistics (e.g. ['conT', 'conTlp']); default all but mask. The viewer carries them all. */
  statistics?: string[];
  /** Names of the contrasts (the volumes of con, conSE, conT, conTlp, conT_swedf). */
  contrasts?: string[];
  title?: string;
  height?: number;
}

interface MapEntry {
  design: string;
  statistic: string;
  hemi: Hemi;
  nvol: number;
  names: string[];
  values: Float32Array;
}

const HEMIS: Hemi[] = ['lh', 'rh'];

/** Thresholds that suit BLMM's statistics as nilearn users expect: |t| 2, -log10 p 1.3 (p 0.05). */
const DEFAULT_THRESHOLDS: Readonly<Record<string, number>> = { conT: 2, conTlp: 1.3, Chi2lp: 1.3 };

/** The threshold a statistic starts with: its default above, else 0 (every value shown). */
export function defaultThreshold(statistic: string): number {
  return DEFAULT_THRESHOLDS[statistic] ?? 0;
}

function isMapValues(x: unknown): x is MapValues {
  return x instanceof Float32Array || (typeof x === 'object' && x !== null && 'data' in x);
}

export class SurfaceViewer extends WidgetViewer<SurfaceControls, VertexClick> {
  private readonly meshes: Partial<Record<Hemi, { vertices: Float32Array; faces: Int32Array; background: Float32Array }>> = {};
  private readonly entries: MapEntry[] = [];
  private readonly title: string;
  private readonly height: number;

  constructor(options: SurfaceViewerOptions) {
    super({
      hemisphere: options.hemisphere ?? (options.surface.lh && options.surface.rh ? 'both' : options.surface.rh ? 'right' : 'left'),
      design: options.design ?? '',
      statistic: options.statistic ?? '',
      volume: options.volume ?? 0,
      threshold: options.threshold ?? 0,
      vmax: options.vmax ?? null,
      camera: options.camera ?? 'lateral',
      selected: null,
    });
    this.title = options.title ?? '';
    this.height = options.height ?? 520;
    const hemis = HEMIS.filter((h) => options.surface[h]);
    if (hemis.length === 0) throw new DataError('SurfaceViewer needs a surface: { surface: { lh, rh } } (one or both hemispheres)');
    for (const hemi of hemis) {
      const mesh = options.surface[hemi]!;
      const nv = mesh.vertices.length / 3;
      if (!Number.isInteger(nv) || mesh.faces.length % 3 !== 0)
        throw new DataError(
          `the ${hemi} surface has ${mesh.vertices.length} vertex coordinates and ${mesh.faces.length} face indices: both must be multiples of 3`,
        );
      const background = options.background?.[hemi] ?? meshCurvature(mesh);
      if (background.length !== nv) throw new DataError(`the ${hemi} background has ${background.length} values but the ${hemi} mesh has ${nv} vertices`);
      this.meshes[hemi] = { vertices: mesh.vertices, faces: mesh.faces, background };
    }
    const designs = options.designs ?? (options.maps ? { [options.design ?? '']: options.maps } : null);
    if (!designs) throw new DataError('SurfaceViewer needs maps: { maps: { name: values } } or { designs: { design: { name: values } } }');
    for (const [design, maps] of Object.entries(designs)) {
      for (const [statistic, hemiMaps] of Object.entries(maps)) this.addMap(design, statistic, hemiMaps, hemis);
    }
    if (this.entries.length === 0) throw new DataError('SurfaceViewer was given no maps');
    // the front-end shows the first statistic when none is named
    if (options.threshold === undefined) this.state.threshold = defaultThreshold(this.state.statistic || this.entries[0].statistic);
  }

  /** A new statistic without a threshold of its own gets its default threshold (sigma2 at |t| 2 shows nothing). */
  override set(changes: Partial<SurfaceControls>): void {
    const newStatistic = changes.statistic !== undefined && changes.statistic !== this.state.statistic;
    super.set(newStatistic && changes.threshold === undefined ? { ...changes, threshold: defaultThreshold(changes.statistic!) } : changes);
  }

  private addMap(design: string, statistic: string, hemiMaps: HemiMaps, hemis: Hemi[]): void {
    const label = design ? `${design}/${statistic}` : statistic;
    let perHemi: Partial<Record<Hemi, MapValues>>;
    if (isMapValues(hemiMaps)) {
      if (hemis.length > 1) throw new DataError(`map '${label}': the viewer has two hemispheres, so give { lh: values, rh: values }`);
      perHemi = { [hemis[0]]: hemiMaps };
    } else {
      perHemi = hemiMaps;
      const unknown = Object.keys(hemiMaps).filter((k) => !hemis.includes(k as Hemi));
      if (unknown.length)
        throw new DataError(`map '${label}' has values for ${unknown.join(', ')} but the viewer has no such surface (it has ${hemis.join(', ')})`);
    }
    for (const [hemi, values] of Object.entries(perHemi) as Array<[Hemi, MapValues]>) {
      const nv = this.meshes[hemi]!.vertices.length / 3;
      const { nvol, data, names } = values instanceof Float32Array ? { nvol: 1, data: values, names: undefined } : values;
      if (!(data instanceof Float32Array)) throw new DataError(`map '${label}' (${hemi}): values must be a Float32Array`);
      if (!(Number.isInteger(nvol) && nvol >= 1) || data.length !== nvol * nv) {
        throw new DataError(
          `map '${label}' (${hemi}) has ${data.length} values but the ${hemi} mesh has ${nv} vertices` +
            (nvol > 1 ? ` (x ${nvol} volumes = ${nv * nvol})` : ''),
        );
      }
      if (names && names.length !== nvol) throw new DataError(`map '${label}' (${hemi}) has ${nvol} volumes but ${names.length} names`);
      this.entries.push({ design, statistic, hemi, nvol, names: names ?? [], values: data });
    }
  }

  /**
   * A viewer of BLMM results: `dir` holds geom/<hemi>.pial (and, when present, <hemi>.sulc or
   * <hemi>.curv) and results_<hemi>_<design>/ folders. Vertices outside BLMM's mask show no value.
   */
  static fromBlmm(dir: string, options: BlmmViewerOptions = {}): SurfaceViewer {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new DataError(`BLMM folder not found: ${dir}`);
    const hemis: Hemi[] = !options.hemi || options.hemi === 'both' ? HEMIS : [options.hemi];
    const folders = fs.readdirSync(dir).filter((f) => /^results_(lh|rh)_.+$/.test(f));
    const designs =
      options.design === undefined
        ? [...new Set(folders.filter((f) => hemis.some((h) => f.startsWith(`results_${h}_`))).map((f) => f.slice('results_lh_'.length)))].sort()
        : [options.design].flat();
    if (designs.length === 0) throw new DataError(`no BLMM results folders (results_<lh|rh>_<design>) in ${dir}`);
    for (const hemi of hemis) {
      for (const design of designs) {
        const folder = path.join(dir, `results_${hemi}_${design}`);
        if (!fs.existsSync(folder)) throw new DataError(`BLMM results folder not found: ${folder} (folders in ${dir}: ${folders.join(', ') || 'none'})`);
      }
    }
    const surface: SurfaceViewerOptions['surface'] = {};
    const background: NonNullable<SurfaceViewerOptions['background']> = {};
    const maps: Record<string, Record<string, HemiMaps>> = {};
    for (const hemi of hemis) {
      const mesh = readSurface(path.join(dir, 'geom', `${hemi}.${options.surface ?? 'pial'}`));
      surface[hemi] = mesh;
      const curvFile = ['sulc', 'curv'].map((b) => path.join(dir, 'geom', `${hemi}.${b}`)).find((f) => fs.existsSync(f));
      if (curvFile) background[hemi] = readCurv(curvFile);
      for (const design of designs) {
        const folder = path.join(dir, `results_${hemi}_${design}`);
        const results = readBlmmResults(folder);
        if (results.nvertices !== mesh.nvertices) {
          throw new DataError(`${folder} has maps of ${results.nvertices} vertices but ${hemi}.${options.surface ?? 'pial'} has ${mesh.nvertices}`);
        }
        const mask = results.maps.has('mask') ? results.volume('mask', 0) : null;
        for (const [statistic, { nvol }] of results.maps) {
          if (statistic === 'mask' || (options.statistics && !options.statistics.includes(statistic))) continue;
          const data = new Float32Array(nvol * results.nvertices);
          for (let v = 0; v < nvol; v++) {
            const volume = results.volume(statistic, v);
            if (mask) for (let i = 0; i < volume.length; i++) if (mask[i] === 0) volume[i] = NaN;
            data.set(volume, v * results.nvertices);
          }
          const entry = ((maps[design] ??= {})[statistic] ??= {}) as { lh?: MapValues; rh?: MapValues };
          entry[hemi] = { nvol, data, names: blmmVolumeNames(statistic, nvol, options.contrasts) };
        }
      }
    }
    const { design: _design, hemi: _hemi, surface: _surface, statistics: _statistics, contrasts: _contrasts, ...controls } = options;
    return new SurfaceViewer({
      ...controls,
      design: designs[0],
      statistic: options.statistic ?? (maps[designs[0]]?.conT ? 'conT' : undefined),
      surface,
      background: Object.keys(background).length ? background : undefined,
      designs: maps,
      title: options.title ?? `BLMM ${path.basename(path.resolve(dir))}`,
    });
  }

  override spec(): WidgetSpec {
    const buffers: WidgetBuffer[] = [];
    const meshes: Record<string, unknown> = {};
    for (const [hemi, mesh] of Object.entries(this.meshes)) {
      meshes[hemi] = { nvertices: mesh.vertices.length / 3, vertices: null, faces: null, background: null };
      buffers.push({ path: ['meshes', hemi, 'vertices'], data: mesh.vertices });
      buffers.push({ path: ['meshes', hemi, 'faces'], data: mesh.faces });
      buffers.push({ path: ['meshes', hemi, 'background'], data: mesh.background });
    }
    const maps = this.entries.map((e, index) => {
      buffers.push({ path: ['maps', index, 'values'], data: e.values });
      return { design: e.design, statistic: e.statistic, hemi: e.hemi, nvol: e.nvol, names: e.names, values: null };
    });
    const defaultThresholds = Object.fromEntries([...new Set(this.entries.map((e) => e.statistic))].map((s) => [s, defaultThreshold(s)]));
    return viewerWidgetSpec(
      'SurfaceModel',
      'SurfaceView',
      { ...this.state, title: this.title, height: this.height, default_thresholds: defaultThresholds, meshes, maps },
      buffers,
    );
  }

  override describe(): string {
    const hemis = Object.entries(this.meshes)
      .map(([h, m]) => `${h} ${m.vertices.length / 3} vertices`)
      .join(', ');
    const designs = [...new Set(this.entries.map((e) => e.design))].filter(Boolean);
    const statistics = [...new Set(this.entries.map((e) => e.statistic))];
    return `SurfaceViewer(${hemis}; ${designs.length ? `designs ${designs.join(', ')}; ` : ''}maps ${statistics.join(', ')})`;
  }

  protected override parseClick(content: Record<string, unknown>): VertexClick | null {
    const hemi = content.hemi as Hemi;
    const vertex = Number(content.vertex);
    const mesh = this.meshes[hemi];
    if (!mesh || !Number.isInteger(vertex) || vertex < 0 || vertex >= mesh.vertices.length / 3) return null;
    this.state = { ...this.state, selected: { hemi, vertex } };
    return {
      hemi,
      vertex,
      value: typeof content.value === 'number' ? content.value : null,
      design: String(content.design ?? ''),
      statistic: String(content.statistic ?? ''),
      volume: Number(content.volume ?? 0),
    };
  }
}

/** Volume names of a BLMM map: contrast names for con*, D11/D21/D22... for D, numbers otherwise. */
export function blmmVolumeNames(statistic: string, nvol: number, contrasts?: string[]): string[] {
  if (statistic.startsWith('con') && contrasts && contrasts.length === nvol) return contrasts;
  if (statistic === 'D') {
    // BLMM stores the random-effects covariance as vech (lower triangle, column by column).
    const q = Math.round((Math.sqrt(8 * nvol + 1) - 1) / 2);
    if ((q * (q + 1)) / 2 === nvol) {
      const names: string[] = [];
      for (let c = 1; c <= q; c++) for (let r = c; r <= q; r++) names.push(`D${r}${c}`);
      return names;
    }
  }
  if (nvol === 1) return [statistic];
  const prefix = statistic.startsWith('con') ? 'contrast' : statistic;
  return Array.from({ length: nvol }, (_, v) => `${prefix} ${v + 1}`);
}
