/**
 * SurfaceViewer: vertex-wise maps on a cortical mesh (Plotly mesh3d with per-vertex colours).
 *
 * Synced state: `hemisphere` ('left' | 'right' | 'both'), `design`, `statistic`, `volume` (index),
 * `threshold` (|x| below it is drawn as the grey background; set to `default_thresholds[statistic]`,
 * else 0, when the statistic changes without a threshold), `vmax` (null: max |x| of the shown volume),
 * `camera` (a preset; "medial" with both hemispheres sets them side by side, medial walls to the
 * camera), `selected` ({hemi, vertex} of the last click, or null). A volume with no negative value
 * is coloured on a sequential scale from 0, a signed one on the diverging scale centred at 0.
 * Binary state: `meshes` ({lh, rh}: vertices, faces, background) and `maps` (one entry per
 * design x statistic x hemisphere, all volumes volume-major).
 * A click also sends `{event: 'click', hemi, vertex, value, design, statistic, volume}` to the kernel.
 */
import { DOMWidgetModel, DOMWidgetView, ISerializers, WidgetModel } from '@jupyter-widgets/base';
import Plotly from 'plotly.js-dist-min';
import { asFloat32, asInt32, exact } from './buffers';
import { ColourScale, backgroundRgb, colourScale, isSuprathreshold, plotlyColorscale, rgbString, scaleRgb } from './colormap';
import { fmt, labelled, numberInput, rangeInput, select, setOptions, syncThreshold } from './controls';
import { plotlyLiteral } from './plotly-text';
import { injectStyle } from './style';
import { MODULE_NAME, MODULE_VERSION } from './version';

export type Hemi = 'lh' | 'rh';
export type HemisphereChoice = 'left' | 'right' | 'both';

export interface HemiMesh {
  vertices: Float32Array; // 3 * nvertices, xyz interleaved
  faces: Int32Array; // 3 * nfaces
  background: Float32Array | null; // curvature or sulcal depth, one per vertex
}

export interface SurfaceMap {
  design: string;
  statistic: string;
  hemi: Hemi;
  nvol: number;
  names: string[];
  values: Float32Array; // nvol * nvertices, volume-major
}

type Wire<T> = { [K in keyof T]: T[K] extends Float32Array | Int32Array ? DataView : T[K] extends Float32Array | null ? DataView | null : T[K] };

const meshesSerializer = {
  deserialize: (wire: Partial<Record<Hemi, Wire<HemiMesh>>> | null): Partial<Record<Hemi, HemiMesh>> => {
    const meshes: Partial<Record<Hemi, HemiMesh>> = {};
    for (const [hemi, m] of Object.entries(wire ?? {}) as Array<[Hemi, Wire<HemiMesh>]>) {
      meshes[hemi] = { vertices: asFloat32(m.vertices), faces: asInt32(m.faces), background: m.background ? asFloat32(m.background) : null };
    }
    return meshes;
  },
  serialize: (meshes: Partial<Record<Hemi, HemiMesh>>) => {
    const wire: Record<string, unknown> = {};
    for (const [hemi, m] of Object.entries(meshes)) {
      wire[hemi] = { vertices: exact(m.vertices), faces: exact(m.faces), background: m.background ? exact(m.background) : null };
    }
    return wire;
  },
};

const mapsSerializer = {
  deserialize: (wire: Array<Wire<SurfaceMap>> | null): SurfaceMap[] => (wire ?? []).map((m) => ({ ...m, values: asFloat32(m.values) })),
  serialize: (maps: SurfaceMap[]) => maps.map((m) => ({ ...m, values: exact(m.values) })),
};

