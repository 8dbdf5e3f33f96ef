/**
 * VolumeViewer: orthogonal slices of a NIfTI stat map over an anatomical background (a Jupyter widget).
 *
 *   const viewer = VolumeViewer.fromNifti('zstat1.nii.gz', { background: 'MNI152_T1_2mm.nii.gz', threshold: 3.1 });
 *   viewer.on('click', ({ voxel, world, value }) => ...);
 */
import { DataError } from '../errors';
import { readNifti } from '../io/nifti';
import { WidgetViewer } from './viewer';
import { WidgetBuffer, WidgetSpec, viewerWidgetSpec } from './widget-state';

/** An image on a voxel grid: what `readNifti` returns (affine: 4x4 row-major voxel -> world mm). */
export interface GridImage {
  dims: number[];
  data: Float32Array;
  affine: number[][];
  nvol?: number;
}

export interface VolumeControls {
  volume: number;
  threshold: number;
  /** Colour range ±vmax; null: max |x| of the shown volume. */
  vmax: number | null;
  /** Crosshair voxel [i, j, k]. */
  cursor: [number, number, number];
}

export interface VolumeViewerOptions extends Partial<VolumeControls> {
  stat: GridImage;
  /** Anatomical image; resampled (nearest neighbour) onto the stat map's grid when its grid differs. */
  background?: GridImage;
  /** Names of the stat map's volumes (e.g. contrast names). */
  names?: string[];
  /** What the values are (shown beside them), e.g. 't' or 'conT'. */
  statistic?: string;
  title?: string;
}

export interface VoxelClick {
  voxel: [number, number, number];
  world: [number, number, number];
  value: number | null;
  volume: number;
}

function gridSize(image: GridImage, what: string): { dims: [number, number, number]; nvox: number; nvol: number } {
  const [nx, ny, nz] = [0, 1, 2].map((a) => image.dims[a] ?? 1);
  const nvox = nx * ny * nz;
  if (![nx, ny, nz].every((n) => Number.isInteger(n) && n >= 1)) throw new DataError(`${what}: dims must be positive integers, got [${image.dims.join(', ')}]`);
  const nvol = image.nvol ?? Math.max(1, image.data.length / nvox);
  if (!Number.isInteger(nvol) || image.data.length !== nvox * nvol) {
    throw new DataError(`${what} has ${image.data.length} values but its dims [${nx}, ${ny}, ${nz}] make ${nvox} voxels per volume`);
  }
  if (image.affine.length !== 4 || image.affine.some((row) => row.length !== 4)) throw new DataError(`${what}: affine must be 4x4`);
  return { dims: [nx, ny, nz], nvox, nvol };
}

function invert4(m: number[][]): number[][] {
  const a = m.map((row, r) => [...row, ...[0, 1, 2, 3].map((c) => (r === c ? 1 : 0))]);
  for (let c = 0; c < 4; c++) {
    const pivot = a.slice(c).reduce((best, row, i) => (Math.abs(row[c]) > Math.abs(a[best][c]) ? i + c : best), c);
    if (Math.abs(a[pivot][c]) < 1e-12) throw new DataError('background affine is singular');
    [a[c], a[pivot]] = [a[pivot], a[c]];
    const p = a[c][c];
    a[c] = a[c].map((v) => v / p);
    for (let r = 0; r < 4; r++) if (r !== c) a[r] = a[r].map((v, k) => v - a[r][c] * a[c][k]);
  }
  return a.map((row) => row.slice(4));
}

