/**
 * The design side of the whole-brain engine: the model frame's X and random-effects terms over a
 * set of rows (all rows, or the rows a voxel with missing images has), the blocked system built
 * once for them, and the batched cross-products [X Z]'Y that swap each voxel's response in.
 */
import type { RandomTerm } from '../frame/types';
import { gramRank } from '../linalg/qr';
import { groupingProblem, termLevels, type DesignProblem, type TermLevels } from '../frame/checks';
import { BlockedSystem } from '../lmm/blocked';
import type { RowBlock } from '../lmm/first-block';
import type { GroupedFirstBlock } from '../lmm/grouped-block';
import { orderByLevels, ReTerm } from '../lmm/reterm';
import { growableMemory, type KernelMemory } from '../linalg/kernels';
import { RowFactor } from '../linalg/row-factor';

/** What a worker needs to rebuild the design: plain data, structured-clone friendly. */
export interface DesignSpec {
  n: number;
  p: number;
  /** n x p fixed-effects model matrix, column-major */
  X: Float64Array;
  xNames: string[];
  /** random-effects terms in formula order */
  terms: RandomTerm[];
}

/** lme4's rank tolerance for X (modelFrame's) */
const RANK_TOLERANCE = 1e-7;

/** A random-effects term over `rows`, its levels numbered as the spec's (some may have no rows). */
function restrictTerm(term: RandomTerm, rows: Int32Array): RandomTerm {
  const n = term.factor.codes.length;
  const k = term.names.length;
  const m = rows.length;
  const codes = new Int32Array(m);
  const z = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    codes[i] = term.factor.codes[rows[i]];
    for (let a = 0; a < k; a++) z[i + a * m] = term.z[rows[i] + a * n];
  }
  return { group: term.group, names: term.names, factor: { codes, levels: term.factor.levels }, z };
}

/** The term over `rows` as lme4's model frame would see it, for the checks: only levels with rows count. */
function observedLevels(term: RandomTerm, rows: Int32Array): TermLevels {
  const seen = new Uint8Array(term.factor.levels.length);
  let nlevels = 0;
  for (const r of rows) {
    const l = term.factor.codes[r];
    if (!seen[l]) {
      seen[l] = 1;
      nlevels++;
    }
  }
  return { group: term.group, names: term.names, nlevels };
}

/** X'X (p x p, column-major) of an n x p X. */
function gramOf(X: Float64Array, n: number, p: number): Float64Array {
  const G = new Float64Array(p * p);
  for (let j = 0; j < p; j++)
    for (let i = j; i < p; i++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += X[r + i * n] * X[r + j * n];
      G[i + j * p] = s;
      G[j + i * p] = s;
    }
  return G;
}

/** The rows of the spec's that one row set has and another lacks (both ascending; undefined = all rows). */
interface RowChanges {
  removed: Int32Array;
  added: Int32Array;
}

function rowChanges(from: Int32Array | undefined, to: Int32Array | undefined, n: number): RowChanges {
  const removed: number[] = [];
  const added: number[] = [];
  // a merge of the two ascending lists (undefined: 0, 1, ..., n - 1)
  const a = (i: number) => (from ? from[i] : i);
  const b = (j: number) => (to ? to[j] : j);
  const [na, nb] = [from?.length ?? n, to?.length ?? n];
  let i = 0;
  let j = 0;
  while (i < na || j < nb) {
    if (j === nb || (i < na && a(i) < b(j))) removed.push(a(i++));
    else if (i === na || b(j) < a(i)) added.push(b(j++));
    else {
      i++;
      j++;
    }
  }
  return { removed: Int32Array.from(removed), added: Int32Array.from(added) };
}

/** A neighbour's X'X less its removed rows' plus its added rows' (lower triangle, then mirrored). */
function changedGram(gram: Float64Array, spec: DesignSpec, changes: RowChanges): Float64Array {
  const { n, p, X } = spec;
  const G = gram.slice();
  const row = new Float64Array(p);
  for (const [rows, sign] of [
    [changes.removed, -1],
    [changes.added, 1],
  ] as const)
    for (const r of rows) {
      for (let j = 0; j < p; j++) row[j] = X[r + j * n];
      for (let j = 0; j < p; j++) {
        const xj = sign * row[j];
        if (xj === 0) continue;
        for (let i = j; i < p; i++) G[i + j * p] += row[i] * xj;
      }
    }
  for (let j = 0; j < p; j++) for (let i = j + 1; i < p; i++) G[j + i * p] = G[i + j * p];
  return G;
}

