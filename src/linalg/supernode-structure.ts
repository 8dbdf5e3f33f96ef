/**
 * The symbolic part of the supernodal factorization: from the factor's column structure, its
 * supernodes (fundamental ones, relaxed where few explicit zeros are stored, the dense trailing
 * triangle last, wide ones cut into panels), their rows, the work and the buffer sizes.
 */
import { PANEL } from './dense';
import { range } from './ordering';

/** supernodes this narrow are always merged with their parent's */
const RELAX_ALWAYS = 4;
/** otherwise merged while at most this fraction of the stored entries are explicit zeros */
const RELAX_ZEROS = 0.2;

/** The symbolic factorization: supernodes and their rows, shared with the pool's threads. */
export interface SupernodeStructure {
  n: number;
  /** first column of each supernode, then n */
  start: Int32Array;
  /** supernode s's rows below its diagonal block are rowIndex[rowStart[s] .. rowStart[s+1]), ascending */
  rowStart: Int32Array;
  rowIndex: Int32Array;
}

/** What one supernode's kernels need at most: panel entries (width padded to 4), padded rows x width, rows, width. */
export interface SupernodeSizes {
  panel: number;
  rowsByWidth: number;
  rows: number;
  width: number;
}

/**
 * `structure[j]`: the rows (> j, ascending) of column j of the factor, which must be closed
 * under elimination (as `minimumDegree` gives it). A supernode starts at column `cut` (in the
 * dense trailing triangle), so that the factorization can stop there. Returns the supernodes,
 * the multiply-adds of one factorization and the buffer sizes.
 */
export function analyseSupernodes(n: number, structure: Int32Array[], cut = n): { structure: SupernodeStructure; flops: number; sizes: SupernodeSizes } {
  // the dense trailing triangle: columns whose rows are all the later ones
  let denseFrom = n;
  while (denseFrom > 0 && structure[denseFrom - 1].length === n - denseFrom) denseFrom--;
  const start: number[] = [];
  const rows: Int32Array[] = [];
  // fundamental supernodes: column end joins when its rows are the previous column's minus itself
  for (let j = 0; j < denseFrom;) {
    let end = j + 1;
    while (end < denseFrom && structure[end - 1][0] === end && structure[end - 1].length === structure[end].length + 1) end++;
    start.push(j);
    rows.push(structure[end - 1]);
    j = end;
  }
  start.push(denseFrom);
  // relaxed: a supernode whose last column's parent starts the next one is merged into it when
  // the explicit zeros this stores stay few; wide panels run several times faster per flop
  for (let s = 0; s + 1 < rows.length;) {
    const f = start[s];
    const end = start[s + 2];
    const R = rows[s + 1];
    if (structure[start[s + 1] - 1][0] !== start[s + 1]) {
      s++;
      continue;
    }
    let stored = 0;
    let zeros = 0;
    for (let c = f; c < end; c++) {
      const entries = end - 1 - c + R.length;
      stored += entries;
      zeros += entries - structure[c].length;
    }
    if (zeros <= RELAX_ZEROS * stored || end - f <= RELAX_ALWAYS) {
      start.splice(s + 1, 1);
      rows.splice(s, 1);
    } else s++;
  }
  // the dense triangle is one more supernode; then wide supernodes are cut into panels of at
  // most PANEL columns (rows: the later columns of the supernode, then its rows), so that the
  // panel kernel's column-by-column work stays small and the rest goes to the tiled update
  start.pop();
  start.push(denseFrom, n);
  rows.push(new Int32Array(0));
  const panelStart: number[] = [];
  const panelRows: Int32Array[] = [];
  rows.forEach((R, s) => {
    const end = start[s + 1];
    for (let j = start[s]; j < end;) {
      const to = Math.min(end, j + PANEL, j < cut ? cut : end);
      panelStart.push(j);
      const panel = new Int32Array(end - to + R.length);
      panel.set(range(to, end));
      panel.set(R, end - to);
      panelRows.push(panel);
      j = to;
    }
  });
  panelStart.push(n);
  start.splice(0, start.length, ...panelStart);
  rows.splice(0, rows.length, ...panelRows);
  const rowStart = new Int32Array(rows.length + 1);
  rows.forEach((R, s) => (rowStart[s + 1] = rowStart[s] + R.length));
  const rowIndex = new Int32Array(rowStart[rows.length]);
  rows.forEach((R, s) => rowIndex.set(R, rowStart[s]));
  const supernodes = { n, start: Int32Array.from(start), rowStart, rowIndex };
  let flops = 0;
  const sizes = { panel: 0, rowsByWidth: 0, rows: 0, width: 0 };
  rows.forEach((R, s) => {
    const w = start[s + 1] - start[s];
    const h = w + R.length;
    for (let c = 0; c < w; c++) flops += ((h - c) * (h - c)) / 2;
    sizes.panel = Math.max(sizes.panel, h * ((w + 3) & ~3));
    sizes.rowsByWidth = Math.max(sizes.rowsByWidth, (R.length + 1) * (w + 2));
    sizes.rows = Math.max(sizes.rows, R.length);
    sizes.width = Math.max(sizes.width, w);
  });
  return { structure: supernodes, flops, sizes };
}
