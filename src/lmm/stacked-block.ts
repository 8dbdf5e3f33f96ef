/**
 * Single-term models whose levels mostly differ in Z_l'Z_l (a random slope on continuous time:
 * every subject has its own M_l, so nothing can be shared between levels). The first block
 * couples only with [X y], level l through W_l = Z_l'[X y], and W_l is nonzero on few columns
 * where X holds factors (site, sex) and subject-level covariates: a subject touches its own
 * site's column only. Levels are grouped by that column pattern; an evaluation forms
 * T_l = L_l^{-1} lambda' W_l on the pattern's c columns, adds T_l'T_l to the pattern's small
 * dense block, and subtracts each pattern's block from the tail once. The cost per evaluation
 * is about nlevels (k^2 c + k c^2 / 2) rather than nlevels k^2 P^2 / 2.
 */
import { factorLevelBlock, lowerInverse, type FirstBlock, type LevelCrossproducts } from './first-block';
import type { ReTerm } from './reterm';

export class StackedFirstBlock implements FirstBlock {
  private readonly k: number;
  private readonly P: number;
  private readonly nlevels: number;
  /** per level M_l, k x k column-major */
  private readonly M: Float64Array;
  /** per pattern, its tail columns (ascending; the y column, P - 1, always last) */
  private readonly patternColumns: Int32Array[];
  /** levels in pattern order: pattern q's are levels[patternStart[q] .. patternStart[q+1]) */
  private readonly levels: Int32Array;
  private readonly patternStart: Int32Array;
  /** per level, where its k x c block starts in W and T (column-major: entry (a, i) at + a + i k) */
  private readonly offset: Int32Array;
  /** W_l on the pattern's columns */
  private readonly W: Float64Array;
  /** after `eliminate`: T_l = L_l^{-1} lambda' W_l, and L_l per level (k x k) */
  private readonly T: Float64Array;
  private readonly factors: Float64Array;
  /** per pattern a c x c block (T'T summed over its levels), at accOffset[q] */
  private readonly acc: Float64Array;
  private readonly accOffset: Int32Array;
  private readonly h: Float64Array;
  private readonly work: Float64Array;

  constructor(
    private readonly term: ReTerm,
    cross: LevelCrossproducts,
    P: number,
  ) {
    const { k, nlevels } = term;
    this.k = k;
    this.P = P;
    this.nlevels = nlevels;
    this.M = cross.M;
    // each level's nonzero columns of [X y] (y always), keyed as text to find shared patterns
    const patternOf = new Int32Array(nlevels);
    const keys = new Map<string, number>();
    const columns: Int32Array[] = [];
    const used: number[] = [];
    for (let l = 0; l < nlevels; l++) {
      used.length = 0;
      for (let j = 0; j < P - 1; j++) {
        let nonzero = false;
        for (let a = 0; a < k && !nonzero; a++) nonzero = cross.W[(l * k + a) * P + j] !== 0;
        if (nonzero) used.push(j);
      }
      used.push(P - 1);
      const key = used.join(',');
      let q = keys.get(key);
      if (q === undefined) {
        q = columns.length;
        keys.set(key, q);
        columns.push(Int32Array.from(used));
      }
      patternOf[l] = q;
    }
    this.patternColumns = columns;
    const npatterns = columns.length;
    this.patternStart = new Int32Array(npatterns + 1);
    for (let l = 0; l < nlevels; l++) this.patternStart[patternOf[l] + 1]++;
    for (let q = 0; q < npatterns; q++) this.patternStart[q + 1] += this.patternStart[q];
    const fill = this.patternStart.slice(0, npatterns);
    this.levels = new Int32Array(nlevels);
    for (let l = 0; l < nlevels; l++) this.levels[fill[patternOf[l]]++] = l;
    this.offset = new Int32Array(nlevels);
    let size = 0;
    for (const l of this.levels) {
      this.offset[l] = size;
      size += k * columns[patternOf[l]].length;
    }
    this.W = new Float64Array(size);
    for (let l = 0; l < nlevels; l++) {
      const cols = columns[patternOf[l]];
      cols.forEach((j, i) => {
        for (let a = 0; a < k; a++) this.W[this.offset[l] + a + i * k] = cross.W[(l * k + a) * P + j];
      });
    }
    this.T = new Float64Array(size);
    this.factors = new Float64Array(nlevels * k * k);
    this.accOffset = new Int32Array(npatterns);
    let accSize = 0;
    columns.forEach((cols, q) => {
      this.accOffset[q] = accSize;
      accSize += cols.length * cols.length;
    });
    this.acc = new Float64Array(accSize);
    this.h = new Float64Array(k * k);
    this.work = new Float64Array(Math.max(k * k, 2 * P));
  }

