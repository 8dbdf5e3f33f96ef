/**
 * The first random-effects term of a blocked system (the one with most levels) has a
 * block-diagonal Z'Z block, k x k per level, which is eliminated level by level into the tail
 * (the other terms, X and y). How depends on the model; each strategy is a `FirstBlock`:
 * - no random effects (lm): nothing to eliminate (`noFirstBlock`);
 * - one term whose levels mostly share their Z_l'Z_l (a random intercept: one group per visit
 *   count; sleepstudy: one group): `GroupedFirstBlock`, whose work does not grow with n;
 * - one term whose levels mostly differ (a slope on continuous time): `StackedFirstBlock`,
 *   level by level on the few columns of [X y] each level touches;
 * - several terms: `SparseFirstBlock`, rank updates on the tail rows each level touches.
 */
import type { CliqueRunner, FirstTermCliques } from '../linalg/cliques';
import { choleskyLower } from '../linalg/dense';
import type { ReTerm } from './reterm';

export interface FirstBlock {
  /**
   * Subtracts L21 L21' from the tail (m x m, lower triangle) at the terms' current lambda and
   * returns log|L11|^2 (Infinity if not positive definite); keeps what `solve` and the gradient
   * need of L11 and L21.
   */
  eliminate(tail: Float64Array, m: number): number;
  /** After `eliminate`: u for the first term, given the tail unknowns v (in tail order, beta last). */
  solve(v: Float64Array): Float64Array;
  /**
   * After `eliminate`, for the gradient: adds sum_l (I - G_ll) over the first term's levels to
   * `S` and sum_l u_l u_l' to `U` (k x k), G the inverse of the system without y restricted to
   * its first `include` tail rows, whose inverse `g22` (m x m, lower triangle on the tail
   * factor's structure) is given, and v the tail unknowns.
   */
  addGradientTerms(g22: Float64Array, m: number, include: number, v: Float64Array, S: Float64Array, U: Float64Array): void;
  /**
   * A new response: Z_l'y for each level of the first term (k per level, level-major); `voxel`,
   * its place in a block of responses whose products the block summed at once, if it did.
   */
  setResponse(zty: ArrayLike<number>, voxel?: number): void;
  /**
   * For the cheap terms' search (`CheapTermProfile.finish`): L21 anew at the tail rows from
   * `row` on after their lambda changed (the tail is not touched).
   */
  refreshL21(row: number): void;
  /** rank updates that the factorization's kernels apply for this block (the sparse strategy) ... */
  readonly cliques?: FirstTermCliques;
  /** ... and, given those kernels, where they read L21 */
  attach?(runner: CliqueRunner): void;
}

/** A linear model (no random effects) is the system reduced to its tail [X y]. */
export const noFirstBlock: FirstBlock = {
  eliminate: () => 0,
  solve: () => new Float64Array(0),
  addGradientTerms: () => undefined,
  setResponse: () => undefined,
  refreshL21: () => undefined,
};

/** Per level l: H_l = lambda' M_l lambda + I, its Cholesky factor in `h` (k x k); log|H_l| returned. */
export function factorLevelBlock(lam: Float64Array, M: Float64Array, mOff: number, k: number, h: Float64Array, work: Float64Array): number {
  if (k === 1) {
    const l = lam[0];
    const v = l * M[mOff] * l + 1;
    h[0] = Math.sqrt(v);
    return Math.log(v);
  }
  // work = M lambda
  for (let j = 0; j < k; j++)
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let b = j; b < k; b++) s += M[mOff + i + b * k] * lam[b + j * k];
      work[i + j * k] = s;
    }
  // h = lambda' work + I (lower triangle)
  for (let j = 0; j < k; j++)
    for (let i = j; i < k; i++) {
      let s = i === j ? 1 : 0;
      for (let a = i; a < k; a++) s += lam[a + i * k] * work[a + j * k];
      h[i + j * k] = s;
    }
  if (!choleskyLower(h, k)) return Infinity;
  let ld = 0;
  for (let i = 0; i < k; i++) ld += 2 * Math.log(h[i + i * k]);
  return ld;
}

/** The observations of a term grouped by level (counting sort): level l's are rows[start[l] .. start[l+1]). */
export function observationsByLevel(term: ReTerm): { start: Int32Array; rows: Int32Array } {
  const start = new Int32Array(term.nlevels + 1);
  for (const c of term.codes) start[c + 1]++;
  for (let l = 0; l < term.nlevels; l++) start[l + 1] += start[l];
  const rows = new Int32Array(term.n);
  const fill = start.slice(0, term.nlevels);
  term.codes.forEach((c, r) => (rows[fill[c]++] = r));
  return { start, rows };
}

