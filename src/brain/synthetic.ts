/**
 * Seeded synthetic datasets shaped like ABCD's longitudinal design, for tests and benchmarks:
 * subjects with 1, 2 or 3 visits at discrete times (0, 2, 4 years), sex, baseline age, a
 * per-visit cognition score and a 19-level site factor (p = 23 fixed effects with an intercept),
 * and images on a surface (fsaverage5: 20,484 vertices for both hemispheres) or a volume with an
 * ellipsoidal "brain". Voxel values follow a random intercept + slope model whose fixed effects
 * and variances vary smoothly over space. Any chunk of voxels can be generated on its own (the
 * random numbers are seeded per block of voxels), so image files of any size are written with
 * bounded memory.
 */
import * as fs from 'fs';
import * as nodePath from 'path';
import { writeNifti, readNiftiLayout } from '../io/nifti';
import { DataError } from '../errors';
import type { ImageGeometry } from '../io/images';

export interface SyntheticOptions {
  seed?: number;
  /** subjects with 1, 2 and 3 visits (ABCD: 1389, 2924, 866 = 5,179 subjects, 9,835 images) */
  visits?: [number, number, number];
  /** a surface of this many vertices ... */
  vertices?: number;
  /** ... or a volume of these dimensions (voxels outside an inscribed ellipsoid are 0 in every image) */
  volume?: [number, number, number];
  /** fraction of the in-brain (image, voxel) values replaced by NaN, for missing-data tests */
  missing?: number;
  /** true: the data have a random slope on time as well as a random intercept (default true) */
  slope?: boolean;
}

export const ABCD_VISITS: [number, number, number] = [1389, 2924, 866];
export const FSAVERAGE5_BOTH_HEMISPHERES = 20484;
const SITES = 19;
const VISIT_TIMES = [0, 2, 4];
/** voxels per independently seeded block */
const BLOCK = 64;

/** mulberry32: a small, fast, seedable 32-bit generator */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normals(uniform: () => number): () => number {
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = NaN;
      return s;
    }
    const u = 1 - uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const phi = 2 * Math.PI * uniform();
    spare = r * Math.sin(phi);
    return r * Math.cos(phi);
  };
}

export class SyntheticDataset {
  readonly nimages: number;
  readonly nsubjects: number;
  readonly nvox: number;
  readonly geometry: ImageGeometry;
  /** one row per image: subject, sex, age, time, nih, site (a table for lmer / lmerBrain) */
  readonly table: { subject: string[]; sex: string[]; age: Float64Array; time: Float64Array; nih: Float64Array; site: string[] };
  /** the formula matching the generating model's fixed effects */
  static readonly FIXED = 'sex + age + time + nih + site';
  private readonly seed: number;
  private readonly subjectOf: Int32Array;
  /** K mean patterns over the images, mixed per voxel with spatially smooth weights */
  private readonly patterns: Float64Array[];
  /** 0..1 coordinates of each voxel (3 per voxel) and whether it is in the brain */
  private readonly coords: Float32Array;
  private readonly inBrain: Uint8Array;
  private readonly missing: number;
  private readonly slope: boolean;

