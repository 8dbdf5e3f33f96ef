/**
 * The left factor of C += A' B for the row-major products of the whole-brain engine (B: rows of
 * responses in kernel memory), split by sparsity: A's dense columns go through the crossprodRows
 * kernel (a tile of C in registers down the rows), its sparse columns, such as the indicator
 * columns of a factor (one site of twenty per image), through scatterRows, one entry per row at
 * a time; each costs its own multiply-adds rather than a dense column's.
 */
import type { KernelMemory } from './kernels';

/** A column is sparse with at most this share of nonzero rows. */
const SPARSE_SHARE = 0.25;

export class RowFactor {
  /** dense columns, padded with zero columns to a multiple of 4 (the kernel's tile) */
  readonly denseWidth: number;
  /** C's rows: the dense columns', then the sparse ones', then one that absorbs rows without a sparse entry */
  readonly rows: number;
  /** the row of C of each column of A */
  readonly rowOf: Int32Array;
  /** the kernel memory (doubles) of `write` */
  readonly doubles: number;
  /** the dense columns, row-major (rows of denseWidth) */
  private readonly denseRows: Float64Array;
  /** per layer t and row r, the row of C and the value of r's t-th sparse entry */
  private readonly layerRow: Int32Array;
  private readonly layerValue: Float64Array;
  private readonly layers: number;

  /**
   * A (m x a): entry (r, j) at data[row(r) rowStride + j columnStride], row(r) = rowMap[r] (r
   * without a map).
   */
  constructor(
    private readonly m: number,
    a: number,
    data: Float64Array,
    rowStride: number,
    columnStride: number,
    rowMap?: Int32Array,
  ) {
    const columns = Array.from({ length: a }, (_, j) => column(data, m, rowStride, j * columnStride, rowMap));
    let sparse: number[] = [];
    for (let j = 0; j < a; j++) if (nonzeros(columns[j]) <= SPARSE_SHARE * m) sparse.push(j);
    const perRow = new Int32Array(m);
    for (const j of sparse) countNonzeros(columns[j], perRow);
    let layers = 0;
    for (let r = 0; r < m; r++) if (perRow[r] > layers) layers = perRow[r];
    // scattering costs a pass per layer, a dense column a pass of its own
    if (layers >= sparse.length) {
      sparse = [];
      layers = 0;
    }
    const isSparse = new Uint8Array(a);
    for (const j of sparse) isSparse[j] = 1;
    const dense: number[] = [];
    for (let j = 0; j < a; j++) if (!isSparse[j]) dense.push(j);
    const width = (dense.length + 3) & ~3;
    this.denseWidth = width;
    this.rowOf = new Int32Array(a);
    this.denseRows = new Float64Array(m * width);
    dense.forEach((j, i) => {
      this.rowOf[j] = i;
      const x = columns[j];
      for (let r = 0, o = i; r < m; r++, o += width) this.denseRows[o] = x[r];
    });
    sparse.forEach((j, i) => (this.rowOf[j] = width + i));
    this.rows = width + sparse.length + (layers > 0 ? 1 : 0);
    this.layers = layers;
    this.layerRow = new Int32Array(layers * m).fill(this.rows - 1);
    this.layerValue = new Float64Array(layers * m);
    const filled = new Int32Array(m);
    for (const j of sparse) {
      const x = columns[j];
      const row = this.rowOf[j];
      for (let r = 0; r < m; r++) {
        if (x[r] === 0) continue;
        const e = filled[r]++ * m + r;
        this.layerRow[e] = row;
        this.layerValue[e] = x[r];
      }
    }
    this.doubles = m * width + layers * m + Math.ceil((layers * m) / 2);
  }

  /** Its inputs into `kernels` from `at`: the dense columns row-major, the layers' values and rows. */
  write(kernels: KernelMemory, at: number): void {
    const { m, denseWidth, layers } = this;
    kernels.f64.set(this.denseRows, at);
    kernels.f64.set(this.layerValue, at + m * denseWidth);
    kernels.i32.set(this.layerRow, 2 * (at + m * denseWidth + layers * m));
  }

  /**
   * C (`rows` rows of width) += A[from, from + count)' B, B's rows of width (a multiple of 4)
   * from b, A's inputs written at `at`.
   */
  addProducts(kernels: KernelMemory, at: number, c: number, b: number, width: number, from: number, count: number): void {
    const { m, denseWidth, layers } = this;
    if (denseWidth > 0) kernels.crossprodRows(c, at + from * denseWidth, denseWidth, b, width, count);
    const values = at + m * denseWidth;
    const rowsAt = 2 * (values + layers * m);
    for (let t = 0; t < layers; t++) kernels.scatterRows(c, b, width, rowsAt + t * m + from, values + t * m + from, count);
  }
}

/** Column o of data (rows rowStride apart, row r at rowMap[r] if mapped): in place where contiguous. */
function column(data: Float64Array, m: number, rowStride: number, o: number, rowMap?: Int32Array): Float64Array {
  if (!rowMap && rowStride === 1) return data.subarray(o, o + m);
  const x = new Float64Array(m);
  for (let r = 0; r < m; r++) x[r] = data[(rowMap ? rowMap[r] : r) * rowStride + o];
  return x;
}

function nonzeros(x: Float64Array): number {
  let count = 0;
  for (let r = 0; r < x.length; r++) if (x[r] !== 0) count++;
  return count;
}

/** perRow[r] += 1 where x[r] is not zero */
function countNonzeros(x: Float64Array, perRow: Int32Array): void {
  for (let r = 0; r < x.length; r++) if (x[r] !== 0) perRow[r]++;
}
