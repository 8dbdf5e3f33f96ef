/**
 * The design side of the whole-brain engine: the model frame's X and random-effects terms over a
 * set of rows (all rows, or the rows a voxel with missing images has), the blocked system built
 * once for them, and the batched cross-products [X Z]'Y that swap each voxel's response in.
 */
import type { RandomTerm } from '../frame/types';
import { qrDecompose } from '../linalg/qr';
import { BlockedSystem, type GroupedStructure } from '../lmm/blocked';
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

/** Restricts a random-effects term to `rows`, dropping levels without rows (as modelFrame does). */
function restrictTerm(term: RandomTerm, rows: Int32Array): RandomTerm {
  const n = term.factor.codes.length;
  const k = term.names.length;
  const newCode = new Int32Array(term.factor.levels.length).fill(-1);
  for (const r of rows) newCode[term.factor.codes[r]] = 0;
  const levels: string[] = [];
  newCode.forEach((used, l) => {
    if (used === 0) {
      newCode[l] = levels.length;
      levels.push(term.factor.levels[l]);
    }
  });
  const m = rows.length;
  const codes = new Int32Array(m);
  const z = new Float64Array(m * k);
  for (let i = 0; i < m; i++) {
    codes[i] = newCode[term.factor.codes[rows[i]]];
    for (let a = 0; a < k; a++) z[i + a * m] = term.z[rows[i] + a * n];
  }
  return { group: term.group, names: term.names, factor: { codes, levels }, z };
}

function restrictColumns(X: Float64Array, n: number, p: number, rows: Int32Array): Float64Array {
  const m = rows.length;
  const out = new Float64Array(m * p);
  for (let j = 0; j < p; j++) for (let i = 0; i < m; i++) out[i + j * m] = X[rows[i] + j * n];
  return out;
}

/**
 * Reusable buffers for the cross-products of a block of V voxels, entry-major (entry e of voxel
 * v at e*V + v) so the batched loops run contiguously over voxels.
 */
export class ChunkProducts {
  xty: Float64Array;
  yty: Float64Array;
  groupY: Float64Array;
  zy: Float64Array;
  /** one response row in double precision */
  row: Float64Array;
  /** one voxel's products, gathered for the system (which copies them) */
  voxel: { xty: Float64Array; groupY: Float64Array };
  constructor(
    readonly capacity: number,
    p: number,
    groupEntries: number,
    k: number,
  ) {
    this.xty = new Float64Array(p * capacity);
    this.yty = new Float64Array(capacity);
    this.groupY = new Float64Array(groupEntries * capacity);
    this.zy = new Float64Array(k * capacity);
    this.row = new Float64Array(capacity);
    this.voxel = { xty: new Float64Array(p), groupY: new Float64Array(groupEntries) };
  }
}

/**
 * A whole-brain design over a set of rows. Single-term models keep one blocked system whose
 * response is swapped per voxel from the batched products; other models rebuild the system per
 * voxel (correct, but the cost then grows with n).
 */
export class BrainDesign {
  readonly n: number;
  readonly p: number;
  readonly X: Float64Array;
  /** terms in lme4's order (decreasing number of levels) */
  readonly terms: ReTerm[];
  /** for each term in lme4's order, its index in formula order */
  readonly formulaIndex: number[];
  /** the system whose response is swapped (single-term models) */
  readonly system?: BlockedSystem;
  readonly grouped?: GroupedStructure;
  /** lme4's lower bounds and starting value of theta */
  readonly lower: number[];
  readonly initialTheta: number[];
  /** why this design cannot be fitted (rank, identifiability), if so */
  readonly problem?: string;
  /** rows ordered by level of the single term, and each level's range in that order */
  private readonly levelOrder?: Int32Array;
  private readonly levelStart?: Int32Array;
  private readonly groupEntries: number = 0;

