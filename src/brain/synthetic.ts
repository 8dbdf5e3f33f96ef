/**
 * Seeded synthetic datasets shaped like ABCD's longitudinal design, for tests and benchmarks:
 * subjects with 1, 2 or 3 visits, follow-up time in years since baseline (continuous: visit gaps
 * of 1.5-2.5 years that differ per subject, as in ABCD; or the discrete 0, 2, 4 on request),
 * sex, baseline age, a per-visit cognition score and a 19-level site factor (p = 23 fixed effects
 * with an intercept), and images on a surface (fsaverage5: 20,484 vertices for both hemispheres)
 * or a volume with an ellipsoidal "brain". Voxel values follow a random intercept + slope model
 * per subject plus a random intercept per site, whose fixed effects and variances vary smoothly
 * over space. Surfaces have missing data as real ones do: a medial wall with no data (zeros in
 * every image) and patches where 10-30% of the images lost coverage, each image over its own
 * radius, so that the vertices there have many distinct missingness patterns. Any chunk of
 * voxels can be generated on its own (the random numbers are seeded per block of voxels), so
 * image files of any size are written with bounded memory.
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
  /** visit times: 'continuous' years since baseline (default) or the discrete 0, 2, 4 */
  times?: 'continuous' | 'discrete';
  /** surfaces: the fraction of vertices in the medial wall, zero in every image (default 0.08) */
  medialWall?: number;
  /** surfaces: the fraction of vertices in patches where 10-30% of the images are missing (default 0.05) */
  patchy?: number;
}

export const ABCD_VISITS: [number, number, number] = [1389, 2924, 866];
export const FSAVERAGE5_BOTH_HEMISPHERES = 20484;
const SITES = 19;
const VISIT_TIMES = [0, 2, 4];
/** patches of coverage loss on a surface */
const PATCHES = 12;
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
  /** site index of each image */
  private readonly siteOf: Int32Array;
  /**
   * Coverage loss: per patch its centre (3 coordinates) and radius, and per image the fraction
   * of the radius it lost (0 for the images that kept coverage): vertex v of a patch is missing
   * in image i where |v - centre| < lost[i] * radius.
   */
  private readonly patches: { centre: Float32Array; radius: number; lost: Float32Array }[] = [];

  constructor(options: SyntheticOptions = {}) {
    this.seed = options.seed ?? 1;
    this.missing = options.missing ?? 0;
    this.slope = options.slope ?? true;
    const continuous = (options.times ?? 'continuous') === 'continuous';
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
        let followUp = 0;
        for (let t = 0; t <= v; t++) {
          if (t > 0) followUp += continuous ? 1.5 + uniform() : VISIT_TIMES[t] - VISIT_TIMES[t - 1];
          subject.push(id);
          sex.push(subjectSex);
          site.push(subjectSite);
          age.push(baseline);
          // visit dates are days apart
          time.push(continuous ? Math.round(followUp * 365.25) / 365.25 : followUp);
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
    this.siteOf = Int32Array.from(site, (name) => Number(name.slice(4)) - 1);
    this.patterns = [0, 1, 2].map(() => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const siteIndex = this.siteOf[i];
      this.patterns[0][i] = 2.5 + siteEffect[siteIndex];
      this.patterns[1][i] = -0.01 * (age[i] - 10) - 0.03 * time[i];
      this.patterns[2][i] = (sex[i] === 'M' ? 0.05 : 0) + 0.004 * (nih[i] - 100);
    }

    if (options.volume) {
      const [nx, ny, nz] = options.volume;
      this.nvox = nx * ny * nz;
      this.geometry = {
        kind: 'volume',
        format: 'nifti',
        dims: [nx, ny, nz],
        nvox: this.nvox,
        nvol: 1,
        affine: [
          [2, 0, 0, -nx],
          [0, 2, 0, -ny],
          [0, 0, 2, -nz],
          [0, 0, 0, 1],
        ],
      };
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
      // the medial wall: a band around the sphere's x = 0.5 plane, as wide as makes its fraction
      // (on a sphere, the area within |x - 0.5| < w/2 is the fraction w)
      const wall = options.medialWall ?? 0.08;
      this.inBrain = Uint8Array.from({ length: this.nvox }, (_, i) => (Math.abs(this.coords[3 * i] - 0.5) < wall / 2 ? 0 : 1));
      // patches (spherical caps, each holding patchy/PATCHES of the vertices) where a random
      // 10-30% of the images lost coverage out to a radius of their own
      const patchy = options.patchy ?? 0.05;
      for (let c = 0; patchy > 0 && c < PATCHES; c++) {
        const h = -1 + 2 * uniform();
        const phi = 2 * Math.PI * uniform();
        const r = Math.sqrt(1 - h * h);
        const centre = Float32Array.of(0.5 + 0.5 * r * Math.cos(phi), 0.5 + 0.5 * r * Math.sin(phi), 0.5 + 0.5 * h);
        // a cap of area fraction a on the unit sphere has chord radius 2 sqrt(a), here halved
        const radius = Math.sqrt(patchy / PATCHES);
        const share = 0.1 + 0.2 * uniform();
        const lost = Float32Array.from({ length: n }, () => (uniform() < share ? 0.2 + 0.8 * uniform() : 0));
        this.patches.push({ centre, radius, lost });
      }
    }
  }

  /** Whether image i lost coverage at the vertex with coordinates xyz. */
  private lostCoverage(xyz: Float32Array, i: number): boolean {
    for (const { centre, radius, lost } of this.patches) {
      const d = Math.hypot(xyz[0] - centre[0], xyz[1] - centre[1], xyz[2] - centre[2]);
      if (d < lost[i] * radius) return true;
    }
    return false;
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
      for (let i = 0; i < this.nimages; i++) for (let v = from; v < to; v++) out[i * width + v - start] = block[i * bw + v - b];
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
    const bSite = new Float64Array(SITES);
    for (let v = 0; v < width; v++) {
      const i = start + v;
      if (!this.inBrain[i]) continue;
      const xyz = this.coords.subarray(3 * i, 3 * i + 3);
      const [x, y, z] = xyz;
      const patched = this.patches.some((p) => Math.hypot(x - p.centre[0], y - p.centre[1], z - p.centre[2]) < p.radius);
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
      const sdSite = 0.1 + 0.1 * x;
      for (let c = 0; c < SITES; c++) bSite[c] = sdSite * random();
      for (let r = 0; r < n; r++) {
        const s = this.subjectOf[r];
        const value =
          this.patterns[0][r] + w1 * this.patterns[1][r] + w2 * this.patterns[2][r] + bSite[this.siteOf[r]] + b0[s] + b1[s] * time[r] + sdResidual * random();
        const lost = (this.missing > 0 && uniform() < this.missing) || (patched && this.lostCoverage(xyz, r));
        out[r * width + v] = lost ? NaN : value;
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