export class SurfaceModel extends DOMWidgetModel {
  override defaults() {
    return {
      ...super.defaults(),
      _model_name: 'SurfaceModel',
      _model_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_name: 'SurfaceView',
      _view_module: MODULE_NAME,
      _view_module_version: MODULE_VERSION,
      title: '',
      hemisphere: 'both',
      design: '',
      statistic: '',
      volume: 0,
      threshold: 0,
      default_thresholds: {},
      vmax: null,
      camera: 'lateral',
      selected: null,
      height: 520,
      meshes: {},
      maps: [],
    };
  }

  static override serializers: ISerializers = {
    ...DOMWidgetModel.serializers,
    meshes: meshesSerializer,
    maps: mapsSerializer,
  };
}

/** What is shown, resolved from the model's state against the maps that exist. */
export interface SurfaceSelection {
  designs: string[];
  design: string;
  statistics: string[];
  statistic: string;
  volume: number;
  volumeNames: string[];
  /** `statistic [volume name]`, or the statistic alone for a single unnamed volume. */
  label: string;
  hemis: Hemi[]; // hemispheres drawn
  maps: Partial<Record<Hemi, Float32Array>>; // the selected volume, per hemisphere that has it
  scale: ColourScale;
}

const unique = (xs: string[]) => [...new Set(xs)];
const HEMIS_OF: Record<HemisphereChoice, Hemi[]> = { left: ['lh'], right: ['rh'], both: ['lh', 'rh'] };

export function resolveSelection(model: WidgetModel): SurfaceSelection {
  const maps: SurfaceMap[] = model.get('maps');
  const meshes: Partial<Record<Hemi, HemiMesh>> = model.get('meshes');
  const designs = unique(maps.map((m) => m.design));
  const design = designs.includes(model.get('design')) ? model.get('design') : (designs[0] ?? '');
  const ofDesign = maps.filter((m) => m.design === design);
  const statistics = unique(ofDesign.map((m) => m.statistic));
  const statistic = statistics.includes(model.get('statistic')) ? model.get('statistic') : (statistics[0] ?? '');
  const entries = ofDesign.filter((m) => m.statistic === statistic);
  const nvol = Math.max(1, ...entries.map((m) => m.nvol));
  const volume = Math.min(nvol - 1, Math.max(0, Math.trunc(Number(model.get('volume')) || 0)));
  const volumeNames = entries[0]?.names ?? [];
  const hemis = HEMIS_OF[model.get('hemisphere') as HemisphereChoice] ?? HEMIS_OF.both;
  const shown = hemis.filter((h) => meshes[h] !== undefined);
  const volumes: Partial<Record<Hemi, Float32Array>> = {};
  for (const m of entries) {
    const nv = m.values.length / m.nvol;
    if (volume < m.nvol) volumes[m.hemi] = m.values.subarray(volume * nv, (volume + 1) * nv);
  }
  // One scale for both hemispheres, so switching hemisphere never changes what a colour means.
  const scale = colourScale(Object.values(volumes), model.get('vmax'));
  const volumeLabel = volumeNames[volume] ?? (nvol > 1 ? String(volume) : '');
  const label = volumeLabel && volumeLabel !== statistic ? `${statistic} [${volumeLabel}]` : statistic;
  return {
    designs,
    design,
    statistics,
    statistic,
    volume,
    volumeNames,
    label,
    hemis: shown.length ? shown : (Object.keys(meshes) as Hemi[]),
    maps: volumes,
    scale,
  };
}

/** Per-vertex colours: the colour scale at or above threshold, the grey background below it. */
export function vertexColours(mesh: HemiMesh, values: Float32Array | undefined, threshold: number, scale: ColourScale): string[] {
  const nv = mesh.vertices.length / 3;
  const colours = new Array<string>(nv);
  for (let i = 0; i < nv; i++) {
    const v = values ? values[i] : NaN;
    colours[i] = rgbString(isSuprathreshold(v, threshold) ? scaleRgb(v, scale) : backgroundRgb(mesh.background, i));
  }
  return colours;
}

