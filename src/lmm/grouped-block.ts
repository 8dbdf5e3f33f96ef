/**
 * A first term whose levels mostly share their Z_l'Z_l, over a small tail. Levels with
 * identical M_l = Z_l'Z_l form a group c with S_c[a][b] = sum_l W_l[a,:]' W_l[b,:],
 * W_l = Z_l'[Z_2..Z_m X y], so sum_l W_l' lambda H_l^{-1} lambda' W_l = sum_c sum_ab K_c[a,b]
 * S_c[a][b], K_c = lambda H_c^{-1} lambda': an evaluation costs nothing in n or in the number of
 * levels (sleepstudy's 18 subjects are one group, a random intercept has one per visit count).
 * With other terms in the tail (scalar ones: a site or family intercept beside a subject
 * intercept) the tail's rows and columns carry their lambda: `rowScale` gives it per tail row.
 */
import { choleskyInverse, solveLower, solveLowerTransposed } from '../linalg/dense';
import {
  addLevelCrossproducts,
  factorLevelBlock,
  groupLevels,
  type FirstBlock,
  type LevelCrossproducts,
  type LevelGroups,
  type RowBlock,
  type TailLayout,
} from './first-block';
import type { KernelMemory } from '../linalg/kernels';
import { RowFactor } from '../linalg/row-factor';
import type { ReTerm } from './reterm';

/** `setResponses`' y rows of a block of responses: in `kernels`, each a row of `width` values (one per response) */
interface ResponseBatch {
  kernels: KernelMemory;
  /** per group c and tail column j < P - 1: sum over c's levels of (Z_l'y) W_l[j], at rows + (c R + rowOf[j]) width (R, rowOf: the batch factor's) */
  rows: number;
  /** per group: sum over its levels of (Z_l'y)^2, at sums + c width */
  sums: number;
  width: number;
}

export class GroupedFirstBlock implements FirstBlock {
  private readonly k: number;
  private readonly P: number;
  /** per level: W_l = Z_l'[X y], k x P row-major (entry (a, j) at (l k + a) P + j) */
  private readonly W: Float64Array;
  private readonly groupOf: Int32Array;
  private readonly groupSize: number[];
  /** per group: M_c, k x k column-major */
  private readonly M: Float64Array;
  /** per group: S_c[a][b] P x P column-major, at ((c*k + a)*k + b)*P*P */
  private readonly S: Float64Array;
  private readonly h: Float64Array;
  private readonly work: Float64Array;
  private readonly K: Float64Array;
  /** `setResponse`'s sums: per block (c, a, b) the y row of S_c[a][b]; the levels in group order */
  private yRows?: Float64Array;
  private levelOrder?: Int32Array;
  private batch?: ResponseBatch;
  private rowFactor?: RowFactor;
  /** a batched response's Z'y (one per level), until `solve` writes it into W's y column */
  private pendingZty?: Float64Array;
  /** the inverse of `levelOrder`: each level's place in group order */
  private slots?: Int32Array;
  /** the gradient's buffers: H^{-1}, C and R (k x k each), the residual's weights and the inverse's included rows */
  private gradientWork?: Float64Array;

  constructor(
    private readonly term: ReTerm,
    cross: LevelCrossproducts,
    groups: LevelGroups,
    P: number,
    /** the lambda of each tail row's scalar term (1 for X and y), current at each evaluation; all 1 without */
    private readonly rowScale?: () => Float64Array,
    /** the group sums S_c when the caller has them (`derive`) */
    sums?: Float64Array,
  ) {
    const { k, nlevels } = term;
    this.k = k;
    this.P = P;
    this.W = cross.W;
    this.groupOf = groups.groupOf;
    this.groupSize = groups.size;
    const kk = k * k;
    this.M = new Float64Array(groups.first.length * kk);
    groups.first.forEach((l, g) => this.M.set(cross.M.subarray(l * kk, (l + 1) * kk), g * kk));
    if (sums) this.S = sums;
    else {
      this.S = new Float64Array(groups.size.length * kk * P * P);
      if (k === 1) this.sumScalarGroups();
      else for (let l = 0; l < nlevels; l++) addLevelOuterProducts(this.S, this.groupOf[l], this.W, l, k, P, 1);
    }
    this.h = new Float64Array(kk);
    this.work = new Float64Array(kk);
    this.K = new Float64Array(kk);
  }