/** The rows of an n x p X (column-major), into `out` (its first rows.length x p values). */
function restrictColumns(X: Float64Array, n: number, p: number, rows: Int32Array, out = new Float64Array(rows.length * p)): Float64Array {
  const m = rows.length;
  for (let j = 0; j < p; j++) for (let i = 0; i < m; i++) out[i + j * m] = X[rows[i] + j * n];
  return out;
}

/** Rows of the spec as a row block of a design's system: its terms (system order) and [X 0]. */
function rowBlock(spec: DesignSpec, design: BrainDesign, rows: Int32Array): RowBlock {
  const m = rows.length;
  const xy = restrictColumns(spec.X, spec.n, spec.p, rows, new Float64Array(m * (spec.p + 1)));
  const terms = design.formulaIndex.map((f) => restrictTerm(spec.terms[f], rows));
  return { n: m, codes: terms.map((t) => t.factor.codes), z: terms.map((t) => t.z), xy };
}

/** Design rows converted to double and multiplied at a time: 128 rows of 256 voxels (256 KB) stay in the second-level cache. */
const ROW_CHUNK = 128;

function roundUp4(x: number): number {
  return (x + 3) & ~3;
}

let threadProducts: KernelMemory | undefined;

/**
 * Where the cross-products of the last block of V voxels are: computed by the WebAssembly
 * kernels in the thread's product memory (shared by the designs in turn), entry-major there
 * (entry e of voxel v at e*width + v, width = V rounded up to the kernels' 4), then Z'y
 * transposed to voxel-major (voxel v's q entries at v*q) for each voxel to read in place.
 */
export class ChunkProducts {
  readonly kernels = (threadProducts ??= growableMemory());
  width = 0;
  /** X'y (column j's in row xRow[j] of width values), y'y (one row) */
  xty = 0;
  xRow: Int32Array = new Int32Array(0);
  yty = 0;
  /** per term, its Z_l'y voxel-major */
  ztyByVoxel: number[] = [];
  /** per voxel, its observed values' count, lowest and highest (rows of width values) */
  stats = 0;
  /** the grouped first block that summed its y rows for the block (`GroupedFirstBlock.setResponses`), if one did */
  batched?: GroupedFirstBlock;
  /** one voxel's X'y, gathered for the system (which copies it) */
  readonly voxelXty: Float64Array;
  constructor(p: number) {
    this.voxelXty = new Float64Array(p);
  }

  /** Voxel v's count of observed values and their lowest and highest. */
  voxelStats(v: number): { count: number; lowest: number; highest: number } {
    const f64 = this.kernels.f64;
    return { count: f64[this.stats + v], lowest: f64[this.stats + this.width + v], highest: f64[this.stats + 2 * this.width + v] };
  }
}

/**
 * The responses of rows starting at rowStart (V values each) into `out` from `at`, rows of width
 * values. A copy of a typed array's slice costs about what a loop over 64 values does.
 */
function stageRows(Y: Float32Array, rowStart: Int32Array, V: number, out: Float32Array, at: number, width: number): void {
  if (V >= 64) for (let q = 0; q < rowStart.length; q++) out.set(Y.subarray(rowStart[q], rowStart[q] + V), at + q * width);
  else
    for (let q = 0; q < rowStart.length; q++) {
      const src = rowStart[q];
      const dst = at + q * width;
      for (let v = 0; v < V; v++) out[dst + v] = Y[src + v];
    }
}

/** How strictly a design's random effects are checked against its observations (lme4's check.nobs.vs.nRE). */
export type NobsCheck = 'stop' | 'ignore';

/**
 * A whole-brain design over a set of rows: its blocked system is built once (ordering, symbolic
 * analysis, X'X, Z'X, Z'Z) and each voxel's response is swapped in from the batched products.
 */
export class BrainDesign {
  readonly n: number;
  readonly p: number;
  /** the full design's X, which its products read (a pattern's voxels take theirs from the full design's) */
  private readonly X?: Float64Array;
  /** terms in lme4's order (decreasing number of levels) */
  readonly terms: ReTerm[];
  /** for each term in lme4's order, its index in formula order */
  readonly formulaIndex: number[];
  /** the system whose response is swapped */
  readonly system?: BlockedSystem;
  /** lme4's lower bounds and starting value of theta */
  readonly lower: number[];
  readonly initialTheta: number[];
  /** why this design cannot be fitted (rank, identifiability), if so */
  readonly problem?: DesignProblem;
  /** whether the design has no more observations than random effects (fitted as lme4's check.nobs.vs.nRE = "ignore") */
  readonly fewerObservationsThanEffects: boolean;

  /** X'X over the design's rows (p x p): the rank check's, and a pattern's starting point */
  readonly gram: Float64Array;

