/**
 * VolumeViewer: orthogonal slices (sagittal, coronal, axial) of a NIfTI stat map over an anatomical
 * background on the same voxel grid, with threshold, crosshair and world coordinates.
 *
 * Synced state: `volume`, `threshold`, `vmax` (null: max |x| of the volume), `cursor` ([i, j, k] voxel).
 * Binary state: `stat` (nvol * nvox float32, volume-major, x fastest as in NIfTI), `background` (nvox or null).
 * Other state: `dims` [nx, ny, nz], `affine` (4x4 row-major voxel -> world mm), `volume_names`, `statistic`.
 * A click on a slice moves the crosshair and sends `{event: 'click', voxel, world, value, volume}` to the kernel.
 */
import { DOMWidgetModel, DOMWidgetView, ISerializers } from '@jupyter-widgets/base';
import { asFloat32, exact } from './buffers';
import { ColourScale, colourScale, isSuprathreshold, rgbString, scaleRgb } from './colormap';
import { fmt, labelled, numberInput, rangeInput, select, setOptions, syncThreshold } from './controls';
import { injectStyle } from './style';
import { MODULE_NAME, MODULE_VERSION } from './version';

const float32Serializer = {
  deserialize: (view: DataView | null): Float32Array | null => (view ? asFloat32(view) : null),
  serialize: (a: Float32Array | null) => (a ? exact(a) : null),
};

export class VolumeModel extends DOMWidgetModel {
  override defaults() {
    return {
      ...super.defaults(),
      _model_name: 'VolumeModel',
      _model_module: MODULE_NAME,
      _model_module_version: MODULE_VERSION,
      _view_name: 'VolumeView',
      _view_module: MODULE_NAME,
      _view_module_version: MODULE_VERSION,
      title: '',
      statistic: '',
      dims: [1, 1, 1],
      affine: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1],
      nvol: 1,
      volume_names: [],
      volume: 0,
      threshold: 0,
      vmax: null,
      cursor: [0, 0, 0],
      stat: null,
      background: null,
    };
  }

  static override serializers: ISerializers = {
    ...DOMWidgetModel.serializers,
    stat: float32Serializer,
    background: float32Serializer,
  };
}

type Axis = 0 | 1 | 2;
interface Plane {
  name: 'sagittal' | 'coronal' | 'axial';
  fixed: Axis;
  horizontal: Axis;
  vertical: Axis;
}
const PLANES: Plane[] = [
  { name: 'sagittal', fixed: 0, horizontal: 1, vertical: 2 },
  { name: 'coronal', fixed: 1, horizontal: 0, vertical: 2 },
  { name: 'axial', fixed: 2, horizontal: 0, vertical: 1 },
];
/** Largest side of a slice on screen, in CSS pixels. */
const SLICE_PIXELS = 260;

/** World coordinates (mm) of a voxel through a row-major 4x4 affine. */
export function voxelToWorld(affine: number[], [i, j, k]: number[]): [number, number, number] {
  return [0, 1, 2].map((r) => affine[4 * r] * i + affine[4 * r + 1] * j + affine[4 * r + 2] * k + affine[4 * r + 3]) as [number, number, number];
}