  /**
   * S_c = sum over group c's levels of W_l W_l' for a scalar term: the lower triangle four levels
   * at a time (each S entry is loaded and stored once per four), then mirrored.
   */
  private sumScalarGroups(): void {
    const { P, W, S, groupSize } = this;
    const PP = P * P;
    const order = (this.levelOrder ??= levelsByGroup(this.groupOf, groupSize));
    for (let c = 0, s = 0; c < groupSize.length; c++) {
      const base = c * PP;
      const end = s + groupSize[c];
      for (; s + 3 < end; s += 4) {
        const w0 = order[s] * P;
        const w1 = order[s + 1] * P;
        const w2 = order[s + 2] * P;
        const w3 = order[s + 3] * P;
        for (let j = 0; j < P; j++) {
          const a0 = W[w0 + j];
          const a1 = W[w1 + j];
          const a2 = W[w2 + j];
          const a3 = W[w3 + j];
          if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
          const col = base + j * P;
          for (let i = j; i < P; i++) S[col + i] += a0 * W[w0 + i] + a1 * W[w1 + i] + a2 * W[w2 + i] + a3 * W[w3 + i];
        }
      }
      for (; s < end; s++) {
        const w = order[s] * P;
        for (let j = 0; j < P; j++) {
          const a = W[w + j];
          if (a === 0) continue;
          const col = base + j * P;
          for (let i = j; i < P; i++) S[col + i] += a * W[w + i];
        }
      }
      for (let j = 0; j < P; j++) for (let i = j + 1; i < P; i++) S[base + j + i * P] = S[base + i + j * P];
    }
  }

  /**
   * This block over other rows of the same data (`layout`, the new system, has the same levels; a
   * level may be left without rows): the level products less the `removed` rows' plus the
   * `added` rows', and the group sums corrected for the levels those rows touch only, so that a
   * missingness pattern that differs from its neighbour's in a few images costs a few levels,
   * not all of them. A group keeps its sum where the new block has a group with the same Z_l'Z_l.
   */
  derive(layout: TailLayout, removed: RowBlock, added: RowBlock, rowScale?: () => Float64Array): GroupedFirstBlock {
    const { k, P } = this;
    const kk = k * k;
    const term = layout.terms[0];
    const nlevels = term.nlevels;
    const cross = { M: new Float64Array(nlevels * kk), W: this.W.slice() };
    for (let l = 0; l < nlevels; l++) for (let e = 0, g = this.groupOf[l] * kk; e < kk; e++) cross.M[l * kk + e] = this.M[g + e];
    addLevelCrossproducts(cross, layout, removed, -1);
    addLevelCrossproducts(cross, layout, added, 1);
    const touched = new Set<number>(removed.codes[0]);
    for (const l of added.codes[0]) touched.add(l);
    // a level left without rows has exactly no products (not the rounding left by the subtraction)
    const rows = new Int32Array(nlevels);
    for (const c of term.codes) rows[c]++;
    for (const l of touched)
      if (rows[l] === 0) {
        cross.M.fill(0, l * kk, (l + 1) * kk);
        cross.W.fill(0, l * k * P, (l + 1) * k * P);
      }
    const groups = groupLevels(cross.M, k, nlevels);
    const key = (M: Float64Array, off: number) => (k === 1 ? M[off] : M.subarray(off, off + kk).join(','));
    const oldGroup = new Map<string | number, number>();
    for (let g = 0; g < this.groupSize.length; g++) oldGroup.set(key(this.M, g * kk), g);
    const newGroup = new Map<string | number, number>();
    const block = kk * P * P;
    const sums = new Float64Array(groups.size.length * block);
    groups.first.forEach((l, g) => {
      const kept = key(cross.M, l * kk);
      newGroup.set(kept, g);
      const old = oldGroup.get(kept);
      if (old !== undefined) sums.set(this.S.subarray(old * block, (old + 1) * block), g * block);
    });
    for (const l of touched) {
      const from = newGroup.get(key(this.M, this.groupOf[l] * kk));
      if (from !== undefined) addLevelOuterProducts(sums, from, this.W, l, k, P, -1);
      addLevelOuterProducts(sums, groups.groupOf[l], cross.W, l, k, P, 1);
    }
    return new GroupedFirstBlock(term, cross, groups, P, rowScale, sums);
  }

