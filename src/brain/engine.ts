/**
 * The fitting loop over one chunk of voxels (run in a worker thread or in the caller's thread):
 * per voxel missingness, the batched cross-products of the fully observed voxels against the
 * shared design, designs for the other missingness patterns (cached), one fit per voxel, and its
 * record of estimates.
 */
import { ModelError } from '../errors';
import type { BlockedSystem } from '../lmm/blocked';
import type { Contrast } from './contrasts';
import { contrastStatistics } from './statistics';
import { BrainDesign, type DesignSpec, type NobsCheck } from './design';
import { RecordLayout, VoxelStatus } from './layout';
import { fitSystem, thetaInverseHessian, type VoxelEstimate } from './voxelfit';

export interface EngineSettings {
  REML: boolean;
  /** zero means "not observed" (BLMM's convention for images masked per subject) */
  zeroIsMissing: boolean;
  /** fewest observed images a voxel needs (MinN and MinPercent combined) */
  minN: number;
  contrasts: Contrast[];
  dNames: string[];
  /** lme4's check.nobs.vs.nRE for each voxel's observed images: "ignore" (default) fits them, "stop" leaves them unfitted */
  nobsVsRE: NobsCheck;
}

/**
 * Voxels [start, start + width) of every image: columns [offset, offset + width) of `Y`, a block
 * of the images read at once and shared by its tasks (image i's values at i*stride).
 */
export interface ChunkTask {
  start: number;
  width: number;
  Y: Float32Array;
  stride: number;
  offset: number;
  /** analysis mask over the chunk (nonzero = analyse); absent = every voxel */
  analysis?: Uint8Array;
}

export interface ChunkResult {
  start: number;
  width: number;
  /** RecordLayout.size values per voxel, voxel-major; NaN where not fitted */
  records: Float64Array;
  /** VoxelStatus per voxel */
  status: Uint8Array;
  /** deviance evaluations spent */
  evaluations: number;
  /** voxels fitted with no more observations than random effects */
  crowded: number;
}

/** Voxels fitted together against one design: the batched products work on blocks of this many. */
const BLOCK = 256;
/** designs kept for missingness patterns: at most 32, and at most about 256 MB of them */
const PATTERN_CACHE = 32;
const PATTERN_CACHE_BYTES = 256 * 1024 * 1024;

export class ChunkFitter {
  readonly layout: RecordLayout;
  private readonly full: BrainDesign;
  private readonly patterns = new Map<string, BrainDesign>();
  /** per design, the last voxel's theta and inverse Hessian: the next voxel's search starts from them */
  private readonly lastFit = new Map<BrainDesign, { theta: number[]; inverseHessian?: Float64Array }>();
  private readonly dOffsets: number[];
  private evaluations = 0;
  private crowded = 0;
  private readonly patternCacheSize: number;

  constructor(
    private readonly spec: DesignSpec,
    /** image index of each design row */
    private readonly rowImage: Int32Array,
    private readonly settings: EngineSettings,
  ) {
    this.full = new BrainDesign(spec, undefined, settings.nobsVsRE);
    if (this.full.problem) throw new ModelError(`the model cannot be fitted: ${this.full.problem.message}`);
    this.layout = new RecordLayout(spec.xNames, settings.dNames, settings.contrasts);
    // a pattern's design holds its terms over its rows and its level products (about a row of
    // p + 1 doubles per image), in doubles
    const designBytes = 8 * spec.n * (spec.p + 2 * spec.terms.reduce((s, t) => s + t.names.length, 1));
    this.patternCacheSize = Math.max(2, Math.min(PATTERN_CACHE, Math.floor(PATTERN_CACHE_BYTES / designBytes)));
    this.dOffsets = [];
    let off = this.layout.field('D').offset;
    for (const t of spec.terms) {
      this.dOffsets.push(off);
      off += (t.names.length * (t.names.length + 1)) / 2;
    }
  }

