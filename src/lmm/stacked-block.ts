/**
 * Single-term models whose levels mostly differ in Z_l'Z_l (a random slope on continuous time:
 * every subject has its own M_l, so nothing can be shared between levels). The first block
 * couples only with [X y], level l through W_l = Z_l'[X y], and W_l is nonzero on few columns
 * where X holds factors (site, sex) and subject-level covariates: a subject touches its own
 * site's column only. Levels are grouped by that column pattern, and each pattern's W_l are
 * stacked into one column-major matrix (k rows per level, c columns). An evaluation forms
 * T_l = L_l^{-1} lambda' W_l into the same layout and subtracts T'T, c x c, from the tail on the
 * pattern's columns: long contiguous dot products instead of a k x k x P x P loop per level.
 * The cost per evaluation is about nlevels (k^2 c + k c^2 / 2).
 */
import { ModelError } from '../errors';
import { choleskyLower } from '../linalg/dense';
import { KernelMemory } from '../linalg/kernels';
import { factorLevelBlock, lowerInverse, type FirstBlock, type LevelCrossproducts } from './first-block';
import type { ReTerm } from './reterm';

/** One column pattern: its levels stacked, k rows each. */
interface Pattern {
  /** tail columns (ascending; the y column, P - 1, last) */
  columns: Int32Array;
  /** its levels, in stacking order */
  levels: Int32Array;
  /** where its R x c block starts in W, T and the gradient's work matrix */
  base: number;
  /** rows: k per level */
  rows: number;
}

export class StackedFirstBlock implements FirstBlock {
  private readonly k: number;
  private readonly nlevels: number;
  /** per level M_l, k x k column-major */
  private readonly M: Float64Array;
  private readonly patterns: Pattern[];
  /** W_l on its pattern's columns, stacked per pattern */
  private readonly W: Float64Array;
  /** after `eliminate`: T_l = L_l^{-1} lambda' W_l (W's layout, in `kernels`), and L_l per level (k x k) */
  private readonly T: Float64Array;
  /** the memory T'T is formed in by the crossprod kernel, and where in it the products land */
  private readonly kernels: KernelMemory;
  private readonly products: number;
  private readonly factors: Float64Array;
  /** work: T G in the gradient, per pattern in W's layout */
  private readonly Y: Float64Array;
  private readonly h: Float64Array;
  private readonly work: Float64Array;
  /** the gradient's buffers: the modes, a pattern's Cholesky factor of G and its levels' N_l */
  private modesWork?: Float64Array;
  private levelWork?: Float64Array;
  private residualWork?: Float64Array;
  private gWork?: Float64Array;
  private nWork?: Float64Array;
  private readonly maxLevels: number;
  private readonly maxColumns: number;

  constructor(
    private readonly term: ReTerm,
    cross: LevelCrossproducts,
    P: number,
  ) {
    const { k, nlevels } = term;
    this.k = k;
    this.nlevels = nlevels;
    this.M = cross.M;
    // each level's nonzero columns of [X y] (y always), keyed as text to find shared patterns
    const keys = new Map<string, number>();
    const columns: Int32Array[] = [];
    const members: number[][] = [];
    const used: number[] = [];
    for (let l = 0; l < nlevels; l++) {
      levelColumns(cross.W, k, P, l, used);
      const key = used.join(',');
      let q = keys.get(key);
      if (q === undefined) {
        q = columns.length;
        keys.set(key, q);
        columns.push(Int32Array.from(used));
        members.push([]);
      }
      members[q].push(l);
    }
    let size = 0;
    this.patterns = columns.map((cols, q) => {
      // an even number of rows (a zero row after an odd count), as the crossprod kernel reads pairs
      const rows = k * members[q].length;
      const pattern = { columns: cols, levels: Int32Array.from(members[q]), base: size, rows: rows + (rows & 1) };
      size += pattern.rows * cols.length;
      return pattern;
    });
    this.W = new Float64Array(size);
    for (const { columns: cols, levels, base, rows } of this.patterns)
      levels.forEach((l, s) => {
        cols.forEach((j, i) => {
          for (let a = 0; a < k; a++) this.W[base + k * s + a + i * rows] = cross.W[(l * k + a) * P + j];
        });
      });
    this.Y = new Float64Array(size);
    this.maxLevels = this.patterns.reduce((most, q) => Math.max(most, q.levels.length), 0);
    this.maxColumns = columns.reduce((most, c) => Math.max(most, c.length), 0);
    // T lives in kernel memory, followed by a spare column the kernel reads past the last
    // pattern, then the c x c products it leaves
    const maxRows = this.patterns.reduce((most, q) => Math.max(most, q.rows), 0);
    this.products = size + maxRows;
    this.kernels = KernelMemory.allocate(this.products + this.maxColumns ** 2);
    this.T = this.kernels.f64.subarray(0, size);
    this.factors = new Float64Array(nlevels * k * k);
    this.h = new Float64Array(k * k);
    this.work = new Float64Array(k * k);
  }

