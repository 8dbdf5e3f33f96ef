/**
 * Rank updates over the rows that each level of a block-diagonal term touches (a clique of
 * rows), in the CSC order of those rows: what eliminating the first random-effects term into
 * the tail, and that term's part of the gradient, loop over (InstEval: 2972 students touching
 * about 30 tail rows each). Visiting the target column by column keeps each level's scattered
 * updates within one cache-resident column; and as columns are independent, `SupernodalPool`
 * splits them between threads. The kernels are WebAssembly (kernels.wat), on the data as
 * `placeCliques` puts it in a factorization's kernel memory beside the target.
 */

import type { KernelMemory } from './kernels';

/**
 * A first term's clique kernels (kernels.wat: cliqueProducts, cliqueTrace) on a factorization's
 * kernel memory, split between threads where the factorization has them (`SupernodalPool`).
 */
export interface CliqueRunner {
  /** L21, k values per position, and its rows transformed for the gradient: what the kernels read */
  w: Float64Array;
  wt: Float64Array;
  /** target[idx[qr], idx[qs]] -= w_qr . w_qs for the pairs qs <= qr of each level, the target being the factorization's matrix */
  subtract(): void;
  /**
   * out (k x k) -= over the levels' pairs qs <= qr of rows below `include`, G[idx[qr], idx[qs]]
   * (wt_qr wt_qs' + wt_qs wt_qr', once for qr = qs), G being the factorization's selected inverse
   */
  trace(include: number, out: Float64Array): void;
}

/** What a factorization needs to run a first term's rank updates: its levels' rows, and k. */
export interface FirstTermCliques {
  columns: CliqueColumns;
  k: number;
}

export interface CliqueColumns {
  /** level l touches rows idx[start[l] .. start[l+1]), ascending */
  idx: Int32Array;
  start: Int32Array;
  /** entry e of column j (colStart[j] <= e < colStart[j+1]) is position colQ[e] of a level whose rows end at colEnd[e] */
  colStart: Int32Array;
  colQ: Int32Array;
  colEnd: Int32Array;
}

/** The CSC view of the rows each level touches (`idx`, `start` as in CliqueColumns) in an m-row target. */
export function cliqueColumns(idx: Int32Array, start: Int32Array, m: number): CliqueColumns {
  const colStart = new Int32Array(m + 1);
  for (const r of idx) colStart[r + 1]++;
  for (let r = 0; r < m; r++) colStart[r + 1] += colStart[r];
  const colQ = new Int32Array(idx.length);
  const colEnd = new Int32Array(idx.length);
  const next = colStart.slice(0, m);
  for (let l = 0; l + 1 < start.length; l++)
    for (let q = start[l]; q < start[l + 1]; q++) {
      const e = next[idx[q]]++;
      colQ[e] = q;
      colEnd[e] = start[l + 1];
    }
  return { idx, start, colStart, colQ, colEnd };
}

/**
 * Where a first term's clique data lie in a kernel memory: the index lists (int32 offsets), then
 * w, wt and per thread a k x k sum (double offsets).
 */
export interface CliqueLayout {
  k: number;
  positions: number;
  idx: number;
  colStart: number;
  colQ: number;
  colEnd: number;
  w: number;
  wt: number;
  partial: number;
  /** the first double after them */
  end: number;
}

/** The layout of the clique data from double offset `at` on, for `threads` threads. */
export function cliqueLayout(c: CliqueColumns, k: number, threads: number, at: number): CliqueLayout {
  const positions = c.idx.length;
  const idx = 2 * at;
  const colStart = idx + positions;
  const colQ = colStart + c.colStart.length;
  const colEnd = colQ + positions;
  const w = Math.ceil((colEnd + positions) / 2);
  const wt = w + positions * k;
  const partial = wt + positions * k;
  return { k, positions, idx, colStart, colQ, colEnd, w, wt, partial, end: partial + threads * k * k };
}

/** Copies the index lists into the memory. */
export function placeCliques(memory: KernelMemory, layout: CliqueLayout, c: CliqueColumns): void {
  memory.i32.set(c.idx, layout.idx);
  memory.i32.set(c.colStart, layout.colStart);
  memory.i32.set(c.colQ, layout.colQ);
  memory.i32.set(c.colEnd, layout.colEnd);
}

/** Column bounds that split the pairs of the update into `parts` about equal shares. */
export function cliqueShares(c: CliqueColumns, m: number, parts: number): Int32Array {
  const work = new Float64Array(m + 1);
  for (let j = 0; j < m; j++) {
    let pairs = 0;
    for (let e = c.colStart[j]; e < c.colStart[j + 1]; e++) pairs += c.colEnd[e] - c.colQ[e];
    work[j + 1] = work[j] + pairs;
  }
  const bounds = new Int32Array(parts + 1);
  let j = 0;
  for (let t = 1; t < parts; t++) {
    while (j < m && work[j] < (work[m] * t) / parts) j++;
    bounds[t] = j;
  }
  bounds[parts] = m;
  return bounds;
}