  constructor(options: SyntheticOptions = {}) {
    this.seed = options.seed ?? 1;
    this.missing = options.missing ?? 0;
    this.slope = options.slope ?? true;
    const visits = options.visits ?? ABCD_VISITS;
    const random = normals(rng(this.seed));
    const uniform = rng(this.seed ^ 0x9e3779b9);
    const subject: string[] = [];
    const sex: string[] = [];
    const site: string[] = [];
    const age: number[] = [];
    const time: number[] = [];
    const nih: number[] = [];
    const subjectOf: number[] = [];
    let s = 0;
    visits.forEach((count, v) => {
      for (let i = 0; i < count; i++, s++) {
        const id = `sub-${String(s + 1).padStart(5, '0')}`;
        const subjectSex = uniform() < 0.5 ? 'F' : 'M';
        const subjectSite = `site${String(1 + Math.floor(uniform() * SITES)).padStart(2, '0')}`;
        const baseline = 9 + 2 * uniform();
        for (let t = 0; t <= v; t++) {
          subject.push(id);
          sex.push(subjectSex);
          site.push(subjectSite);
          age.push(baseline);
          time.push(VISIT_TIMES[t]);
          nih.push(100 + 15 * random());
          subjectOf.push(s);
        }
      }
    });
    this.nsubjects = s;
    this.nimages = subject.length;
    this.subjectOf = Int32Array.from(subjectOf);
    this.table = { subject, sex, age: Float64Array.from(age), time: Float64Array.from(time), nih: Float64Array.from(nih), site };

    // mean patterns: a baseline, an age/time pattern and a sex/cognition/site pattern
    const siteEffect = Array.from({ length: SITES }, () => 0.05 * random());
    const n = this.nimages;
    this.patterns = [0, 1, 2].map(() => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const siteIndex = Number(site[i].slice(4)) - 1;
      this.patterns[0][i] = 2.5 + siteEffect[siteIndex];
      this.patterns[1][i] = -0.01 * (age[i] - 10) - 0.03 * time[i];
      this.patterns[2][i] = (sex[i] === 'M' ? 0.05 : 0) + 0.004 * (nih[i] - 100);
    }

    if (options.volume) {
      const [nx, ny, nz] = options.volume;
      this.nvox = nx * ny * nz;
      this.geometry = { kind: 'volume', format: 'nifti', dims: [nx, ny, nz], nvox: this.nvox, nvol: 1, affine: [[2, 0, 0, -nx], [0, 2, 0, -ny], [0, 0, 2, -nz], [0, 0, 0, 1]] };
      this.coords = new Float32Array(3 * this.nvox);
      this.inBrain = new Uint8Array(this.nvox);
      for (let z = 0, i = 0; z < nz; z++)
        for (let y = 0; y < ny; y++)
          for (let x = 0; x < nx; x++, i++) {
            const c = [(x + 0.5) / nx, (y + 0.5) / ny, (z + 0.5) / nz];
            this.coords.set(c, 3 * i);
            const r2 = c.reduce((sum, u) => sum + ((u - 0.5) / 0.5) ** 2, 0);
            this.inBrain[i] = r2 <= 1 ? 1 : 0;
          }
    } else {
      this.nvox = options.vertices ?? FSAVERAGE5_BOTH_HEMISPHERES;
      this.geometry = { kind: 'surface', format: 'dat', dims: [this.nvox], nvox: this.nvox, nvol: 1 };
      // vertices on a spiral over a sphere, so neighbouring indices are neighbours in space
      this.coords = new Float32Array(3 * this.nvox);
      for (let i = 0; i < this.nvox; i++) {
        const h = -1 + (2 * (i + 0.5)) / this.nvox;
        const theta = Math.acos(h);
        const phi = Math.sqrt(this.nvox * Math.PI) * theta;
        this.coords.set([0.5 + 0.5 * Math.sin(theta) * Math.cos(phi), 0.5 + 0.5 * Math.sin(theta) * Math.sin(phi), 0.5 + 0.5 * h], 3 * i);
      }
      this.inBrain = new Uint8Array(this.nvox).fill(1);
    }
  }

  /** Voxels [start, end) of every image, image-major (image i at i * (end - start)). */
  chunk(start: number, end: number): Float32Array {
    if (!(start >= 0 && start <= end && end <= this.nvox)) throw new DataError(`voxel range [${start}, ${end}) is outside 0..${this.nvox}`);
    const width = end - start;
    const out = new Float32Array(this.nimages * width);
    for (let b = Math.floor(start / BLOCK) * BLOCK; b < end; b += BLOCK) {
      const block = this.block(b, Math.min(b + BLOCK, this.nvox));
      const bw = Math.min(b + BLOCK, this.nvox) - b;
      const from = Math.max(b, start);
      const to = Math.min(b + bw, end);
      for (let i = 0; i < this.nimages; i++)
        for (let v = from; v < to; v++) out[i * width + v - start] = block[i * bw + v - b];
    }
    return out;
  }

  /** All images as one image-major matrix (nimages x nvox): for small datasets. */
  matrix(): Float32Array {
    return this.chunk(0, this.nvox);
  }