  /** Multiply-adds per evaluation (levels touching c_l columns), to choose between this and the grouped strategy. */
  static cost(cross: LevelCrossproducts, k: number, P: number, nlevels: number): number {
    const used: number[] = [];
    let sum = 0;
    for (let l = 0; l < nlevels; l++) {
      levelColumns(cross.W, k, P, l, used);
      sum += k * k * used.length + (k * used.length * used.length) / 2;
    }
    return sum;
  }

  eliminate(tail: Float64Array, m: number): number {
    let logdet = 0;
    for (const pattern of this.patterns) {
      const ld = this.k === 2 ? this.transform2(pattern) : this.transform(pattern);
      if (!Number.isFinite(ld)) return Infinity;
      logdet += ld;
      this.subtractCrossproduct(pattern, tail, m);
    }
    return logdet;
  }

  /** tail -= T'T on the pattern's columns: the crossprod kernel's dot products down the stacked columns. */
  private subtractCrossproduct({ columns: cols, base, rows }: Pattern, tail: Float64Array, m: number): void {
    const c = cols.length;
    const at = this.products;
    const C = this.kernels.f64;
    C.fill(0, at, at + c * c);
    this.kernels.crossprod(at, base, base, rows, c);
    for (let j = 0; j < c; j++) for (let i = j; i < c; i++) tail[cols[i] + cols[j] * m] += C[at + i + j * c];
  }

  /** Each level's factor L_l and T_l = L_l^{-1} lambda' W_l; the levels' sum of log|H_l|. */
  private transform({ columns, levels, base, rows }: Pattern): number {
    const { k, M, W, T, factors, h } = this;
    const lam = this.term.lambda;
    const kk = k * k;
    const c = columns.length;
    let logdet = 0;
    for (let s = 0; s < levels.length; s++) {
      const l = levels[s];
      const ld = factorLevelBlock(lam, M, l * kk, k, h, this.work);
      if (!Number.isFinite(ld)) return Infinity;
      logdet += ld;
      factors.set(h, l * kk);
      for (let i = 0; i < c; i++) {
        const o = base + k * s + i * rows;
        for (let a = 0; a < k; a++) {
          let v = 0;
          for (let b = a; b < k; b++) v += lam[b + a * k] * W[o + b];
          for (let b = 0; b < a; b++) v -= h[a + b * k] * T[o + b];
          T[o + a] = v / h[a + a * k];
        }
      }
    }
    return logdet;
  }

  /** `transform` for a 2 x 2 term (intercept and slope), written out: the case longitudinal designs spend their time in. */
  private transform2({ columns, levels, base, rows }: Pattern): number {
    const { M, W, T, factors } = this;
    const lam = this.term.lambda;
    const l00 = lam[0];
    const l10 = lam[1];
    const l11 = lam[3];
    const c = columns.length;
    // log|H| summed as logs of products: |H_l| >= 1 (H = lambda' M lambda + I), so a running
    // product only grows, and is logged before it could overflow (one log per many levels)
    let logdet = 0;
    let product = 1;
    for (let s = 0; s < levels.length; s++) {
      const f = 4 * levels[s];
      const m00 = M[f];
      const m10 = M[f + 1];
      const m11 = M[f + 3];
      // H = lambda' M lambda + I, lambda lower triangular, and its Cholesky factor
      const a = m00 * l00 + m10 * l10;
      const b = m10 * l00 + m11 * l10;
      const h00 = l00 * a + l10 * b + 1;
      const h10 = l11 * b;
      const h11 = l11 * l11 * m11 + 1;
      if (!(h00 > 0)) return Infinity;
      const c00 = Math.sqrt(h00);
      const i00 = 1 / c00;
      const c10 = h10 * i00;
      const d = h11 - c10 * c10;
      if (!(d > 0)) return Infinity;
      const c11 = Math.sqrt(d);
      const i11 = 1 / c11;
      product *= h00 * d;
      if (product > 1e200) {
        logdet += Math.log(product);
        product = 1;
      }
      factors[f] = c00;
      factors[f + 1] = c10;
      factors[f + 2] = 0;
      factors[f + 3] = c11;
      // T = L^{-1} lambda' W: t0 = (l00 w0 + l10 w1) / c00, t1 = (l11 w1 - c10 t0) / c11
      const u0 = l00 * i00;
      const u1 = l10 * i00;
      const v1 = l11 * i11;
      const v0 = c10 * i11;
      for (let i = 0, o = base + 2 * s; i < c; i++, o += rows) {
        const w1 = W[o + 1];
        const t0 = u0 * W[o] + u1 * w1;
        T[o] = t0;
        T[o + 1] = v1 * w1 - v0 * t0;
      }
    }
    return logdet + Math.log(product);
  }