  constructor(spec: DesignSpec, rows?: Int32Array) {
    const restrict = rows !== undefined && rows.length !== spec.n;
    this.n = restrict ? rows.length : spec.n;
    this.p = spec.p;
    this.X = restrict ? restrictColumns(spec.X, spec.n, spec.p, rows) : spec.X;
    const formulaTerms = restrict ? spec.terms.map((t) => restrictTerm(t, rows)) : spec.terms;
    const reTerms = formulaTerms.map((t) => new ReTerm(t));
    this.terms = orderByLevels(reTerms);
    this.formulaIndex = this.terms.map((t) => reTerms.indexOf(t));
    this.lower = this.terms.flatMap((t) => t.thetaLowerBounds());
    this.initialTheta = this.terms.flatMap((t) => t.initialTheta());
    this.problem = this.findProblem(formulaTerms);
    if (this.problem || this.terms.length !== 1) return;

    this.system = new BlockedSystem(this.terms, this.X, new Float64Array(this.n), this.p);
    this.grouped = this.system.groupedStructure()!;
    const { k, P, ngroups } = this.grouped;
    this.groupEntries = ngroups * k * k * P;
    const term = this.terms[0];
    const start = new Int32Array(term.nlevels + 1);
    for (let r = 0; r < this.n; r++) start[term.codes[r] + 1]++;
    for (let l = 0; l < term.nlevels; l++) start[l + 1] += start[l];
    const fill = start.slice(0, term.nlevels);
    const order = new Int32Array(this.n);
    for (let r = 0; r < this.n; r++) order[fill[term.codes[r]]++] = r;
    this.levelOrder = order;
    this.levelStart = start;
  }

  /** lme4's checks that a voxel's missing images can make fail: rank of X, number of levels, identifiability. */
  private findProblem(terms: RandomTerm[]): string | undefined {
    if (qrDecompose(this.X, this.n, this.p, RANK_TOLERANCE).rank < this.p) return 'rank-deficient design';
    for (const t of terms) {
      const nlevels = t.factor.levels.length;
      if (nlevels < 2 || nlevels >= this.n || nlevels * t.names.length >= this.n) return 'too few observations for the random effects';
    }
    return undefined;
  }

  newProducts(capacity: number): ChunkProducts {
    return new ChunkProducts(capacity, this.p, this.groupEntries, this.grouped?.k ?? 0);
  }

  /**
   * The cross-products of V responses: design row r's values are Y[rowStart[r] .. rowStart[r] + V).
   * X'y, y'y and each group's S_c y rows, in one pass over the rows in level order (each row is
   * converted to double once, then used by every product).
   */
  products(Y: Float32Array, rowStart: Int32Array, V: number, out: ChunkProducts): void {
    const { n, p, X } = this;
    const { k, P, groupOf, levelCross: W } = this.grouped!;
    const order = this.levelOrder!;
    const start = this.levelStart!;
    const term = this.terms[0];
    const z = term.z;
    const { xty, yty, groupY, zy, row } = out;
    xty.fill(0, 0, p * V);
    yty.fill(0, 0, V);
    groupY.fill(0, 0, this.groupEntries * V);
    for (let l = 0; l < term.nlevels; l++) {
      zy.fill(0, 0, k * V);
      for (let q = start[l]; q < start[l + 1]; q++) {
        const r = order[q];
        const ro = rowStart[r];
        for (let v = 0; v < V; v++) {
          const y = Y[ro + v];
          row[v] = y;
          yty[v] += y * y;
        }
        for (let j = 0; j < p; j++) {
          const x = X[r + j * n];
          if (x === 0) continue;
          const o = j * V;
          for (let v = 0; v < V; v++) xty[o + v] += x * row[v];
        }
        for (let a = 0; a < k; a++) {
          const za = z[r + a * n];
          if (za === 0) continue;
          const o = a * V;
          for (let v = 0; v < V; v++) zy[o + v] += za * row[v];
        }
      }
      const c = groupOf[l];
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          const base = ((c * k + a) * k + b) * P;
          const wb = (l * k + b) * P;
          const za = a * V;
          for (let j = 0; j < p; j++) {
            const w = W[wb + j];
            if (w === 0) continue;
            const o = (base + j) * V;
            for (let v = 0; v < V; v++) groupY[o + v] += zy[za + v] * w;
          }
          const o = (base + p) * V;
          const zb = b * V;
          for (let v = 0; v < V; v++) groupY[o + v] += zy[za + v] * zy[zb + v];
        }
    }
  }

  /** Sets voxel v of `products` (computed for V voxels) as the system's response. */
  setResponse(products: ChunkProducts, V: number, v: number): void {
    const { p } = this;
    const { xty, groupY } = products.voxel;
    for (let j = 0; j < p; j++) xty[j] = products.xty[j * V + v];
    for (let e = 0; e < this.groupEntries; e++) groupY[e] = products.groupY[e * V + v];
    this.system!.setResponse({ xty, yty: products.yty[v], groupY });
  }

  /** A system for one response, built from scratch (models with several random-effects terms). */
  systemFor(y: Float64Array): BlockedSystem {
    return new BlockedSystem(this.terms, this.X, y, this.p);
  }
}
