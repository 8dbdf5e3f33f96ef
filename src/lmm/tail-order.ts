/**
 * The tail's layout (MixedModels.jl orders its blocks the same way): which rows the other terms'
 * levels take, in an order that keeps the tail's Cholesky factor sparse, and its structure.
 */
import { minimumDegree, range } from '../linalg/ordering';
import { observationsByLevel } from './first-block';
import type { ReTerm } from './reterm';

/** Tail terms with at most this many rows are cheap: profiled out where the rest of the tail is wide. */
const CHEAP_ROWS = 64;
/** ... wide meaning at least this many rows of other terms */
const PROFILE_MIN_ROWS = 256;

/**
 * The tail's layout: the levels of terms 2..m in a minimum-degree order of the graph in which
 * two levels are joined when a level of the first term (eliminated before them) co-occurs with
 * both, each level's k rows together; then X and y, which every column reaches. Where the tail
 * is wide, terms with few rows (cheap: InstEval's 28 dept:service) come last, before X and y and
 * like them reached by every column, so that their theta only rescales the trailing block
 * (`CheapTermProfile`). Returns the first row of each level, where the cheap rows start (tailRe if
 * none), and the rows of each column of the tail's Cholesky factor.
 */
export function orderTail(terms: ReTerm[], p: number): { levelRows: Int32Array[]; tailRe: number; cheapFrom: number; structure: Int32Array[] } {
  const rowsOf = (ti: number) => terms[ti].nlevels * terms[ti].k;
  const tailTerms = terms.map((_, ti) => ti).slice(1);
  const small = tailTerms.filter((ti) => rowsOf(ti) <= CHEAP_ROWS);
  const wide = tailTerms.filter((ti) => rowsOf(ti) > CHEAP_ROWS).reduce((sum, ti) => sum + rowsOf(ti), 0) >= PROFILE_MIN_ROWS;
  const cheap = new Set(wide ? small : []);
  const nodeBase = terms.map(() => -1);
  let nodes = 0;
  for (const ti of tailTerms)
    if (!cheap.has(ti)) {
      nodeBase[ti] = nodes;
      nodes += terms[ti].nlevels;
    }
  const nodeRows = new Int32Array(nodes);
  for (const ti of tailTerms) if (!cheap.has(ti)) nodeRows.fill(terms[ti].k, nodeBase[ti], nodeBase[ti] + terms[ti].nlevels);
  const { order, structure: nodeStructure } = minimumDegree(nodes, firstLevelCliques(terms, nodeBase, nodes));
  const nodeStart = new Int32Array(nodes);
  let row = 0;
  for (const v of order) {
    nodeStart[v] = row;
    row += nodeRows[v];
  }
  const cheapFrom = row;
  const levelRows: Int32Array[] = terms.map(() => new Int32Array(0));
  for (const ti of tailTerms)
    if (cheap.has(ti)) {
      levelRows[ti] = Int32Array.from({ length: terms[ti].nlevels }, (_, l) => row + l * terms[ti].k);
      row += rowsOf(ti);
    } else levelRows[ti] = nodeStart.slice(nodeBase[ti], nodeBase[ti] + terms[ti].nlevels);
  const tailRe = row;
  const m = tailRe + p + 1;
  const structure: Int32Array[] = new Array(m);
  order.forEach((v, j) => {
    const neighbours = nodeStructure[j];
    let below = 0;
    for (const q of neighbours) below += nodeRows[order[q]];
    const k = nodeRows[v];
    const s = nodeStart[v];
    for (let a = 0; a < k; a++) {
      // the level's own later rows, its neighbours' rows (ascending with their positions), then
      // the cheap terms' rows, X and y
      const rows = new Int32Array(k - a - 1 + below + m - cheapFrom);
      let c = 0;
      for (let b = a + 1; b < k; b++) rows[c++] = s + b;
      for (const q of neighbours) for (let b = 0; b < nodeRows[order[q]]; b++) rows[c++] = nodeStart[order[q]] + b;
      for (let i = cheapFrom; i < m; i++) rows[c++] = i;
      structure[s + a] = rows;
    }
  });
  for (let i = cheapFrom; i < m; i++) structure[i] = range(i + 1, m);
  return { levelRows, tailRe, cheapFrom, structure };
}

/** Per level of the first term, the tail levels (node ids; terms without a node base left out) its observations touch. */
function firstLevelCliques(terms: ReTerm[], nodeBase: number[], nodes: number): Int32Array[] {
  if (terms.length < 2) return [];
  const first = terms[0];
  const touched: number[][] = Array.from({ length: first.nlevels }, () => []);
  const marker = new Int32Array(nodes).fill(-1);
  // level by level, so the marker needs no reset
  const { start, rows } = observationsByLevel(first);
  for (let l = 0; l < first.nlevels; l++)
    for (let q = start[l]; q < start[l + 1]; q++)
      for (let ti = 1; ti < terms.length; ti++) {
        if (nodeBase[ti] < 0) continue;
        const v = nodeBase[ti] + terms[ti].codes[rows[q]];
        if (marker[v] !== l) {
          marker[v] = l;
          touched[l].push(v);
        }
      }
  return touched.map((t) => Int32Array.from(t));
}