  /** u_l = L_l^{-T} T_l r with r = (-beta, 1) on the level's columns. */
  solve(v: Float64Array): Float64Array {
    return this.modes(v).slice();
  }

  /** Every level's u_l (level-major, into a buffer kept for the gradient); v is beta (the tail is [X y]). */
  private modes(v: Float64Array): Float64Array {
    const { k, T, factors } = this;
    const u = (this.modesWork ??= new Float64Array(this.nlevels * k));
    const r = (this.residualWork ??= new Float64Array(this.maxColumns));
    for (const { columns: cols, levels, base, rows } of this.patterns) {
      const c = cols.length;
      // the residual's weights on the pattern's columns: -beta, then 1 for y
      for (let i = 0; i < c - 1; i++) r[i] = -v[cols[i]];
      r[c - 1] = 1;
      if (k === 2) {
        for (let s = 0; s < levels.length; s++) {
          let x0 = 0;
          let x1 = 0;
          for (let i = 0, o = base + 2 * s; i < c; i++, o += rows) {
            x0 += T[o] * r[i];
            x1 += T[o + 1] * r[i];
          }
          const f = 4 * levels[s];
          const u1 = x1 / factors[f + 3];
          u[2 * levels[s]] = (x0 - factors[f + 1] * u1) / factors[f];
          u[2 * levels[s] + 1] = u1;
        }
        continue;
      }
      for (let s = 0; s < levels.length; s++) {
        const o = base + k * s;
        const ul = levels[s] * k;
        for (let a = 0; a < k; a++) {
          let x = T[o + a + (c - 1) * rows];
          for (let i = 0; i < c - 1; i++) x -= T[o + a + i * rows] * v[cols[i]];
          u[ul + a] = x;
        }
        // L_l' u = x
        const f = levels[s] * k * k;
        for (let a = k - 1; a >= 0; a--) {
          let x = u[ul + a];
          for (let b = a + 1; b < k; b++) x -= factors[f + b + a * k] * u[ul + b];
          u[ul + a] = x / factors[f + a + a * k];
        }
      }
    }
    return u;
  }