  /**
   * Z'y into W's y column, and the y row and column of every S_c[a][b] summed anew from it: the
   * row of S_c[a][b] is sum_l (Z_l'y)_a W_l[b, :], accumulated contiguously, then written as that
   * block's row y and as S_c[b][a]'s column y. With `voxel`, this is that response of the last
   * `setResponses` block, whose rows were summed there.
   */
  setResponse(zty: ArrayLike<number>, voxel?: number): void {
    const { k, P, W, S } = this;
    const PP = P * P;
    const y = P - 1;
    const nlevels = this.term.nlevels;
    const rows = (this.yRows ??= new Float64Array(this.groupSize.length * k * k * P));
    if (voxel !== undefined && this.batch) {
      // W's y column is read by `solve` alone: kept aside until then
      (this.pendingZty ??= new Float64Array(nlevels)).set(zty);
      this.batchedRows(voxel, rows);
    } else {
      this.pendingZty = undefined;
      for (let r = 0; r < nlevels * k; r++) W[r * P + y] = zty[r];
      rows.fill(0);
      if (k === 1) this.sumScalarRows(zty, rows);
      else
        for (let l = 0; l < nlevels; l++) {
          const c = this.groupOf[l];
          for (let a = 0; a < k; a++) {
            const za = zty[l * k + a];
            if (za === 0) continue;
            for (let b = 0; b < k; b++) {
              const o = ((c * k + a) * k + b) * P;
              const wb = (l * k + b) * P;
              for (let j = 0; j < P; j++) rows[o + j] += za * W[wb + j];
            }
          }
        }
    }
    for (let c = 0; c < this.groupSize.length; c++)
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          const o = ((c * k + a) * k + b) * P;
          const ab = o * P;
          const ba = ((c * k + b) * k + a) * PP;
          for (let j = 0; j < P; j++) {
            S[ab + y + j * P] = rows[o + j];
            S[ba + j + y * P] = rows[o + j];
          }
        }
  }

  /** Whether `setResponses` applies: a scalar term (a random intercept). */
  get batchable(): boolean {
    return this.k === 1;
  }

  /** `setResponses`' left factor: W_l without its y column, the levels in group order. */
  get batchFactor(): RowFactor {
    const { P, W } = this;
    const order = (this.levelOrder ??= levelsByGroup(this.groupOf, this.groupSize));
    return (this.rowFactor ??= new RowFactor(order.length, P - 1, W, P, 1, order));
  }

  /** The kernel memory (doubles) `setResponses` needs for `width` responses, besides its factor's inputs. */
  batchDoubles(width: number): number {
    return this.groupSize.length * (this.batchFactor.rows + 1) * width;
  }

  /** Where `setResponses` reads each level's row of Z'y: the levels in group order. */
  get levelSlots(): Int32Array {
    if (!this.slots) {
      const order = (this.levelOrder ??= levelsByGroup(this.groupOf, this.groupSize));
      this.slots = new Int32Array(order.length);
      order.forEach((l, s) => (this.slots![l] = s));
    }
    return this.slots;
  }

  /**
   * The y rows of every group for a block of responses at once (a scalar term's; the
   * whole-brain engine's voxels): `zty` in `kernels` holds Z_l'y of each level as a row of
   * `width` values (a multiple of 4), one per response, level l's at row `levelSlots[l]`, and
   * `factor` where `batchFactor.write` put its inputs; per group c, its rows are W_c' ZtY_c by the
   * crossprodRows kernel down its levels, and its y-y entry the sum of (Z_l'y)^2. They go from
   * `at` on (`batchDoubles(width)` doubles, reserved by the caller); `setResponse(zty, voxel)`
   * then takes voxel's.
   */
  setResponses(kernels: KernelMemory, factor: number, zty: number, width: number, at: number): void {
    const { groupSize } = this;
    const rows = this.batchFactor.rows;
    const sums = at + groupSize.length * rows * width;
    kernels.f64.fill(0, at, sums + groupSize.length * width);
    for (let c = 0, s = 0; c < groupSize.length; s += groupSize[c++]) {
      this.batchFactor.addProducts(kernels, factor, at + c * rows * width, zty + s * width, width, s, groupSize[c]);
      kernels.sumSquaresRows(sums + c * width, zty + s * width, width, groupSize[c]);
    }
    this.batch = { kernels, rows: at, sums, width };
  }

  /** A scalar term's `rows` (per group, P values) for response `voxel` of the last `setResponses` block. */
  private batchedRows(voxel: number, rows: Float64Array): void {
    const { kernels, rows: rowsAt, sums, width } = this.batch!;
    const f64 = kernels.f64;
    const P = this.P;
    const { rows: factorRows, rowOf } = this.batchFactor;
    for (let c = 0; c < this.groupSize.length; c++) {
      const from = rowsAt + c * factorRows * width + voxel;
      for (let j = 0; j < P - 1; j++) rows[c * P + j] = f64[from + rowOf[j] * width];
      rows[c * P + P - 1] = f64[sums + c * width + voxel];
    }
  }

  /**
   * `setResponse`'s sums for a scalar term (a random intercept: the whole-brain case), four
   * levels of a group at a time, so that each group row is loaded and stored once per four.
   */
  private sumScalarRows(zty: ArrayLike<number>, rows: Float64Array): void {
    const { P, W, groupSize } = this;
    const order = (this.levelOrder ??= levelsByGroup(this.groupOf, groupSize));
    // plain loops, no closure: V8 keeps the indices in registers
    for (let c = 0, s = 0; c < groupSize.length; c++) {
      const o = c * P;
      const end = s + groupSize[c];
      for (; s + 3 < end; s += 4) {
        const w0 = order[s] * P;
        const w1 = order[s + 1] * P;
        const w2 = order[s + 2] * P;
        const w3 = order[s + 3] * P;
        const z0 = zty[order[s]];
        const z1 = zty[order[s + 1]];
        const z2 = zty[order[s + 2]];
        const z3 = zty[order[s + 3]];
        for (let j = 0; j < P; j++) rows[o + j] += z0 * W[w0 + j] + z1 * W[w1 + j] + z2 * W[w2 + j] + z3 * W[w3 + j];
      }
      for (; s < end; s++) {
        const w = order[s] * P;
        const z = zty[order[s]];
        for (let j = 0; j < P; j++) rows[o + j] += z * W[w + j];
      }
    }
  }

  /** K = lambda H^{-1} lambda' = G'G with G = L^{-1} lambda', L the Cholesky factor of H held in this.h */
  private levelK(): Float64Array {
    const { k, h, K, work } = this;
    const lam = this.term.lambda;
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < k; i++) work[i + j * k] = lam[j + i * k];
      solveLower(h, k, work, 0, j * k);
    }
    for (let j = 0; j < k; j++)
      for (let i = j; i < k; i++) {
        let s = 0;
        for (let a = 0; a < k; a++) s += work[a + i * k] * work[a + j * k];
        K[i + j * k] = s;
        K[j + i * k] = s;
      }
    return K;
  }

  eliminate(tail: Float64Array, m: number): number {
    const { k, P, S } = this;
    const PP = P * P;
    const lam = this.term.lambda;
    const scale = this.rowScale?.();
    let logdet = 0;
    for (let g = 0; g < this.groupSize.length; g++) {
      const ld = factorLevelBlock(lam, this.M, g * k * k, k, this.h, this.work);
      if (!Number.isFinite(ld)) return Infinity;
      logdet += this.groupSize[g] * ld;
      const K = this.levelK();
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++) {
          const kab = K[a + b * k];
          if (kab === 0) continue;
          const base = ((g * k + a) * k + b) * PP;
          if (scale)
            for (let j = 0; j < P; j++) {
              const sj = kab * scale[j];
              for (let i = j; i < P; i++) tail[i + j * m] -= sj * scale[i] * S[base + i + j * P];
            }
          else for (let j = 0; j < P; j++) for (let i = j; i < P; i++) tail[i + j * m] -= kab * S[base + i + j * P];
        }
    }
    return logdet;
  }

  /** The residual's coefficients on W's columns: (-b of the tail terms, -beta, 1), from the tail unknowns v. */
  private residualWeights(v: Float64Array, r: Float64Array = new Float64Array(this.P)): Float64Array {
    const P = this.P;
    const scale = this.rowScale?.();
    for (let j = 0; j < P - 1; j++) r[j] = -v[j] * (scale ? scale[j] : 1);
    r[P - 1] = 1;
    return r;
  }

  /**
   * Grouped, so a voxel's gradient costs nothing in n: with H_c the factor shared by group c,
   * I - G_ll sums to n_c (I - H_c^{-1}) - H_c^{-1} lambda' C_c lambda H_c^{-1} (C_c[a,b] =
   * tr(G S_c[a][b]) over the included rows, G the inverse of the scaled tail there) and u_l u_l'
   * to H_c^{-1} lambda' R_c lambda H_c^{-1} with R_c[a,b] = r' S_c[a][b] r, r the residual's weights.
   */
  addGradientTerms(g22: Float64Array, m: number, include: number, v: Float64Array, S: Float64Array, U: Float64Array): void {
    const { k, P, M, groupSize, h, work } = this;
    const PP = P * P;
    const lam = this.term.lambda;
    const kk = k * k;
    const hinv = (this.gradientWork ??= new Float64Array(4 * kk + P + P * P + 2));
    const C = hinv.subarray(kk, 2 * kk);
    const R = hinv.subarray(2 * kk, 3 * kk);
    const A = hinv.subarray(3 * kk, 4 * kk);
    const r = this.residualWeights(v, hinv.subarray(4 * kk, 4 * kk + P));
    // the included rows of the inverse, lower triangle, in W's (unscaled) coordinates (W spans
    // the tail: P = m); without scalar terms in the tail, those of g22 itself
    const scale = this.rowScale?.();
    let G = g22;
    if (scale) {
      G = hinv.subarray(4 * kk + P);
      for (let j = 0; j < include; j++) for (let i = j; i < include; i++) G[i + j * P] = g22[i + j * m] * scale[i] * scale[j];
    }
    const Sg = this.S;
    // a block's tr(G S) and r'Sr
    const pair = hinv.subarray(4 * kk + P + P * P);
    for (let g = 0; g < groupSize.length; g++) {
      factorLevelBlock(lam, M, g * kk, k, h, work);
      choleskyInverse(h, k, hinv);
      // S_c[b][a] = S_c[a][b]', so C and R are symmetric: the lower triangle (a >= b), mirrored
      for (let b = 0; b < k; b++)
        for (let a = b; a < k; a++) {
          const base = ((g * k + a) * k + b) * PP;
          if (a === b) symmetricTraceAndQuadratic(G, r, Sg, base, P, include, pair);
          else {
            pair[0] = traceGeneral(G, Sg, base, P, include);
            pair[1] = quadraticGeneral(r, Sg, base, P);
          }
          const c = pair[0];
          const q = pair[1];
          C[a + b * k] = c;
          C[b + a * k] = c;
          R[a + b * k] = q;
          R[b + a * k] = q;
        }
      const count = groupSize[g];
      for (let b = 0; b < k; b++) for (let a = 0; a < k; a++) S[a + b * k] += count * ((a === b ? 1 : 0) - hinv[a + b * k]);
      addSandwich(hinv, lam, C, k, -1, S, A);
      addSandwich(hinv, lam, R, k, 1, U, A);
    }
  }

  /** b_l = K_l Z_l' e with e the residual without this term; returned as u_l = lambda^{-1} b_l = H_l^{-1} lambda' W_l r */
  solve(v: Float64Array): Float64Array {
    const { k, P, W } = this;
    if (this.pendingZty) {
      this.pendingZty.forEach((z, l) => (W[l * P + P - 1] = z));
      this.pendingZty = undefined;
    }
    const r = this.residualWeights(v);
    const lam = this.term.lambda;
    const u = new Float64Array(this.term.nlevels * k);
    const rhs = new Float64Array(k);
    for (let l = 0; l < this.term.nlevels; l++) {
      factorLevelBlock(lam, this.M, this.groupOf[l] * k * k, k, this.h, this.work);
      for (let a = 0; a < k; a++) {
        // (lambda' W_l r)_a
        let s = 0;
        for (let c = a; c < k; c++) {
          const row = (l * k + c) * P;
          let wr = 0;
          for (let j = 0; j < P; j++) wr += W[row + j] * r[j];
          s += lam[c + a * k] * wr;
        }
        rhs[a] = s;
      }
      solveLower(this.h, k, rhs);
      solveLowerTransposed(this.h, k, rhs);
      u.set(rhs, l * k);
    }
    return u;
  }

  refreshL21(): void {}
}

