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
import { orderByLevels, ReTerm } from '../lmm/reterm';

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
  // a merge of the two ascending lists
  const [a, b] = [from ?? allRows(n), to ?? allRows(n)];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j === b.length || (i < a.length && a[i] < b[j])) removed.push(a[i++]);
    else if (i === a.length || b[j] < a[i]) added.push(b[j++]);
    else {
      i++;
      j++;
    }
  }
  return { removed: Int32Array.from(removed), added: Int32Array.from(added) };
}

function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, r) => r);
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

function restrictColumns(X: Float64Array, n: number, p: number, rows: Int32Array): Float64Array {
  const m = rows.length;
  const out = new Float64Array(m * p);
  for (let j = 0; j < p; j++) for (let i = 0; i < m; i++) out[i + j * m] = X[rows[i] + j * n];
  return out;
}

/** Rows of the spec as a row block of a design's system: its terms (system order) and [X 0]. */
function rowBlock(spec: DesignSpec, design: BrainDesign, rows: Int32Array): RowBlock {
  const m = rows.length;
  const xy = new Float64Array(m * (spec.p + 1));
  xy.set(restrictColumns(spec.X, spec.n, spec.p, rows));
  const terms = design.formulaIndex.map((f) => restrictTerm(spec.terms[f], rows));
  return { n: m, codes: terms.map((t) => t.factor.codes), z: terms.map((t) => t.z), xy };
}

/**
 * Reusable buffers for the cross-products of a block of V voxels, entry-major (entry e of voxel
 * v at e*V + v) so the batched loops run contiguously over voxels.
 */
export class ChunkProducts {
  xty: Float64Array;
  yty: Float64Array;
  /** per term, Z_l'y for each level (entry l k + a) */
  zty: Float64Array[];
  /** per term, the same transposed (voxel-major: voxel v's at v q), read by each voxel in place */
  ztyByVoxel: Float64Array[];
  /** four response rows in double precision */
  rows: Float64Array;
  /** one voxel's X'y, gathered for the system (which copies it) */
  voxelXty: Float64Array;
  constructor(
    readonly capacity: number,
    p: number,
    termSizes: number[],
  ) {
    this.xty = new Float64Array(p * capacity);
    this.yty = new Float64Array(capacity);
    this.zty = termSizes.map((q) => new Float64Array(q * capacity));
    this.ztyByVoxel = termSizes.map((q) => new Float64Array(q * capacity));
    this.rows = new Float64Array(4 * capacity);
    this.voxelXty = new Float64Array(p);
  }
}

/** Tile of the transposition: 32 x 32 doubles (8 KB) each side stay in the first-level cache. */
const TILE = 32;

/** out (V x q, row-major) = the transpose of a (q x V, row-major), tile by tile. */
function transpose(a: Float64Array, q: number, V: number, out: Float64Array): void {
  for (let e0 = 0; e0 < q; e0 += TILE)
    for (let v0 = 0; v0 < V; v0 += TILE) {
      const e1 = Math.min(q, e0 + TILE);
      const v1 = Math.min(V, v0 + TILE);
      for (let e = e0; e < e1; e++) for (let v = v0; v < v1; v++) out[v * q + e] = a[e * V + v];
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

  newProducts(capacity: number): ChunkProducts {
    return new ChunkProducts(
      capacity,
      this.p,
      this.terms.map((t) => t.nlevels * t.k),
    );
  }

  /**
   * The cross-products of V responses: design row r's values are Y[rowStart[r] .. rowStart[r] + V).
   * X'y, y'y and Z_l'y of every term's levels, in one pass over the rows (each row is converted
   * to double once, then used by every product).
   */
  products(Y: Float32Array, rowStart: Int32Array, V: number, out: ChunkProducts): void {
    const { n, p, X } = this;
    if (!X) throw new Error("a missingness pattern's design has no products of its own");
    const { xty, yty, zty, rows } = out;
    xty.fill(0, 0, p * V);
    yty.fill(0, 0, V);
    this.terms.forEach((t, ti) => zty[ti].fill(0, 0, t.nlevels * t.k * V));
    // X'y four rows at a time: each xty entry is loaded and stored once per four multiply-adds
    const r4 = n - (n % 4);
    for (let r = 0; r < n; r += 4) {
      const block = r < r4 ? 4 : n - r;
      for (let b = 0; b < block; b++) {
        const ro = rowStart[r + b];
        const o = b * V;
        for (let v = 0; v < V; v++) {
          const y = Y[ro + v];
          rows[o + v] = y;
          yty[v] += y * y;
        }
      }
      for (let b = block; b < 4; b++) rows.fill(0, b * V, (b + 1) * V);
      for (let j = 0; j < p; j++) {
        const c = r + j * n;
        const x0 = X[c];
        const x1 = block > 1 ? X[c + 1] : 0;
        const x2 = block > 2 ? X[c + 2] : 0;
        const x3 = block > 3 ? X[c + 3] : 0;
        if (x0 === 0 && x1 === 0 && x2 === 0 && x3 === 0) continue;
        const o = j * V;
        for (let v = 0; v < V; v++) xty[o + v] += x0 * rows[v] + x1 * rows[V + v] + x2 * rows[2 * V + v] + x3 * rows[3 * V + v];
      }
      for (let ti = 0; ti < this.terms.length; ti++) {
        const { k, z, codes } = this.terms[ti];
        const termOut = zty[ti];
        for (let b = 0; b < block; b++) {
          const base = codes[r + b] * k;
          for (let a = 0; a < k; a++) {
            const za = z[r + b + a * n];
            if (za === 0) continue;
            const o = (base + a) * V;
            const ro = b * V;
            for (let v = 0; v < V; v++) termOut[o + v] += za * rows[ro + v];
          }
        }
      }
    }
    // each voxel then reads its Z'y contiguously
    this.terms.forEach((t, ti) => transpose(zty[ti], t.nlevels * t.k, V, out.ztyByVoxel[ti]));
  }

  /** Sets voxel v of `products` (computed for V voxels) as the system's response. */
  setResponse(products: ChunkProducts, V: number, v: number): void {
    const xty = products.voxelXty;
    for (let j = 0; j < this.p; j++) xty[j] = products.xty[j * V + v];
    const zty = products.ztyByVoxel.map((all, ti) => {
      const q = this.terms[ti].nlevels * this.terms[ti].k;
      return all.subarray(v * q, (v + 1) * q);
    });
    this.system!.setResponse({ xty, yty: products.yty[v], zty });
  }
}