  /** the spec's rows this design has (ascending); undefined: all */
  readonly rows?: Int32Array;

  /**
   * The design over `rows` of the spec's (all if absent). A missingness pattern's design has a
   * `neighbour`, a design over other rows of the spec (the full design, or a similar pattern's):
   * its X'X is the neighbour's less and plus the rows by which the two differ, and so is its
   * system where the neighbour's first block is grouped. A pattern's terms keep every level of
   * the spec's (a level without rows adds nothing to any product), so that its voxels take their
   * response products from the full design's batched ones.
   */
  constructor(spec: DesignSpec, rows?: Int32Array, nobsCheck: NobsCheck = 'ignore', neighbour?: BrainDesign) {
    const restrict = rows !== undefined && rows.length !== spec.n;
    this.rows = restrict ? rows : undefined;
    this.n = restrict ? rows.length : spec.n;
    this.p = spec.p;
    if (!restrict) this.X = spec.X;
    // the checks see the levels that have rows, as lme4's model frame would
    const checked = restrict ? spec.terms.map((t) => observedLevels(t, rows)) : spec.terms.map(termLevels);
    const reTerms = (restrict ? spec.terms.map((t) => restrictTerm(t, rows)) : spec.terms).map((t) => new ReTerm(t));
    this.terms = orderByLevels(reTerms);
    this.formulaIndex = this.terms.map((t) => reTerms.indexOf(t));
    this.lower = this.terms.flatMap((t) => t.thetaLowerBounds());
    this.initialTheta = this.terms.flatMap((t) => t.initialTheta());
    const crowded = groupingProblem(checked, this.n, 'stop');
    this.fewerObservationsThanEffects = crowded?.kind === 'nobsVsRE';
    // X over the rows, for what is not derived from the neighbour
    let rowsX: Float64Array | undefined;
    const X = () => (rowsX ??= restrict ? restrictColumns(spec.X, spec.n, spec.p, rows) : spec.X);
    const changes = neighbour && rowChanges(neighbour.rows, this.rows, spec.n);
    this.gram = changes ? changedGram(neighbour.gram, spec, changes) : gramOf(X(), this.n, this.p);
    this.problem =
      gramRank(this.gram, this.p, RANK_TOLERANCE) < this.p ? { kind: 'rank', message: 'rank-deficient design' } : groupingProblem(checked, this.n, nobsCheck);
    if (this.problem) return;
    const y = new Float64Array(this.n);
    if (changes && neighbour.system?.derivable) {
      const from = { system: neighbour.system, removed: rowBlock(spec, this, changes.removed), added: rowBlock(spec, this, changes.added) };
      this.system = new BlockedSystem(this.terms, new Float64Array(0), y, this.p, this.gram, from);
    } else this.system = new BlockedSystem(this.terms, X(), y, this.p, this.gram);
  }

  /** X as the kernels' left factor of X'y, built at the first `products` */
  private xFactor?: RowFactor;

  newProducts(): ChunkProducts {
    return new ChunkProducts(this.p);
  }