  process(task: ChunkTask): ChunkResult {
    const { start, width, analysis } = task;
    const records = new Float64Array(width * this.layout.size).fill(NaN);
    const status = new Uint8Array(width).fill(VoxelStatus.outsideMask);
    this.evaluations = 0;
    this.crowded = 0;
    // warm starts and the patterns' designs (each derived from a neighbour) stay within a task: a
    // voxel's estimates depend on its task's voxels only, not on which worker or machine fitted
    // the tasks before it
    this.lastFit.clear();
    this.patterns.clear();
    if (analysis && !analysis.some((x) => x)) return { start, width, records, status, evaluations: 0, crowded: 0 };

    const columns: number[] = [];
    for (let c = 0; c < width; c++) if (!analysis || analysis[c]) columns.push(c);
    this.fitColumns(task, columns, records, status);
    return { start, width, records, status, evaluations: this.evaluations, crowded: this.crowded };
  }

  /**
   * The design rows observed at each of the columns (with that many observed values each), in
   * one pass over the rows: a column's values are an image apart, the columns of a window close.
   */
  private observedRows({ Y, stride, offset }: ChunkTask, columns: number[], counts: number[]): Int32Array[] {
    const rows = counts.map((count) => new Int32Array(count));
    const filled = new Int32Array(columns.length);
    const zeroMissing = this.settings.zeroIsMissing;
    for (let r = 0; r < this.spec.n; r++) {
      const base = this.rowImage[r] * stride + offset;
      for (let i = 0; i < columns.length; i++) {
        const y = Y[base + columns[i]];
        if (y === y && !(zeroMissing && y === 0)) rows[i][filled[i]++] = r;
      }
    }
    return rows;
  }

  /**
   * The design of a missingness pattern: cached, or derived from the nearest cached one (fewest
   * rows in one and not the other; the full design's distance is its missing rows), whose last
   * fit also starts the new design's first voxel.
   */
  private patternDesign(key: string, rows: Int32Array): BrainDesign {
    let design = this.patterns.get(key);
    if (design) {
      // most recently used last
      this.patterns.delete(key);
    } else {
      const neighbour = this.nearestDesign(key, rows.length);
      design = new BrainDesign(this.spec, rows, this.settings.nobsVsRE, neighbour);
      const last = this.lastFit.get(neighbour);
      if (last) this.lastFit.set(design, last);
      if (this.patterns.size >= this.patternCacheSize) {
        const oldest = this.patterns.keys().next().value as string;
        this.lastFit.delete(this.patterns.get(oldest)!);
        this.patterns.delete(oldest);
      }
    }
    this.patterns.set(key, design);
    return design;
  }

  private nearestDesign(key: string, observed: number): BrainDesign {
    let nearest = this.full;
    let distance = this.spec.n - observed;
    for (const [other, design] of this.patterns) {
      if (!design.system) continue;
      let d = 0;
      for (let i = 0; i < key.length && d < distance; i++) d += BITS_SET[key.charCodeAt(i) ^ other.charCodeAt(i)];
      if (d < distance) {
        distance = d;
        nearest = design;
      }
    }
    return nearest;
  }