  /** Multiply-adds per evaluation, to choose between this and the grouped strategy. */
  static cost(k: number, columnsPerLevel: number, nlevels: number): number {
    return nlevels * (k * k * columnsPerLevel + (k * columnsPerLevel * columnsPerLevel) / 2);
  }

  eliminate(tail: Float64Array, m: number): number {
    const { k, M, W, T, factors, acc, h } = this;
    const lam = this.term.lambda;
    const kk = k * k;
    acc.fill(0);
    let logdet = 0;
    for (let q = 0; q + 1 < this.patternStart.length; q++) {
      const c = this.patternColumns[q].length;
      const a0 = this.accOffset[q];
      if (k === 2) {
        const ld = this.eliminatePattern2(q, c, a0);
        if (!Number.isFinite(ld)) return Infinity;
        logdet += ld;
        continue;
      }
      for (let s = this.patternStart[q]; s < this.patternStart[q + 1]; s++) {
        const l = this.levels[s];
        const ld = factorLevelBlock(lam, M, l * kk, k, h, this.work);
        if (!Number.isFinite(ld)) return Infinity;
        logdet += ld;
        factors.set(h, l * kk);
        const o = this.offset[l];
        if (k === 1) {
          const scale = lam[0] / h[0];
          for (let i = 0; i < c; i++) T[o + i] = W[o + i] * scale;
          for (let j = 0; j < c; j++) {
            const tj = T[o + j];
            const col = a0 + j * c;
            for (let i = j; i < c; i++) acc[col + i] += T[o + i] * tj;
          }
          continue;
        }
        // T_l = L_l^{-1} lambda' W_l, column by column
        for (let i = 0; i < c; i++) {
          const ci = o + i * k;
          for (let a = 0; a < k; a++) {
            let v = 0;
            for (let b = a; b < k; b++) v += lam[b + a * k] * W[ci + b];
            for (let b = 0; b < a; b++) v -= h[a + b * k] * T[ci + b];
            T[ci + a] = v / h[a + a * k];
          }
        }
        for (let j = 0; j < c; j++) {
          const cj = o + j * k;
          const col = a0 + j * c;
          for (let i = j; i < c; i++) {
            const ci = o + i * k;
            let v = 0;
            for (let a = 0; a < k; a++) v += T[ci + a] * T[cj + a];
            acc[col + i] += v;
          }
        }
      }
    }
    this.patternColumns.forEach((cols, q) => {
      const c = cols.length;
      const a0 = this.accOffset[q];
      for (let j = 0; j < c; j++) for (let i = j; i < c; i++) tail[cols[i] + cols[j] * m] -= acc[a0 + i + j * c];
    });
    return logdet;
  }

