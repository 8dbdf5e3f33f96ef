/**
 * Fill-reducing ordering for the sparse Cholesky factorization of crossed random effects.
 *
 * Exact minimum degree on the explicit elimination graph, held as one bit set per node: with
 * the few thousand nodes of a random-effects tail (InstEval's 1128 lecturers and 28 departments)
 * a node's elimination is a handful of word-wise ORs per neighbour, so the whole ordering costs
 * milliseconds and the factor's structure falls out of it for free: the rows below the diagonal
 * of a node's column are its neighbours at the moment it is eliminated.
 */

export interface Elimination {
  /** order[j]: the node eliminated j-th */
  order: Int32Array;
  /** per position j, the positions (> j, ascending) of the rows below the diagonal of column j of L */
  structure: Int32Array[];
}

/**
 * Minimum-degree elimination of the graph on `n` nodes whose edges join every pair of nodes
 * within each clique (a clique: nodes that share a row of the design, or a level of a factor
 * eliminated before them). Ties go to the lowest node, so the result is deterministic.
 */
export function minimumDegree(n: number, cliques: Iterable<ArrayLike<number>>): Elimination {
  const words = (n + 31) >>> 5;
  // Int32 words: V8 keeps them in registers where Uint32 values above 2^31 become doubles
  const adjacency = new Int32Array(n * words);
  // each clique as a bit set over the words it touches, ORed into its members' rows
  const mask = new Int32Array(words);
  const touched = new Int32Array(words);
  for (const clique of cliques) {
    let t = 0;
    for (let a = 0; a < clique.length; a++) {
      const w = clique[a] >>> 5;
      if (mask[w] === 0) touched[t++] = w;
      mask[w] |= 1 << (clique[a] & 31);
    }
    for (let a = 0; a < clique.length; a++) {
      const row = clique[a] * words;
      for (let i = 0; i < t; i++) adjacency[row + touched[i]] |= mask[touched[i]];
    }
    for (let i = 0; i < t; i++) mask[touched[i]] = 0;
  }
  const degree = new Int32Array(n);
  for (let v = 0; v < n; v++) {
    adjacency[v * words + (v >>> 5)] &= ~(1 << (v & 31));
    degree[v] = popcount(adjacency, v * words, words);
  }
  const eliminated = new Uint8Array(n);
  const order = new Int32Array(n);
  const neighbours: Int32Array[] = new Array(n);
  /** from here on the nodes form one clique (the dense trailing block of L) */
  let cliqueFrom = n;
  for (let j = 0; j < n; j++) {
    let v = -1;
    for (let u = 0; u < n; u++) if (!eliminated[u] && (v < 0 || degree[u] < degree[v])) v = u;
    if (degree[v] === n - j - 1) {
      // any order of a clique is as good
      let p = j;
      for (let u = 0; u < n; u++) if (!eliminated[u]) order[p++] = u;
      cliqueFrom = j;
      break;
    }
    order[j] = v;
    eliminated[v] = 1;
    const vRow = v * words;
    const list = bits(adjacency, vRow, words, degree[v]);
    neighbours[v] = list;
    // the neighbours of v become a clique, and v leaves the graph: each gains v's other
    // neighbours (counted as the bits that are new) and loses v
    for (let q = 0; q < list.length; q++) {
      const u = list[q];
      const uRow = u * words;
      let d = degree[u];
      for (let w = 0; w < words; w++) {
        const old = adjacency[uRow + w];
        const now = old | adjacency[vRow + w];
        if (now !== old) {
          adjacency[uRow + w] = now;
          d += BITS16[(now ^ old) & 0xffff] + BITS16[(now ^ old) >>> 16];
        }
      }
      // u's own bit came with v's row, and v's bit goes
      adjacency[uRow + (u >>> 5)] &= ~(1 << (u & 31));
      adjacency[uRow + (v >>> 5)] &= ~(1 << (v & 31));
      degree[u] = d - 2;
    }
  }
  const position = new Int32Array(n);
  order.forEach((v, j) => (position[v] = j));
  const structure: Int32Array[] = new Array(n);
  for (let j = 0; j < n; j++) structure[j] = j < cliqueFrom ? relabel(neighbours[order[j]], position) : range(j + 1, n);
  return postorder(order, structure);
}

/** the labels of `nodes` under `label`, ascending */
function relabel(nodes: Int32Array, label: Int32Array): Int32Array {
  const out = new Int32Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) out[i] = label[nodes[i]];
  return out.sort();
}

/** from, from + 1, ..., to - 1 */
export function range(from: number, to: number): Int32Array {
  const out = new Int32Array(Math.max(0, to - from));
  for (let i = 0; i < out.length; i++) out[i] = from + i;
  return out;
}

/**
 * The same elimination in a postorder of its elimination tree (parent of j: the first row below
 * j), which leaves the factor's fill unchanged but puts each column right after its last child,
 * so that chains of columns with nested structure are contiguous supernodes.
 */
function postorder(order: Int32Array, structure: Int32Array[]): Elimination {
  const n = order.length;
  const children: number[][] = Array.from({ length: n }, () => []);
  const roots: number[] = [];
  for (let j = 0; j < n; j++) (structure[j].length ? children[structure[j][0]] : roots).push(j);
  const post = new Int32Array(n);
  let next = 0;
  const stack: [number, number][] = roots.reverse().map((r) => [r, 0]);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [j, c] = top;
    if (c < children[j].length) {
      top[1]++;
      stack.push([children[j][c], 0]);
    } else {
      post[next++] = j;
      stack.pop();
    }
  }
  const newPosition = new Int32Array(n);
  post.forEach((j, q) => (newPosition[j] = q));
  const newOrder = new Int32Array(n);
  const newStructure: Int32Array[] = new Array(n);
  for (let q = 0; q < n; q++) {
    newOrder[q] = order[post[q]];
    newStructure[q] = relabel(structure[post[q]], newPosition);
  }
  return { order: newOrder, structure: newStructure };
}

/** bits set in each 16-bit number */
const BITS16 = (() => {
  const table = new Uint8Array(65536);
  for (let i = 1; i < 65536; i++) table[i] = table[i >>> 1] + (i & 1);
  return table;
})();

function popcount(set: Int32Array, start: number, words: number): number {
  let count = 0;
  for (let w = start; w < start + words; w++) {
    const x = set[w];
    count += BITS16[x & 0xffff] + BITS16[x >>> 16];
  }
  return count;
}

function bits(set: Int32Array, start: number, words: number, count: number): Int32Array {
  const out = new Int32Array(count);
  let c = 0;
  for (let w = 0; w < words; w++) for (let x = set[start + w]; x !== 0; x &= x - 1) out[c++] = (w << 5) + (31 - Math.clz32(x & -x));
  return out;
}