/**
 * For a symmetric P x P block S at `base`, from its lower triangle in one pass: out[0] = tr(G S)
 * over the leading `include` rows, G the lower triangle of a symmetric matrix (leading dimension
 * P; the off-diagonal entries count twice), and out[1] = r'Sr.
 */
function symmetricTraceAndQuadratic(G: Float64Array, r: Float64Array, S: Float64Array, base: number, P: number, include: number, out: Float64Array): void {
  let diagonal = 0;
  let lower = 0;
  let q = 0;
  for (let j = 0; j < P; j++) {
    const col = base + j * P;
    if (j < include) diagonal += G[j + j * P] * S[col + j];
    let s = 0;
    let i = j + 1;
    for (; i < include; i++) {
      const sij = S[col + i];
      lower += G[i + j * P] * sij;
      s += r[i] * sij;
    }
    for (; i < P; i++) s += r[i] * S[col + i];
    const rj = r[j];
    q += rj * (S[col + j] * rj + 2 * s);
  }
  out[0] = diagonal + 2 * lower;
  out[1] = q;
}

/** tr(G S) over the leading `include` rows (G as in `symmetricTraceAndQuadratic`) for a block S that is not symmetric: S + S' on the lower triangle. */
function traceGeneral(G: Float64Array, S: Float64Array, base: number, P: number, include: number): number {
  let diagonal = 0;
  let lower = 0;
  for (let j = 0; j < include; j++) {
    const col = base + j * P;
    diagonal += G[j + j * P] * S[col + j];
    for (let i = j + 1; i < include; i++) lower += G[i + j * P] * (S[col + i] + S[base + j + i * P]);
  }
  return diagonal + lower;
}