  /**
   * I - G_ll = I - L_l^{-T} (I + Tx_l G_x Tx_l') L_l^{-1}, Tx_l the level's T on the included
   * columns and G_x the inverse of the tail there. With C C' = G_x (per pattern, cx x cx), V =
   * Tx C for the whole pattern (axpys down its columns, C triangular) and N_l = I + V_l V_l'.
   */
  addGradientTerms(g22: Float64Array, m: number, include: number, v: Float64Array, S: Float64Array, U: Float64Array): void {
    const { k, T, Y } = this;
    const kk = k * k;
    for (const pattern of this.patterns) {
      const { columns: cols, levels, base, rows } = pattern;
      let cx = 0;
      while (cx < cols.length && cols[cx] < include) cx++;
      const C = (this.gWork ??= new Float64Array(this.maxColumns ** 2));
      for (let j = 0; j < cx; j++) for (let i = j; i < cx; i++) C[i + j * cx] = g22[cols[i] + cols[j] * m];
      if (cx > 0 && !choleskyLower(C, cx)) throw new ModelError('the inverse of the fixed-effects block is not positive definite');
      if (k === 2) {
        this.addLevelTerms2(pattern, C, cx, S);
        continue;
      }
      // V = Tx C into Y
      for (let j = 0; j < cx; j++) {
        const yj = base + j * rows;
        Y.fill(0, yj, yj + rows);
        for (let i = j; i < cx; i++) {
          const g = C[i + j * cx];
          const ti = base + i * rows;
          for (let r = 0; r < rows; r++) Y[yj + r] += T[ti + r] * g;
        }
      }
      const N = (this.nWork ??= new Float64Array(this.maxLevels * kk));
      for (let s = 0; s < levels.length; s++) for (let b = 0; b < k; b++) for (let a = 0; a < k; a++) N[s * kk + a + b * k] = a === b ? 1 : 0;
      for (let j = 0; j < cx; j++) {
        const o = base + j * rows;
        for (let s = 0; s < levels.length; s++)
          for (let b = 0; b < k; b++) {
            const y = Y[o + k * s + b];
            for (let a = 0; a < k; a++) N[s * kk + a + b * k] += Y[o + k * s + a] * y;
          }
      }
      this.addLevelTerms(pattern, N, S);
    }
    const u = this.modes(v);
    for (let l = 0; l < this.nlevels; l++) for (let b = 0; b < k; b++) for (let a = 0; a < k; a++) U[a + b * k] += u[l * k + a] * u[l * k + b];
  }

  /**
   * `addGradientTerms` for one pattern of a 2 x 2 term, level by level in registers: v = Tx_l C
   * (C C' = G on the included columns), N_l = I + v v', S += I - L_l^{-T} N_l L_l^{-1}.
   */
  private addLevelTerms2({ levels, base, rows }: Pattern, C: Float64Array, cx: number, S: Float64Array): void {
    const { T, factors } = this;
    const t = (this.levelWork ??= new Float64Array(2 * this.maxColumns));
    let s00 = 0;
    let s01 = 0;
    let s11 = 0;
    for (let s = 0; s < levels.length; s++) {
      for (let i = 0, o = base + 2 * s; i < cx; i++, o += rows) {
        t[i] = T[o];
        t[cx + i] = T[o + 1];
      }
      let n00 = 1;
      let n01 = 0;
      let n11 = 1;
      for (let j = 0; j < cx; j++) {
        let v0 = 0;
        let v1 = 0;
        for (let i = j; i < cx; i++) {
          const c = C[i + j * cx];
          v0 += t[i] * c;
          v1 += t[cx + i] * c;
        }
        n00 += v0 * v0;
        n01 += v0 * v1;
        n11 += v1 * v1;
      }
      // L^{-1} of L = [c00 0; c10 c11]
      const f = 4 * levels[s];
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

  /** S += sum over the pattern's levels of I - L_l^{-T} N_l L_l^{-1} (N per level, k x k). */
  private addLevelTerms({ levels }: Pattern, N: Float64Array, S: Float64Array): void {
    const { k, factors } = this;
    const kk = k * k;
    const Li = new Float64Array(kk);
    for (let s = 0; s < levels.length; s++) {
      lowerInverse(factors, levels[s] * kk, k, Li);
      for (let b = 0; b < k; b++)
        for (let a = 0; a < k; a++) {
          let x = 0;
          for (let c = a; c < k; c++) for (let d = b; d < k; d++) x += Li[c + a * k] * N[s * kk + c + d * k] * Li[d + b * k];
          S[a + b * k] += (a === b ? 1 : 0) - x;
        }
    }
  }

  /** Z_l'y into each level's y column. */
  setResponse(zty: ArrayLike<number>): void {
    const k = this.k;
    for (const { columns, levels, base, rows } of this.patterns) {
      const y = base + (columns.length - 1) * rows;
      for (let s = 0; s < levels.length; s++) for (let a = 0; a < k; a++) this.W[y + k * s + a] = zty[levels[s] * k + a];
    }
  }

  refreshL21(): void {}
}

/** The columns of [X y] (P of them, row-major k x P per level in W) that level l touches, y always, into `used`. */
function levelColumns(W: Float64Array, k: number, P: number, l: number, used: number[]): void {
  used.length = 0;
  for (let j = 0; j < P - 1; j++) {
    let nonzero = false;
    for (let a = 0; a < k && !nonzero; a++) nonzero = W[(l * k + a) * P + j] !== 0;
    if (nonzero) used.push(j);
  }
  used.push(P - 1);
}