const CAMERA_PRESETS = ['lateral', 'medial', 'dorsal', 'ventral', 'anterior', 'posterior'] as const;
type CameraPreset = (typeof CAMERA_PRESETS)[number];

/** Camera eye for a preset; lateral/medial depend on the hemisphere (left lateral looks from -x). */
export function cameraFor(preset: CameraPreset, hemisphere: HemisphereChoice) {
  const side = hemisphere === 'right' ? 1 : -1;
  const d = 1.9;
  const eyes: Record<CameraPreset, [number, number, number]> = {
    lateral: [side * d, 0, 0],
    medial: [-side * d, 0, 0],
    dorsal: [0, 0, d],
    ventral: [0, 0, -d],
    anterior: [0, d, 0],
    posterior: [0, -d, 0],
  };
  const [x, y, z] = eyes[preset] ?? eyes.lateral;
  const up = preset === 'dorsal' || preset === 'ventral' ? { x: 0, y: 1, z: 0 } : { x: 0, y: 0, z: 1 };
  return { eye: { x, y, z }, up, center: { x: 0, y: 0, z: 0 } };
}

const HEMI_LABEL: Record<Hemi, string> = { lh: 'left', rh: 'right' };

/** Gap between the hemispheres set side by side, as a fraction of the left one's length. */
const MEDIAL_GAP = 0.1;

type Placement = (x: number, y: number, z: number) => [number, number, number];

/**
 * Where each hemisphere is drawn: as given (no entry), except in the medial view of both hemispheres,
 * where the right one is turned half a turn about the vertical axis (its medial wall faces the
 * camera, as the left one's does from +x) and set in front of the left one along y.
 */
export function hemispherePlacement(meshes: Partial<Record<Hemi, HemiMesh>>, camera: string, hemis: Hemi[]): Partial<Record<Hemi, Placement>> {
  if (camera !== 'medial' || hemis.length !== 2 || !meshes.lh || !meshes.rh) return {};
  const yRange = (v: Float32Array) => {
    let lo = Infinity,
      hi = -Infinity;
    for (let i = 1; i < v.length; i += 3) {
      lo = Math.min(lo, v[i]);
      hi = Math.max(hi, v[i]);
    }
    return [lo, hi];
  };
  const [lhMin, lhMax] = yRange(meshes.lh.vertices);
  const [, rhMax] = yRange(meshes.rh.vertices);
  // turned, the right hemisphere's y runs from -rhMax up: shift it to start past the left's front
  const shift = lhMax + MEDIAL_GAP * (lhMax - lhMin) + rhMax;
  return { rh: (x, y, z) => [-x, shift - y, z] };
}

export class SurfaceView extends DOMWidgetView {
  private plot!: HTMLDivElement;
  private status!: HTMLDivElement;
  private hemisphereSelect!: HTMLSelectElement;
  private designSelect!: HTMLSelectElement;
  private statisticSelect!: HTMLSelectElement;
  private volumeSelect!: HTMLSelectElement;
  private thresholdInput!: HTMLInputElement;
  private thresholdSlider!: HTMLInputElement;
  private cameraButtons = new Map<string, HTMLButtonElement>();
  /** Bumped on every camera preset click so Plotly re-applies the preset even when it is unchanged. */
  private cameraRevision = 0;
  private split = new WeakMap<Float32Array | Int32Array, [Float32Array | Int32Array, Float32Array | Int32Array, Float32Array | Int32Array]>();
  /** Vertex columns of the right hemisphere turned for the medial view of both, by its vertex array. */
  private turned = new WeakMap<Float32Array, [Float32Array, Float32Array, Float32Array]>();
  private plotted = false;
  /**
   * gl3d emits plotly_click on every frame the button is held (and, on a slow machine, again
   * after release): one click per mouse press is kept, counted by presses, not by time.
   */
  private presses = 0;
  private clickedPress = -1;