  /**
   * The cross-products of V responses: design row r's values are Y[rowStart[r] .. rowStart[r] + V).
   * X'y, y'y and Z_l'y of every term's levels by the kernels, over chunks of rows converted to
   * double once, a missing value (NaN; with zeroIsMissing also 0) counting as 0, and each
   * response's count of observed values and their range; then the grouped first block's y rows
   * of all V.
   */
  products(Y: Float32Array, rowStart: Int32Array, V: number, out: ChunkProducts, zeroIsMissing = false): void {
    const { n, p, X } = this;
    if (!X) throw new Error("a missingness pattern's design has no products of its own");
    const width = roundUp4(V);
    const xFactor = (this.xFactor ??= new RowFactor(n, p, X, 1, n));
    const kernels = out.kernels;
    const grouped = this.system!.batchedFirst;
    const sizes = this.terms.map((t) => t.nlevels * t.k);
    const entries = this.terms.reduce((s, t) => s + t.k, 0);
    // the design's inputs (`writeKernelInputs`), then the block's
    const xAt = 0;
    const intAt = xAt + xFactor.doubles;
    const zAt = intAt + Math.ceil((entries * n + sizes.reduce((s, q) => s + q, 0)) / 2);
    const factorAt = zAt + entries * n;
    const yAt = factorAt + (grouped?.batchFactor.doubles ?? 0);
    // the responses of a chunk of rows in single precision (staged, then widened), rows of width
    const stageAt = yAt + ROW_CHUNK * width;
    out.xty = stageAt + (ROW_CHUNK * width) / 2;
    out.yty = out.xty + xFactor.rows * width;
    const ztyAt: number[] = [];
    let end = out.yty + width;
    for (const q of sizes) {
      ztyAt.push(end);
      end += q * width;
    }
    out.stats = end;
    end += 3 * width;
    const productsEnd = end;
    out.ztyByVoxel = [];
    for (const q of sizes) {
      out.ztyByVoxel.push(end);
      end += q * V;
    }
    kernels.reserve(end + (grouped?.batchDoubles(width) ?? 0));
    if (kernels.owner !== this) {
      this.writeKernelInputs(kernels, xAt, intAt, zAt, factorAt);
      kernels.owner = this;
    }
    const f64 = kernels.f64;
    const f32 = kernels.f32;
    // the products, and the response rows' padding (never written, so zero throughout)
    f64.fill(0, yAt, out.stats + width);
    f64.fill(Infinity, out.stats + width, out.stats + 2 * width);
    f64.fill(-Infinity, out.stats + 2 * width, productsEnd);
    for (let r0 = 0; r0 < n; r0 += ROW_CHUNK) {
      const rows = Math.min(ROW_CHUNK, n - r0);
      stageRows(Y, rowStart.subarray(r0, r0 + rows), V, f32, 2 * stageAt, width);
      kernels.widenRows(yAt, 2 * stageAt, rows, width, out.stats, zeroIsMissing);
      xFactor.addProducts(kernels, xAt, out.xty, yAt, width, r0, rows);
      kernels.sumSquaresRows(out.yty, yAt, width, rows);
      for (let ti = 0, zo = 0; ti < this.terms.length; ti++)
        for (let a = 0; a < this.terms[ti].k; a++, zo += n) kernels.scatterRows(ztyAt[ti], yAt, width, 2 * intAt + zo + r0, zAt + zo + r0, rows);
    }
    // each voxel then reads its Z'y contiguously
    for (let ti = 0, at = 2 * intAt + entries * n; ti < sizes.length; at += sizes[ti++])
      kernels.transposeRows(out.ztyByVoxel[ti], sizes[ti], ztyAt[ti], width, at, V);
    grouped?.setResponses(kernels, factorAt, ztyAt[0], width, end);
    out.width = width;
    out.xRow = xFactor.rowOf;
    out.batched = grouped;
  }

  /**
   * The kernels' inputs that depend on the design alone, written when it takes the memory over:
   * X's (`RowFactor.write`); per term and entry a, each row's row of Z'y (its level's entry
   * k + a; a grouped first block's level in group order) and its z; per term, the row of Z'y of
   * each of its entries; the grouped first block's factor.
   */
  private writeKernelInputs(kernels: KernelMemory, xAt: number, intAt: number, zAt: number, factorAt: number): void {
    const n = this.n;
    const f64 = kernels.f64;
    const i32 = kernels.i32;
    const grouped = this.system!.batchedFirst;
    const slots = (ti: number) => (ti === 0 ? grouped?.levelSlots : undefined);
    this.xFactor!.write(kernels, xAt);
    let at = 2 * intAt;
    let zo = zAt;
    this.terms.forEach(({ k, codes, z }, ti) => {
      const slot = slots(ti);
      for (let a = 0; a < k; a++, at += n, zo += n) {
        for (let r = 0; r < n; r++) i32[at + r] = slot ? slot[codes[r]] : codes[r] * k + a;
        f64.set(z.subarray(a * n, (a + 1) * n), zo);
      }
    });
    this.terms.forEach(({ k, nlevels }, ti) => {
      const slot = slots(ti);
      if (slot) i32.set(slot, at);
      else for (let e = 0; e < nlevels * k; e++) i32[at + e] = e;
      at += nlevels * k;
    });
    grouped?.batchFactor.write(kernels, factorAt);
  }

  /** Sets voxel v of the last `products` as the system's response. */
  setResponse(products: ChunkProducts, v: number): void {
    const { width } = products;
    const f64 = products.kernels.f64;
    const xty = products.voxelXty;
    for (let j = 0; j < this.p; j++) xty[j] = f64[products.xty + products.xRow[j] * width + v];
    const zty = products.ztyByVoxel.map((at, ti) => {
      const q = this.terms[ti].nlevels * this.terms[ti].k;
      return f64.subarray(at + v * q, at + (v + 1) * q);
    });
    // a pattern's design takes the full design's products, but sums its own grouped rows
    const batched = products.batched !== undefined && products.batched === this.system!.batchedFirst;
    this.system!.setResponse({ xty, yty: f64[products.yty + v], zty, voxel: batched ? v : undefined });
  }
}
