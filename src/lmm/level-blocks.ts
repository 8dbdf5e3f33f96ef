/**
 * Lambda applied to the level blocks of a dense symmetric matrix in the tail's layout (each
 * level of a vector term owns k consecutive rows), in place: how the tail's cross-products and
 * the cheap terms' trailing block take a term's lambda.
 */

/**
 * T <- Lambda' T Lambda for the level blocks [r0, r0 + k) (r0 in `levelRows`) of one vector
 * term, in place: output a only needs inputs b >= a, so ascending a never reads an overwritten value.
 */
export function transformLevelBlocks(t: Float64Array, m: number, lam: Float64Array, k: number, levelRows: Int32Array): void {
  transformLevelRows(t, m, lam, k, levelRows, m);
  for (let l = 0; l < levelRows.length; l++) {
    const r0 = levelRows[l];
    for (let a = 0; a < k; a++) {
      const ca = (r0 + a) * m;
      for (let i = 0; i < m; i++) {
        let v = 0;
        for (let b = a; b < k; b++) v += t[i + (r0 + b) * m] * lam[b + a * k];
        t[ca + i] = v;
      }
    }
  }
}

/** The rows half of transformLevelBlocks, on the first `columns` columns: T <- Lambda' T. */
export function transformLevelRows(t: Float64Array, m: number, lam: Float64Array, k: number, levelRows: Int32Array, columns: number): void {
  for (let j = 0; j < columns; j++) {
    const cj = j * m;
    for (let l = 0; l < levelRows.length; l++) {
      const r0 = levelRows[l];
      for (let a = 0; a < k; a++) {
        let v = 0;
        for (let b = a; b < k; b++) v += lam[b + a * k] * t[r0 + b + cj];
        t[r0 + a + cj] = v;
      }
    }
  }
}