/** r'Sr for a P x P block S at `base`. */
function quadraticGeneral(r: Float64Array, S: Float64Array, base: number, P: number): number {
  let q = 0;
  for (let j = 0; j < P; j++) {
    const col = base + j * P;
    let s = 0;
    for (let i = 0; i < P; i++) s += r[i] * S[col + i];
    q += s * r[j];
  }
  return q;
}

/**
 * out += sign * Hinv lambda' C lambda Hinv (all k x k, column-major; Hinv and C symmetric), A
 * (k x k) the scratch for lambda Hinv.
 */
function addSandwich(hinv: Float64Array, lam: Float64Array, C: Float64Array, k: number, sign: number, out: Float64Array, A: Float64Array): void {
  // A = lambda Hinv (k x k); out += sign * A' C A
  for (let j = 0; j < k; j++)
    for (let i = 0; i < k; i++) {
      let v = 0;
      for (let c = 0; c <= i; c++) v += lam[i + c * k] * hinv[c + j * k];
      A[i + j * k] = v;
    }
  for (let b = 0; b < k; b++)
    for (let a = 0; a < k; a++) {
      let v = 0;
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) v += A[i + a * k] * C[i + j * k] * A[j + b * k];
      out[a + b * k] += sign * v;
    }
}

/** S_c[a][b] += sign W_l[a,:]' W_l[b,:] for level l of group c (both triangles). */
function addLevelOuterProducts(S: Float64Array, c: number, W: Float64Array, l: number, k: number, P: number, sign: 1 | -1): void {
  const PP = P * P;
  for (let a = 0; a < k; a++)
    for (let b = 0; b < k; b++) {
      const base = ((c * k + a) * k + b) * PP;
      const wa = (l * k + a) * P;
      const wb = (l * k + b) * P;
      for (let j = 0; j < P; j++) {
        const wbj = sign * W[wb + j];
        if (wbj === 0) continue;
        for (let i = 0; i < P; i++) S[base + i + j * P] += W[wa + i] * wbj;
      }
    }
}

/** The levels sorted by group (counting sort): group c's are the next groupSize[c] entries. */
function levelsByGroup(groupOf: Int32Array, groupSize: number[]): Int32Array {
  const next = new Int32Array(groupSize.length);
  for (let c = 1; c < groupSize.length; c++) next[c] = next[c - 1] + groupSize[c - 1];
  const order = new Int32Array(groupOf.length);
  groupOf.forEach((c, l) => (order[next[c]++] = l));
  return order;
}
