/**
 * Rank updates over the rows that each level of a block-diagonal term touches (a clique of
 * rows), in the CSC order of those rows: what eliminating the first random-effects term into
 * the tail, and that term's part of the gradient, loop over (InstEval: 2972 students touching
 * about 30 tail rows each). Visiting the target column by column keeps each level's scattered
 * updates within one cache-resident column; and as columns are independent, `SupernodalPool`
 * splits them between threads.
 */

/** The clique kernels of one system split between threads (`SupernodalPool`). */
export interface CliqueRunner {
  /** subtractCliqueProducts over all columns, on the system's target and w */
  subtract(): void;
  /** subtractCliqueTrace over all columns into out, on the system's inverse and transformed w */
  trace(include: number, out: Float64Array): void;
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
 * target[idx[qr], j] -= w_qr . w_qs for every level, its rows qs at column j and qr >= qs,
 * over columns [jFrom, jTo) of the m x m column-major target (w: k values per position).
 */
export function subtractCliqueProducts(c: CliqueColumns, target: Float64Array, m: number, w: Float64Array, k: number, jFrom: number, jTo: number): void {
  const { idx, colStart, colQ, colEnd } = c;
  for (let j = jFrom; j < jTo; j++) {
    const cj = j * m;
    for (let e = colStart[j]; e < colStart[j + 1]; e++) {
      const qs = colQ[e];
      const end = colEnd[e];
      if (k === 1) {
        // a scalar term (crossed designs): one product per pair
        const ws = w[qs];
        for (let qr = qs; qr < end; qr++) target[idx[qr] + cj] -= w[qr] * ws;
      } else
        for (let qr = qs; qr < end; qr++) {
          let s = 0;
          for (let b = 0; b < k; b++) s += w[qr * k + b] * w[qs * k + b];
          target[idx[qr] + cj] -= s;
        }
    }
  }
}

/**
 * out (k x k) -= sum over levels and pairs of their rows (both below `include`) of
 * g[row_r, row_s] (w_r w_s' + w_s w_r' for r != s, w_s w_s' for r = s), for the pairs whose upper
 * row s lies in columns [jFrom, jTo) of the symmetric g (m x m, lower triangle read).
 */
export function subtractCliqueTrace(
  c: CliqueColumns,
  g: Float64Array,
  m: number,
  include: number,
  w: Float64Array,
  k: number,
  jFrom: number,
  jTo: number,
  out: Float64Array,
): void {
  const { idx, colStart, colQ, colEnd } = c;
  for (let j = jFrom; j < Math.min(jTo, include); j++) {
    const cj = j * m;
    for (let e = colStart[j]; e < colStart[j + 1]; e++) {
      const qs = colQ[e];
      const end = colEnd[e];
      if (k === 1) {
        const ws = w[qs];
        let sum = g[j + cj] * ws;
        for (let qr = qs + 1; qr < end && idx[qr] < include; qr++) sum += 2 * g[idx[qr] + cj] * w[qr];
        out[0] -= sum * ws;
        continue;
      }
      for (let qr = qs; qr < end && idx[qr] < include; qr++) {
        const gv = g[idx[qr] + cj];
        for (let b = 0; b < k; b++)
          for (let a = 0; a < k; a++) {
            const pair = w[qr * k + a] * w[qs * k + b] + (qr === qs ? 0 : w[qs * k + a] * w[qr * k + b]);
            out[a + b * k] -= gv * pair;
          }
      }
    }
  }
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