/** The background's values at the stat grid's voxel centres (nearest neighbour; 0 outside it). */
export function resampleToGrid(background: GridImage, dims: [number, number, number], affine: number[][]): Float32Array {
  const {
    dims: [bx, by, bz],
  } = gridSize(background, 'background');
  const same = dims.every((n, a) => n === [bx, by, bz][a]) && affine.every((row, r) => row.every((v, c) => Math.abs(v - background.affine[r][c]) < 1e-6));
  if (same) return background.data.subarray(0, bx * by * bz);
  // stat voxel -> background voxel in one matrix: inv(A_bg) * A_stat.
  const inv = invert4(background.affine);
  const m = inv.map((row) => [0, 1, 2, 3].map((c) => row.reduce((s, v, k) => s + v * affine[k][c], 0)));
  const [nx, ny, nz] = dims;
  const out = new Float32Array(nx * ny * nz);
  for (let k = 0; k < nz; k++) {
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const bi = Math.round(m[0][0] * i + m[0][1] * j + m[0][2] * k + m[0][3]);
        const bj = Math.round(m[1][0] * i + m[1][1] * j + m[1][2] * k + m[1][3]);
        const bk = Math.round(m[2][0] * i + m[2][1] * j + m[2][2] * k + m[2][3]);
        if (bi >= 0 && bi < bx && bj >= 0 && bj < by && bk >= 0 && bk < bz) out[i + nx * (j + ny * k)] = background.data[bi + bx * (bj + by * bk)];
      }
    }
  }
  return out;
}

export class VolumeViewer extends WidgetViewer<VolumeControls, VoxelClick> {
  private readonly stat: GridImage;
  private readonly grid: { dims: [number, number, number]; nvox: number; nvol: number };
  private readonly background: Float32Array | null;
  private readonly names: string[];
  private readonly statistic: string;
  private readonly title: string;

  constructor(options: VolumeViewerOptions) {
    const grid = gridSize(options.stat, 'stat map');
    super({
      volume: options.volume ?? 0,
      threshold: options.threshold ?? 0,
      vmax: options.vmax ?? null,
      cursor: options.cursor ?? (grid.dims.map((n) => Math.floor(n / 2)) as [number, number, number]),
    });
    this.stat = options.stat;
    this.grid = grid;
    this.background = options.background ? resampleToGrid(options.background, grid.dims, options.stat.affine) : null;
    this.names = options.names ?? [];
    if (this.names.length && this.names.length !== grid.nvol) throw new DataError(`stat map has ${grid.nvol} volumes but ${this.names.length} names`);
    this.statistic = options.statistic ?? '';
    this.title = options.title ?? '';
  }

  /** A viewer of a NIfTI stat map (3D or 4D), over a NIfTI anatomical image when given. */
  static fromNifti(statPath: string, options: Omit<VolumeViewerOptions, 'stat' | 'background'> & { background?: string } = {}): VolumeViewer {
    const stat = readNifti(statPath);
    const background = options.background ? readNifti(options.background) : undefined;
    return new VolumeViewer({ ...options, stat, background, title: options.title ?? statPath });
  }

  override spec(): WidgetSpec {
    const buffers: WidgetBuffer[] = [{ path: ['stat'], data: this.stat.data }];
    if (this.background) buffers.push({ path: ['background'], data: this.background });
    const state = {
      ...this.state,
      title: this.title,
      statistic: this.statistic,
      dims: this.grid.dims,
      affine: this.stat.affine.flat(),
      nvol: this.grid.nvol,
      volume_names: this.names,
      stat: null,
      background: null,
    };
    return viewerWidgetSpec('VolumeModel', 'VolumeView', state, buffers);
  }

  override describe(): string {
    return `VolumeViewer(${this.grid.dims.join('x')} voxels, ${this.grid.nvol} volume${this.grid.nvol > 1 ? 's' : ''}${this.background ? ', with background' : ''})`;
  }

  protected override parseClick(content: Record<string, unknown>): VoxelClick | null {
    const voxel = content.voxel as number[];
    if (!Array.isArray(voxel) || voxel.length !== 3 || !voxel.every((v, a) => Number.isInteger(v) && v >= 0 && v < this.grid.dims[a])) return null;
    const cursor = voxel as [number, number, number];
    this.state = { ...this.state, cursor };
    const world = this.stat.affine.slice(0, 3).map((row) => row[0] * cursor[0] + row[1] * cursor[1] + row[2] * cursor[2] + row[3]) as [number, number, number];
    return { voxel: cursor, world, value: typeof content.value === 'number' ? content.value : null, volume: Number(content.volume ?? 0) };
  }
}