  override render(): void {
    injectStyle();
    this.el.classList.add('neurolmm-viewer', 'neurolmm-surface');
    const set = (key: string, value: unknown) => {
      this.model.set(key, value);
      this.model.save_changes();
    };
    this.hemisphereSelect = select('hemisphere', (v) => set('hemisphere', v));
    this.designSelect = select('design', (v) => set('design', v));
    this.statisticSelect = select('statistic', (v) => set('statistic', v));
    this.volumeSelect = select('volume', (v) => set('volume', Number(v)));
    this.thresholdInput = numberInput('threshold', (v) => set('threshold', v));
    this.thresholdSlider = rangeInput('threshold-slider', (v) => set('threshold', v));
    const cameras = document.createElement('span');
    cameras.className = 'neurolmm-cameras';
    for (const preset of CAMERA_PRESETS) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = preset;
      b.dataset.camera = preset;
      b.addEventListener('click', () => {
        this.cameraRevision++;
        if (this.model.get('camera') === preset) this.draw();
        else set('camera', preset);
      });
      this.cameraButtons.set(preset, b);
      cameras.append(b);
    }
    const controls = document.createElement('div');
    controls.className = 'neurolmm-controls';
    const threshold = labelled('threshold', this.thresholdInput);
    threshold.append(this.thresholdSlider);
    controls.append(
      labelled('hemisphere', this.hemisphereSelect),
      labelled('design', this.designSelect),
      labelled('statistic', this.statisticSelect),
      labelled('volume', this.volumeSelect),
      threshold,
      cameras,
    );
    this.plot = document.createElement('div');
    this.plot.className = 'neurolmm-plot';
    this.plot.style.height = `${this.model.get('height')}px`;
    this.status = document.createElement('div');
    this.status.className = 'neurolmm-status';
    this.el.append(controls, this.plot, this.status);