  /**
   * Fits the given columns of the chunk that can be fitted, each on its design: the full one, or
   * its missingness pattern's. Their products are computed against the full design for windows of
   * consecutive columns, read in place, a missing value counting as 0: for a pattern's design,
   * which has the full design's levels, they are the products over its observed rows. The same
   * pass counts each voxel's observed values and their range, which say whether it is fitted.
   */
  private fitColumns(task: ChunkTask, columns: number[], records: Float64Array, status: Uint8Array): void {
    const { Y, stride, offset } = task;
    const full = this.full;
    const n = full.n;
    const imageOf = this.rowImage;
    const products = full.newProducts();
    const rowStart = new Int32Array(n);
    const { minN, zeroIsMissing } = this.settings;
    for (let next = 0; next < columns.length;) {
      const first = columns[next];
      let end = next;
      while (end < columns.length && columns[end] - first < BLOCK) end++;
      for (let r = 0; r < n; r++) rowStart[r] = imageOf[r] * stride + offset + first;
      full.products(Y, rowStart, columns[end - 1] - first + 1, products, zeroIsMissing);
      // the window's voxels to fit, and the observed rows of those with missing images
      const fitted: number[] = [];
      const partial: number[] = [];
      const partialCounts: number[] = [];
      for (; next < end; next++) {
        const c = columns[next];
        const { count, lowest, highest } = products.voxelStats(c - first);
        if (count === 0) status[c] = VoxelStatus.noData;
        else if (count < minN) status[c] = VoxelStatus.tooFewObservations;
        else if (lowest === -Infinity || highest === Infinity) status[c] = VoxelStatus.nonFinite;
        else if (lowest === highest) status[c] = VoxelStatus.constant;
        else {
          fitted.push(c);
          if (count < n) {
            partial.push(c);
            partialCounts.push(count);
          }
        }
      }
      const observed = this.observedRows(task, partial, partialCounts);
      for (let i = 0, j = 0; i < fitted.length; i++) {
        const c = fitted[i];
        let design = full;
        if (partial[j] === c) {
          const rows = observed[j++];
          design = this.patternDesign(patternKey(rows, n), rows);
          if (design.problem) {
            status[c] = design.problem.kind === 'rank' ? VoxelStatus.rankDeficient : VoxelStatus.unidentifiable;
            continue;
          }
        }
        design.setResponse(products, c - first);
        const system = design.system!;
        const before = system.evaluations;
        // a missingness pattern's first voxel starts from its neighbour's last fit (see patternDesign)
        const last = this.lastFit.get(design) ?? this.lastFit.get(full);
        const estimate = fitVoxel(system, this.settings.REML, last?.theta ?? design.initialTheta, last?.inverseHessian);
        if (!estimate) {
          status[c] = VoxelStatus.fitFailed;
          continue;
        }
        if (design.fewerObservationsThanEffects) this.crowded++;
        this.writeRecord(design, estimate, records, c * this.layout.size);
        this.lastFit.set(design, { theta: warmStart(estimate.theta, design.lower), inverseHessian: thetaInverseHessian(estimate) });
        // the fit's and the contrasts' (Satterthwaite's derivatives) factorizations
        this.evaluations += system.evaluations - before;
        status[c] = VoxelStatus.fitted;
      }
    }
  }

  private writeRecord(design: BrainDesign, e: VoxelEstimate, records: Float64Array, at: number): void {
    const L = this.layout;
    records.set(e.beta, at + L.field('beta').offset);
    records[at + L.field('sigma2').offset] = e.sigma * e.sigma;
    records[at + L.field('llh').offset] = -e.objective / 2;
    records[at + L.field('n').offset] = e.n;
    // D = lambda lambda' (lme4's VarCorr / sigma^2), vech per term in formula order; lambda is at the optimum
    e.system.setTheta(e.theta);
    design.terms.forEach((term, i) => {
      const cov = term.covariance(1);
      const k = term.k;
      let off = at + this.dOffsets[design.formulaIndex[i]];
      for (let j = 0; j < k; j++) for (let r = j; r < k; r++) records[off++] = cov[r + j * k];
    });
    contrastStatistics(e, L, records, at);
  }
}

/** The previous voxel's theta as the next start, diagonal entries kept off the bound. */
function warmStart(theta: number[], lower: number[]): number[] {
  return theta.map((v, i) => (lower[i] === 0 ? Math.max(v, 0.01) : v));
}

/** the number of bits set in each byte */
const BITS_SET = Uint8Array.from({ length: 256 }, (_, b) => {
  let c = 0;
  for (let v = b; v; v >>= 1) c += v & 1;
  return c;
});

/** The observed rows as a bitset string: voxels with the same missing images share a design. */
function patternKey(rows: Int32Array, n: number): string {
  const bits = new Uint8Array((n + 7) >> 3);
  for (const r of rows) bits[r >> 3] |= 1 << (r & 7);
  return Buffer.from(bits).toString('latin1');
}

/** A voxel's fit, or null where it fails (the voxel is then reported as not fitted, the run goes on). */
function fitVoxel(system: BlockedSystem, REML: boolean, start: number[], inverseHessian?: Float64Array): VoxelEstimate | null {
  try {
    return fitSystem(system, REML, start, inverseHessian);
  } catch {
    return null;
  }
}