  /**
   * `eliminate` for one pattern of a 2 x 2 term (intercept and slope), written out: the case
   * that longitudinal designs spend their time in. Returns the levels' sum of log|H_l|.
   */
  private eliminatePattern2(q: number, c: number, a0: number): number {
    const { M, W, T, factors, acc } = this;
    const lam = this.term.lambda;
    const l00 = lam[0];
    const l10 = lam[1];
    const l11 = lam[3];
    let logdet = 0;
    for (let s = this.patternStart[q]; s < this.patternStart[q + 1]; s++) {
      const l = this.levels[s];
      const f = 4 * l;
      const m00 = M[f];
      const m10 = M[f + 1];
      const m11 = M[f + 3];
      // H = lambda' M lambda + I, lambda lower triangular
      const a = m00 * l00 + m10 * l10;
      const b = m10 * l00 + m11 * l10;
      const h00 = l00 * a + l10 * b + 1;
      const h10 = l11 * b;
      const h11 = l11 * l11 * m11 + 1;
      if (!(h00 > 0)) return Infinity;
      const c00 = Math.sqrt(h00);
      const c10 = h10 / c00;
      const d = h11 - c10 * c10;
      if (!(d > 0)) return Infinity;
      const c11 = Math.sqrt(d);
      logdet += Math.log(h00 * d);
      factors[f] = c00;
      factors[f + 1] = c10;
      factors[f + 2] = 0;
      factors[f + 3] = c11;
      const o = this.offset[l];
      const e = o + 2 * c;
      for (let i = o; i < e; i += 2) {
        const w0 = W[i];
        const w1 = W[i + 1];
        const t0 = (l00 * w0 + l10 * w1) / c00;
        T[i] = t0;
        T[i + 1] = (l11 * w1 - c10 * t0) / c11;
      }
      for (let j = 0; j < c; j++) {
        const tj0 = T[o + 2 * j];
        const tj1 = T[o + 2 * j + 1];
        const col = a0 + j * c;
        for (let i = j; i < c; i++) acc[col + i] += T[o + 2 * i] * tj0 + T[o + 2 * i + 1] * tj1;
      }
    }
    return logdet;
  }

  /** u_l = L_l^{-T} T_l r with r = (-beta, 1) on the level's columns. */
  solve(v: Float64Array): Float64Array {
    const k = this.k;
    const u = new Float64Array(this.nlevels * k);
    this.forEachLevelModes(v, (l, ul) => u.set(ul, l * k));
    return u;
  }

  /** Calls back with each level and its u_l (a reused k-vector); v is beta (the tail is [X y]). */
  private forEachLevelModes(v: Float64Array, each: (l: number, ul: Float64Array) => void): void {
    const { k, T, factors } = this;
    const ul = new Float64Array(k);
    for (let q = 0; q + 1 < this.patternStart.length; q++) {
      const cols = this.patternColumns[q];
      const c = cols.length;
      for (let s = this.patternStart[q]; s < this.patternStart[q + 1]; s++) {
        const l = this.levels[s];
        const o = this.offset[l];
        for (let a = 0; a < k; a++) {
          let x = T[o + a + (c - 1) * k];
          for (let i = 0; i < c - 1; i++) x -= T[o + a + i * k] * v[cols[i]];
          ul[a] = x;
        }
        // L_l' u = x
        const f = l * k * k;
        for (let a = k - 1; a >= 0; a--) {
          let x = ul[a];
          for (let b = a + 1; b < k; b++) x -= factors[f + b + a * k] * ul[b];
          ul[a] = x / factors[f + a + a * k];
        }
        each(l, ul);
      }
    }
  }