    // A threshold suits one statistic (|t| 2 is no threshold for sigma2): a new statistic without a
    // threshold of its own gets its default. Runs before the redraw below.
    this.listenTo(this.model, 'change:statistic', () => {
      if (this.model.hasChanged('threshold')) return;
      const defaults: Record<string, number> = this.model.get('default_thresholds') ?? {};
      this.model.set('threshold', defaults[this.model.get('statistic')] ?? 0);
      this.model.save_changes();
    });
    this.listenTo(
      this.model,
      'change:hemisphere change:design change:statistic change:volume change:threshold change:vmax change:camera change:selected change:maps change:meshes',
      () => this.draw(),
    );
    // Plotly measures its container, so the first draw waits until the view is in the page.
    this.displayed.then(() => this.draw());
  }

  /** The three columns of an interleaved xyz (or face-corner) array, split once: Plotly wants one array each. */
  private columns<T extends Float32Array | Int32Array>(interleaved: T): [T, T, T] {
    let cols = this.split.get(interleaved) as [T, T, T] | undefined;
    if (!cols) {
      const n = interleaved.length / 3;
      const make = () => new (interleaved.constructor as { new (n: number): T })(n);
      cols = [make(), make(), make()];
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) cols[c][i] = interleaved[3 * i + c];
      this.split.set(interleaved, cols);
    }
    return cols;
  }

  /** The vertex columns as placed: the mesh's own, or the turned right hemisphere's (computed once). */
  private placedColumns(vertices: Float32Array, place: Placement | undefined): [Float32Array, Float32Array, Float32Array] {
    const [x, y, z] = this.columns(vertices);
    if (!place) return [x, y, z];
    let cols = this.turned.get(vertices);
    if (!cols) {
      cols = [new Float32Array(x.length), new Float32Array(x.length), new Float32Array(x.length)];
      for (let i = 0; i < x.length; i++) [cols[0][i], cols[1][i], cols[2][i]] = place(x[i], y[i], z[i]);
      this.turned.set(vertices, cols);
    }
    return cols;
  }

  private syncControls(sel: SurfaceSelection): void {
    const meshes: Partial<Record<Hemi, HemiMesh>> = this.model.get('meshes');
    const hemiOptions: Array<[string, string]> = [];
    if (meshes.lh) hemiOptions.push(['left', 'left']);
    if (meshes.rh) hemiOptions.push(['right', 'right']);
    if (meshes.lh && meshes.rh) hemiOptions.push(['both', 'both']);
    const hemisphere = this.model.get('hemisphere');
    setOptions(this.hemisphereSelect, hemiOptions, hemiOptions.some(([v]) => v === hemisphere) ? hemisphere : (hemiOptions[hemiOptions.length - 1]?.[0] ?? ''));
    setOptions(
      this.designSelect,
      sel.designs.map((d) => [d, d]),
      sel.design,
    );
    setOptions(
      this.statisticSelect,
      sel.statistics.map((s) => [s, s]),
      sel.statistic,
    );
    const nvol = Math.max(1, sel.volumeNames.length, sel.volume + 1);
    const volumeOptions: Array<[string, string]> = Array.from({ length: nvol }, (_, v) => [
      String(v),
      sel.volumeNames[v] ? `${v}: ${sel.volumeNames[v]}` : String(v),
    ]);
    setOptions(this.volumeSelect, volumeOptions, String(sel.volume));
    syncThreshold(this.thresholdInput, this.thresholdSlider, Number(this.model.get('threshold')) || 0, sel.scale.vmax);
    for (const [preset, b] of this.cameraButtons) b.classList.toggle('active', preset === this.model.get('camera'));
  }

  private draw(): void {
    const sel = resolveSelection(this.model);
    this.syncControls(sel);
    const meshes: Partial<Record<Hemi, HemiMesh>> = this.model.get('meshes');
    const threshold = Number(this.model.get('threshold')) || 0;
    const traces: Array<Record<string, unknown>> = [];
    const centre = [0, 0, 0];
    let counted = 0;
    const camera = this.model.get('camera') as CameraPreset;
    const placement = hemispherePlacement(meshes, camera, sel.hemis);
    for (const hemi of sel.hemis) {
      const mesh = meshes[hemi]!;
      const [x, y, z] = this.placedColumns(mesh.vertices, placement[hemi]);
      const [i, j, k] = this.columns(mesh.faces);
      const values = sel.maps[hemi];
      traces.push({
        type: 'mesh3d',
        name: hemi,
        meta: { hemi },
        x,
        y,
        z,
        i,
        j,
        k,
        vertexcolor: vertexColours(mesh, values, threshold, sel.scale),
        customdata: values ?? new Float32Array(x.length).fill(NaN),
        hovertemplate: `${HEMI_LABEL[hemi]} vertex %{pointNumber}<br>${plotlyLiteral(sel.label)}: %{customdata:.4g}<extra></extra>`,
        flatshading: false,
        lighting: { ambient: 0.55, diffuse: 0.7, specular: 0.05, roughness: 0.9, fresnel: 0.1 },
        lightposition: { x: 0, y: 0, z: 1e5 },
      });
      for (let v = 0; v < x.length; v++) {
        centre[0] += x[v];
        centre[1] += y[v];
        centre[2] += z[v];
      }
      counted += x.length;
    }
    for (let c = 0; c < 3; c++) centre[c] /= Math.max(1, counted);
    // mesh3d with vertex colours has no colorbar of its own: an invisible point carries it.
    traces.push({
      type: 'scatter3d',
      mode: 'markers',
      name: 'colorbar',
      x: [centre[0]],
      y: [centre[1]],
      z: [centre[2]],
      hoverinfo: 'skip',
      showlegend: false,
      marker: {
        size: 0.1,
        opacity: 0,
        color: [0],
        cmin: sel.scale.vmin,
        cmax: sel.scale.vmax,
        colorscale: plotlyColorscale(sel.scale),
        showscale: true,
        colorbar: { title: { text: plotlyLiteral(sel.statistic), side: 'right' }, len: 0.75, thickness: 16 },
      },
    });
    const selected = this.model.get('selected') as { hemi: Hemi; vertex: number } | null;
    const selectedMesh = selected ? meshes[selected.hemi] : undefined;
    if (selected && selectedMesh && sel.hemis.includes(selected.hemi)) {
      const v = selectedMesh.vertices;
      const at: [number, number, number] = [v[3 * selected.vertex], v[3 * selected.vertex + 1], v[3 * selected.vertex + 2]];
      const [x, y, z] = placement[selected.hemi]?.(...at) ?? at;
      traces.push({
        type: 'scatter3d',
        mode: 'markers',
        name: 'selected',
        x: [x],
        y: [y],
        z: [z],
        hoverinfo: 'skip',
        showlegend: false,
        marker: { size: 5, color: '#ffd400', line: { color: '#000', width: 1 } },
      });
    }
    this.status.textContent = this.statusText(sel, selected);
    const noAxis = { visible: false, showspikes: false };
    const hemisphere = this.model.get('hemisphere') as HemisphereChoice;
    const layout = {
      title: { text: plotlyLiteral(this.model.get('title') || '') },
      margin: { l: 0, r: 0, t: this.model.get('title') ? 30 : 0, b: 0 },
      showlegend: false,
      paper_bgcolor: '#fff',
      uirevision: `${camera}/${hemisphere}/${this.cameraRevision}`,
      scene: { xaxis: noAxis, yaxis: noAxis, zaxis: noAxis, aspectmode: 'data', camera: cameraFor(camera, hemisphere), dragmode: 'orbit' },
    };
    const config = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ['toImage'] };
    void Plotly.react(this.plot, traces as any, layout as any, config as any).then(() => {
      if (this.plotted) return;
      this.plotted = true;
      this.plot.addEventListener('mousedown', () => this.presses++, true);
      (this.plot as any).on('plotly_click', (event: { points: Array<{ curveNumber: number; pointNumber: number }> }) => this.onClick(event));
    });
  }

  private statusText(sel: SurfaceSelection, selected: { hemi: Hemi; vertex: number } | null): string {
    const range = sel.scale.kind === 'diverging' ? `range ±${fmt(sel.scale.vmax)}` : `range 0 to ${fmt(sel.scale.vmax)}`;
    if (!selected) return `${sel.label}, ${range}. Click a vertex to select it.`;
    const value = sel.maps[selected.hemi]?.[selected.vertex];
    return `${HEMI_LABEL[selected.hemi]} vertex ${selected.vertex}: ${sel.label} = ${value === undefined ? 'n/a' : fmt(value)}; ${range}`;
  }

  private onClick(event: { points: Array<{ curveNumber: number; pointNumber: number }> }): void {
    const point = event.points?.[0];
    const trace = point ? (this.plot as any).data?.[point.curveNumber] : undefined;
    const hemi: Hemi | undefined = trace?.meta?.hemi;
    if (!point || !hemi) return;
    const vertex = point.pointNumber;
    if (this.clickedPress === this.presses) return;
    this.clickedPress = this.presses;
    const sel = resolveSelection(this.model);
    const value = sel.maps[hemi]?.[vertex];
    this.model.set('selected', { hemi, vertex });
    this.model.save_changes();
    this.send({
      event: 'click',
      hemi,
      vertex,
      value: value === undefined || !Number.isFinite(value) ? null : value,
      design: sel.design,
      statistic: sel.statistic,
      volume: sel.volume,
    });
  }

  override processLuminoMessage(msg: any): void {
    super.processLuminoMessage(msg);
    if ((msg.type === 'resize' || msg.type === 'after-show') && this.plotted) void Plotly.Plots.resize(this.plot);
  }

  override remove(): void {
    if (this.plotted) Plotly.purge(this.plot);
    return super.remove();
  }
}