  /** One block of voxels, generated from its own seed. */
  private block(start: number, end: number): Float32Array {
    const width = end - start;
    const n = this.nimages;
    const out = new Float32Array(n * width);
    const random = normals(rng((this.seed * 1000003 + start / BLOCK + 1) >>> 0));
    const uniform = rng((this.seed * 7919 + start / BLOCK + 17) >>> 0);
    const time = this.table.time;
    const b0 = new Float64Array(this.nsubjects);
    const b1 = new Float64Array(this.nsubjects);
    for (let v = 0; v < width; v++) {
      const i = start + v;
      if (!this.inBrain[i]) continue;
      const [x, y, z] = this.coords.subarray(3 * i, 3 * i + 3);
      const w1 = 1 + 0.8 * Math.sin(2 * Math.PI * x) * Math.cos(Math.PI * y);
      const w2 = Math.cos(2 * Math.PI * z) + 0.5 * Math.sin(3 * Math.PI * x);
      const sdIntercept = 0.3 + 0.4 * y;
      const sdSlope = this.slope ? 0.05 + 0.1 * z : 0;
      const sdResidual = 0.3 + 0.3 * x;
      for (let s = 0; s < this.nsubjects; s++) {
        const u0 = random();
        const u1 = random();
        b0[s] = sdIntercept * u0;
        b1[s] = sdSlope * (0.3 * u0 + 0.95 * u1);
      }
      for (let r = 0; r < n; r++) {
        const s = this.subjectOf[r];
        const value = this.patterns[0][r] + w1 * this.patterns[1][r] + w2 * this.patterns[2][r] + b0[s] + b1[s] * time[r] + sdResidual * random();
        out[r * width + v] = this.missing > 0 && uniform() < this.missing ? NaN : value;
      }
    }
    return out;
  }

  /** A column of the table as CSV text cells */
  private csvCell(name: keyof SyntheticDataset['table'], r: number): string {
    const v = this.table[name][r];
    return typeof v === 'number' ? String(v) : v;
  }

  /**
   * Writes one image per row into `dir` (BLMM-style raw float32 .dat for surfaces, NIfTI-1 .nii
   * for volumes), voxel chunk by voxel chunk, and a CSV table with their names in column
   * `InputFile`. Returns the table's path and the image paths.
   */
  writeFiles(dir: string, options: { chunk?: number; onProgress?: (done: number, total: number) => void } = {}): { table: string; images: string[] } {
    fs.mkdirSync(dir, { recursive: true });
    const ext = this.geometry.kind === 'volume' ? 'nii' : 'dat';
    const images = Array.from({ length: this.nimages }, (_, i) => nodePath.join(dir, `img${String(i + 1).padStart(5, '0')}.${ext}`));
    const offsets = images.map((path) => {
      if (ext === 'dat') {
        fs.writeFileSync(path, Buffer.alloc(0));
        fs.truncateSync(path, 4 * this.nvox);
        return 0;
      }
      writeNifti(path, { dims: this.geometry.dims, data: new Float32Array(this.nvox), affine: this.geometry.affine });
      return readNiftiLayout(path).dataOffset;
    });
    const fds = images.map((path) => fs.openSync(path, 'r+'));
    try {
      const chunk = options.chunk ?? Math.max(BLOCK, Math.floor(16e6 / this.nimages / BLOCK) * BLOCK);
      for (let start = 0; start < this.nvox; start += chunk) {
        const end = Math.min(this.nvox, start + chunk);
        const data = this.chunk(start, end);
        const width = end - start;
        const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        for (let i = 0; i < this.nimages; i++) fs.writeSync(fds[i], bytes, 4 * i * width, 4 * width, offsets[i] + 4 * start);
        options.onProgress?.(end, this.nvox);
      }
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
    const columns = Object.keys(this.table) as (keyof SyntheticDataset['table'])[];
    const lines = [['InputFile', ...columns].join(',')];
    for (let r = 0; r < this.nimages; r++) lines.push([nodePath.basename(images[r]), ...columns.map((c) => this.csvCell(c, r))].join(','));
    const table = nodePath.join(dir, 'table.csv');
    fs.writeFileSync(table, lines.join('\n') + '\n');
    return { table, images };
  }
}