/**
 * The first term's per-level cross-products with the tail's columns [Z_2..Z_m X y]:
 * M_l = Z_l'Z_l (k x k column-major, level-major) and W_l = Z_l'[Z_2..Z_m X y] (k x m row-major,
 * level-major: entry (a, j) at (l k + a) m + j), m the tail's size (p + 1 for a single term).
 */
export interface LevelCrossproducts {
  M: Float64Array;
  W: Float64Array;
}

/**
 * Rows of a system's data: per term (in the system's order) their level codes and z (n x k,
 * column-major), and their [X y] (n x (p + 1), column-major). A system's own rows, or the rows
 * by which a whole-brain missingness pattern differs from its neighbour's.
 */
export interface RowBlock {
  n: number;
  codes: Int32Array[];
  z: Float64Array[];
  xy: Float64Array;
}

export function levelCrossproducts(layout: TailLayout, rows: RowBlock): LevelCrossproducts {
  const { k, nlevels } = layout.terms[0];
  const cross = { M: new Float64Array(nlevels * k * k), W: new Float64Array(nlevels * k * layout.tailSize) };
  addLevelCrossproducts(cross, layout, rows, 1);
  return cross;
}

/** Adds (sign 1) or removes (sign -1) the rows' contributions to the level cross-products. */
export function addLevelCrossproducts(cross: LevelCrossproducts, layout: TailLayout, rows: RowBlock, sign: 1 | -1): void {
  const { terms, levelRows, tailRe, tailSize: m, p } = layout;
  const { k } = terms[0];
  const { n, xy } = rows;
  const [codes, z] = [rows.codes[0], rows.z[0]];
  const { M, W } = cross;
  for (let r = 0; r < n; r++) {
    const l = codes[r];
    for (let a = 0; a < k; a++) {
      const za = sign * z[r + a * n];
      if (za === 0) continue;
      for (let b = 0; b < k; b++) M[l * k * k + a + b * k] += za * z[r + b * n];
      const row = (l * k + a) * m;
      for (let ti = 1; ti < terms.length; ti++) {
        const tz = rows.z[ti];
        const at = row + levelRows[ti][rows.codes[ti][r]];
        for (let c = 0; c < terms[ti].k; c++) W[at + c] += za * tz[r + c * n];
      }
      for (let j = 0; j <= p; j++) W[row + tailRe + j] += za * xy[r + j * n];
    }
  }
}

/** Levels with identical M_l: the group of each level, each group's size and first level. */
export interface LevelGroups {
  groupOf: Int32Array;
  size: number[];
  first: number[];
}

export function groupLevels(M: Float64Array, k: number, nlevels: number): LevelGroups {
  const keyToGroup = new Map<string | number, number>();
  const groupOf = new Int32Array(nlevels);
  const size: number[] = [];
  const first: number[] = [];
  for (let l = 0; l < nlevels; l++) {
    const key = k === 1 ? M[l] : M.subarray(l * k * k, (l + 1) * k * k).join(',');
    let g = keyToGroup.get(key);
    if (g === undefined) {
      g = size.length;
      keyToGroup.set(key, g);
      size.push(0);
      first.push(l);
    }
    groupOf[l] = g;
    size[g]++;
  }
  return { groupOf, size, first };
}

/** The k x k lower-triangular L^{-1} of a level's factor L (at `off` in `factors`), into `out`. */
export function lowerInverse(factors: Float64Array, off: number, k: number, out: Float64Array): void {
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < k; i++) {
      if (i < c) {
        out[i + c * k] = 0;
        continue;
      }
      let s = i === c ? 1 : 0;
      for (let b = c; b < i; b++) s -= factors[off + i + b * k] * out[b + c * k];
      out[i + c * k] = s / factors[off + i + i * k];
    }
  }
}

/** Where the tail's rows are: what the first block needs of the system it belongs to. */
export interface TailLayout {
  /** the model's terms, the first one being eliminated */
  readonly terms: ReTerm[];
  /** per term (2..m; entry 0 empty), the tail row of each level's first row */
  readonly levelRows: Int32Array[];
  /** random-effects rows in the tail (X's rows follow, then y's) */
  readonly tailRe: number;
  readonly tailSize: number;
  readonly p: number;
}