  /**
   * I - G_ll = I - L_l^{-T} (I + Tx_l G_x Tx_l') L_l^{-1}, Tx_l the level's T on the included
   * columns and G_x the inverse of the tail there (gathered once per pattern).
   */
  addGradientTerms(g22: Float64Array, m: number, include: number, v: Float64Array, S: Float64Array, U: Float64Array): void {
    const { k, T, factors } = this;
    const kk = k * k;
    const Li = new Float64Array(kk);
    const N = new Float64Array(kk);
    const R = new Float64Array(k * this.P);
    for (let q = 0; q + 1 < this.patternStart.length; q++) {
      const cols = this.patternColumns[q];
      let cx = 0;
      while (cx < cols.length && cols[cx] < include) cx++;
      const G = new Float64Array(cx * cx);
      for (let j = 0; j < cx; j++)
        for (let i = j; i < cx; i++) {
          const g = g22[cols[i] + cols[j] * m];
          G[i + j * cx] = g;
          G[j + i * cx] = g;
        }
      if (k === 2) {
        this.addLevelTerms2(q, G, cx, S);
        continue;
      }
      for (let s = this.patternStart[q]; s < this.patternStart[q + 1]; s++) {
        const l = this.levels[s];
        const o = this.offset[l];
        // R = Tx G (k x cx), N = I + R Tx'
        for (let j = 0; j < cx; j++)
          for (let a = 0; a < k; a++) {
            let x = 0;
            for (let i = 0; i < cx; i++) x += T[o + a + i * k] * G[i + j * cx];
            R[a + j * k] = x;
          }
        for (let b = 0; b < k; b++)
          for (let a = 0; a < k; a++) {
            let x = a === b ? 1 : 0;
            for (let j = 0; j < cx; j++) x += R[a + j * k] * T[o + b + j * k];
            N[a + b * k] = x;
          }
        lowerInverse(factors, l * kk, k, Li);
        // S += I - Li' N Li
        for (let b = 0; b < k; b++)
          for (let a = 0; a < k; a++) {
            let x = 0;
            for (let c = a; c < k; c++) for (let d = b; d < k; d++) x += Li[c + a * k] * N[c + d * k] * Li[d + b * k];
            S[a + b * k] += (a === b ? 1 : 0) - x;
          }
      }
    }
    this.forEachLevelModes(v, (_, ul) => {
      for (let b = 0; b < k; b++) for (let a = 0; a < k; a++) U[a + b * k] += ul[a] * ul[b];
    });
  }

  /** `addGradientTerms`' sum of I - G_ll over one pattern's levels, for a 2 x 2 term, written out. */
  private addLevelTerms2(q: number, G: Float64Array, cx: number, S: Float64Array): void {
    const { T, factors } = this;
    let s00 = 0;
    let s01 = 0;
    let s11 = 0;
    for (let s = this.patternStart[q]; s < this.patternStart[q + 1]; s++) {
      const l = this.levels[s];
      const o = this.offset[l];
      // N = I + Tx G Tx'
      let n00 = 1;
      let n01 = 0;
      let n11 = 1;
      for (let j = 0; j < cx; j++) {
        let g0 = 0;
        let g1 = 0;
        const col = j * cx;
        for (let i = 0; i < cx; i++) {
          const g = G[col + i];
          g0 += T[o + 2 * i] * g;
          g1 += T[o + 2 * i + 1] * g;
        }
        const t0 = T[o + 2 * j];
        const t1 = T[o + 2 * j + 1];
        n00 += g0 * t0;
        n01 += g0 * t1;
        n11 += g1 * t1;
      }
      // G_ll = L^{-T} N L^{-1}, L = [c00 0; c10 c11]
      const f = 4 * l;
      const i00 = 1 / factors[f];
      const i11 = 1 / factors[f + 3];
      const i10 = -factors[f + 1] * i00 * i11;
      s00 += 1 - (i00 * i00 * n00 + 2 * i00 * i10 * n01 + i10 * i10 * n11);
      s01 -= (i00 * n01 + i10 * n11) * i11;
      s11 += 1 - i11 * i11 * n11;
    }
    S[0] += s00;
    S[1] += s01;
    S[2] += s01;
    S[3] += s11;
  }

  /** Z_l'y into each level's y column. */
  setResponse(zty: ArrayLike<number>): void {
    const k = this.k;
    for (let q = 0; q + 1 < this.patternStart.length; q++) {
      const c = this.patternColumns[q].length;
      for (let s = this.patternStart[q]; s < this.patternStart[q + 1]; s++) {
        const l = this.levels[s];
        const o = this.offset[l] + (c - 1) * k;
        for (let a = 0; a < k; a++) this.W[o + a] = zty[l * k + a];
      }
    }
  }

  refreshL21(): void {}
}