/** Robust grey window of the background: 2nd and 98th percentiles of its non-zero finite values. */
function greyWindow(background: Float32Array): [number, number] {
  const stride = Math.max(1, Math.floor(background.length / 200_000));
  const sample: number[] = [];
  for (let i = 0; i < background.length; i += stride) {
    const v = background[i];
    if (v !== 0 && Number.isFinite(v)) sample.push(v);
  }
  if (sample.length === 0) return [0, 1];
  sample.sort((a, b) => a - b);
  const lo = sample[Math.floor(0.02 * (sample.length - 1))];
  const hi = sample[Math.floor(0.98 * (sample.length - 1))];
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

export class VolumeView extends DOMWidgetView {
  private canvases = new Map<Plane['name'], HTMLCanvasElement>();
  private info!: HTMLDivElement;
  private colorbar!: HTMLCanvasElement;
  private colorbarLabels!: [HTMLSpanElement, HTMLSpanElement];
  private volumeSelect!: HTMLSelectElement;
  private thresholdInput!: HTMLInputElement;
  private thresholdSlider!: HTMLInputElement;
  private window: [number, number] | null = null;

  override render(): void {
    injectStyle();
    this.el.classList.add('neurolmm-viewer', 'neurolmm-volume');
    const set = (key: string, value: unknown) => {
      this.model.set(key, value);
      this.model.save_changes();
    };
    this.volumeSelect = select('volume', (v) => set('volume', Number(v)));
    this.thresholdInput = numberInput('threshold', (v) => set('threshold', v));
    this.thresholdSlider = rangeInput('threshold-slider', (v) => set('threshold', v));
    const controls = document.createElement('div');
    controls.className = 'neurolmm-controls';
    const threshold = labelled('threshold', this.thresholdInput);
    threshold.append(this.thresholdSlider);
    controls.append(labelled('volume', this.volumeSelect), threshold);
    const slices = document.createElement('div');
    slices.className = 'neurolmm-slices';
    for (const plane of PLANES) {
      const canvas = document.createElement('canvas');
      canvas.dataset.plane = plane.name;
      canvas.addEventListener('click', (e) => this.onClick(plane, canvas, e));
      this.canvases.set(plane.name, canvas);
      slices.append(canvas);
    }
    const bar = document.createElement('div');
    bar.className = 'neurolmm-colorbar';
    this.colorbar = document.createElement('canvas');
    this.colorbar.width = 200;
    this.colorbar.height = 12;
    this.colorbarLabels = [document.createElement('span'), document.createElement('span')];
    this.colorbarLabels[0].className = 'neurolmm-colorbar-min';
    this.colorbarLabels[1].className = 'neurolmm-colorbar-max';
    bar.append(this.colorbarLabels[0], this.colorbar, this.colorbarLabels[1]);
    this.info = document.createElement('div');
    this.info.className = 'neurolmm-status';
    const title = document.createElement('div');
    title.className = 'neurolmm-title';
    title.textContent = this.model.get('title');
    this.el.append(...(title.textContent ? [title] : []), controls, slices, bar, this.info);
    this.listenTo(this.model, 'change:background', () => (this.window = null));
    this.listenTo(this.model, 'change', () => this.draw());
    this.draw();
  }

  private dims(): [number, number, number] {
    return this.model.get('dims');
  }

  /** The selected volume of the stat map. */
  private statVolume(): { values: Float32Array | null; volume: number } {
    const stat: Float32Array | null = this.model.get('stat');
    const [nx, ny, nz] = this.dims();
    const nvox = nx * ny * nz;
    const nvol = stat ? Math.max(1, Math.floor(stat.length / nvox)) : 1;
    const volume = Math.min(nvol - 1, Math.max(0, Math.trunc(Number(this.model.get('volume')) || 0)));
    return { values: stat ? stat.subarray(volume * nvox, (volume + 1) * nvox) : null, volume };
  }

  /** Whether display coordinates run against voxel index along an axis (so +world is right/up). */
  private flipped(axis: Axis): boolean {
    const a: number[] = this.model.get('affine');
    const column = [a[axis], a[4 + axis], a[8 + axis]];
    const dominant = column.reduce((best, v, r) => (Math.abs(v) > Math.abs(column[best]) ? r : best), 0);
    return column[dominant] < 0;
  }

  private voxelSize(axis: Axis): number {
    const a: number[] = this.model.get('affine');
    return Math.hypot(a[axis], a[4 + axis], a[8 + axis]) || 1;
  }

  private draw(): void {
    const dims = this.dims();
    const { values, volume } = this.statVolume();
    const scale = colourScale(values ? [values] : [], this.model.get('vmax'));
    const threshold = Number(this.model.get('threshold')) || 0;
    const background: Float32Array | null = this.model.get('background');
    if (background && !this.window) this.window = greyWindow(background);
    const cursor = this.cursor();
    const extentMm = Math.max(...[0, 1, 2].map((a) => dims[a] * this.voxelSize(a as Axis)));
    const mmToPixels = SLICE_PIXELS / extentMm;
    for (const plane of PLANES) this.drawPlane(plane, values, background, threshold, scale, cursor, mmToPixels);
    this.syncControls(scale.vmax, threshold, volume);
    this.drawColorbar(scale);
    const world = voxelToWorld(this.model.get('affine'), cursor);
    const names: string[] = this.model.get('volume_names');
    const value = values ? values[cursor[0] + dims[0] * (cursor[1] + dims[1] * cursor[2])] : NaN;
    const statistic = this.model.get('statistic') || 'value';
    this.info.textContent =
      `voxel (${cursor.join(', ')}) · world (${world.map((w) => w.toFixed(1)).join(', ')}) mm · ` +
      `${statistic}${names[volume] ? ` [${names[volume]}]` : ''} = ${fmt(value)}`;
  }

  private cursor(): [number, number, number] {
    const dims = this.dims();
    const c: number[] = this.model.get('cursor') ?? [0, 0, 0];
    return [0, 1, 2].map((a) => Math.min(dims[a] - 1, Math.max(0, Math.trunc(c[a] ?? 0)))) as [number, number, number];
  }

  private drawPlane(
    plane: Plane,
    values: Float32Array | null,
    background: Float32Array | null,
    threshold: number,
    scale: ColourScale,
    cursor: number[],
    mmToPixels: number,
  ): void {
    const [nx, ny] = this.dims();
    const nh = this.dims()[plane.horizontal];
    const nv = this.dims()[plane.vertical];
    const flipH = this.flipped(plane.horizontal);
    const flipV = this.flipped(plane.vertical);
    const image = new ImageData(nh, nv);
    const [lo, hi] = this.window ?? [0, 1];
    const voxel = [0, 0, 0];
    voxel[plane.fixed] = cursor[plane.fixed];
    for (let row = 0; row < nv; row++) {
      // Rows run downwards on screen, so +world is up unless the axis is flipped.
      voxel[plane.vertical] = flipV ? row : nv - 1 - row;
      for (let col = 0; col < nh; col++) {
        voxel[plane.horizontal] = flipH ? nh - 1 - col : col;
        const index = voxel[0] + nx * (voxel[1] + ny * voxel[2]);
        const v = values ? values[index] : NaN;
        let rgb: [number, number, number];
        if (isSuprathreshold(v, threshold)) rgb = scaleRgb(v, scale);
        else {
          const g = background ? Math.round(255 * Math.min(1, Math.max(0, (background[index] - lo) / (hi - lo)))) : 0;
          rgb = [g, g, g];
        }
        const o = 4 * (row * nh + col);
        image.data[o] = rgb[0];
        image.data[o + 1] = rgb[1];
        image.data[o + 2] = rgb[2];
        image.data[o + 3] = 255;
      }
    }
    const canvas = this.canvases.get(plane.name)!;
    const width = Math.max(1, Math.round(nh * this.voxelSize(plane.horizontal) * mmToPixels));
    const height = Math.max(1, Math.round(nv * this.voxelSize(plane.vertical) * mmToPixels));
    canvas.width = width;
    canvas.height = height;
    const source = document.createElement('canvas');
    source.width = nh;
    source.height = nv;
    source.getContext('2d')!.putImageData(image, 0, 0);
    const ctx = canvas.getContext('2d')!;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(source, 0, 0, width, height);
    // Crosshair through the centre of the cursor voxel.
    const ch = flipH ? nh - 1 - cursor[plane.horizontal] : cursor[plane.horizontal];
    const cv = flipV ? cursor[plane.vertical] : nv - 1 - cursor[plane.vertical];
    const px = ((ch + 0.5) * width) / nh;
    const py = ((cv + 0.5) * height) / nv;
    ctx.strokeStyle = 'rgba(0, 255, 0, 0.8)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(Math.round(px) + 0.5, 0);
    ctx.lineTo(Math.round(px) + 0.5, height);
    ctx.moveTo(0, Math.round(py) + 0.5);
    ctx.lineTo(width, Math.round(py) + 0.5);
    ctx.stroke();
  }

  private syncControls(vmax: number, threshold: number, volume: number): void {
    const nvol = Math.max(1, Number(this.model.get('nvol')) || 1);
    const names: string[] = this.model.get('volume_names');
    setOptions(
      this.volumeSelect,
      Array.from({ length: nvol }, (_, v) => [String(v), names[v] ? `${v}: ${names[v]}` : String(v)]),
      String(volume),
    );
    syncThreshold(this.thresholdInput, this.thresholdSlider, threshold, vmax);
  }

  private drawColorbar(scale: ColourScale): void {
    const ctx = this.colorbar.getContext('2d')!;
    const { width, height } = this.colorbar;
    for (let x = 0; x < width; x++) {
      ctx.fillStyle = rgbString(scaleRgb(scale.vmin + ((x + 0.5) / width) * (scale.vmax - scale.vmin), scale));
      ctx.fillRect(x, 0, 1, height);
    }
    this.colorbarLabels[0].textContent = fmt(scale.vmin);
    this.colorbarLabels[1].textContent = fmt(scale.vmax);
  }

  private onClick(plane: Plane, canvas: HTMLCanvasElement, event: MouseEvent): void {
    const rect = canvas.getBoundingClientRect();
    const dims = this.dims();
    const nh = dims[plane.horizontal];
    const nv = dims[plane.vertical];
    const col = Math.min(nh - 1, Math.max(0, Math.floor(((event.clientX - rect.left) / rect.width) * nh)));
    const row = Math.min(nv - 1, Math.max(0, Math.floor(((event.clientY - rect.top) / rect.height) * nv)));
    const cursor = this.cursor();
    cursor[plane.horizontal] = this.flipped(plane.horizontal) ? nh - 1 - col : col;
    cursor[plane.vertical] = this.flipped(plane.vertical) ? row : nv - 1 - row;
    this.model.set('cursor', cursor);
    this.model.save_changes();
    const { values, volume } = this.statVolume();
    const value = values ? values[cursor[0] + dims[0] * (cursor[1] + dims[1] * cursor[2])] : NaN;
    this.send({
      event: 'click',
      voxel: cursor,
      world: voxelToWorld(this.model.get('affine'), cursor),
      value: Number.isFinite(value) ? value : null,
      volume,
    });
  }
}
