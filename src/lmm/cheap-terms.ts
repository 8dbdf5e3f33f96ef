/**
 * The cheap terms' profile: where the tail is wide, terms with few rows (InstEval's 28
 * dept:service) are ordered last, before X and y (see `orderTail`), so that their theta only
 * rescales the trailing block. The search over theta then factorizes the system once per value
 * of the other terms' theta (`profile`), searches the cheap terms' on the trailing block alone
 * (`evaluate`) and completes the factorization where the gradient is needed (`finish`).
 */
import { choleskyLower } from '../linalg/dense';
import type { Evaluation } from './blocked';
import { transformLevelBlocks, transformLevelRows } from './level-blocks';
import type { ReTerm } from './reterm';

/** What the profile needs of its blocked system's factorization. */
export interface ProfiledFactorization {
  readonly terms: ReTerm[];
  /** per term (2..m; entry 0 empty), the tail row of each level's first row */
  readonly levelRows: Int32Array[];
  readonly tailRe: number;
  readonly tailSize: number;
  /** the tail work matrix, whose lower triangle the factorization leaves its factor in */
  readonly tail: Float64Array;
  setTheta(theta: ArrayLike<number>): void;
  /** Lambda' A22 Lambda + I at the terms' current lambda, the first term eliminated; its log-determinant (Infinity if not positive definite) */
  eliminateFirst(): number;
  /** factorizes the tail's columns [from, to); false if not positive definite */
  factorColumns(from: number, to: number): boolean;
  /** the first term's L21 anew at the tail rows from `row` on (their lambda changed) */
  refreshL21(row: number): void;
  /** the factorization no longer is the last `evaluate`'s; `counted`: it was one more evaluation */
  factorChanged(counted: boolean): void;
}

export class CheapTermProfile {
  /** terms' positions in theta */
  private readonly thetaOffsets: number[];
  /** per cheap term, its levels' first rows within the trailing block */
  private readonly levelRows: Int32Array[];
  /** after `profile`: the trailing block's Schur complement at unit lambda of the cheap terms, minus I on their rows (full symmetric) */
  private trailing?: Float64Array;
  private trailingWork?: Float64Array;
  private trailingScale?: Float64Array;
  private leadingLogdet = 0;

  /** `terms`: the cheap terms (indices into the system's terms), whose rows start at tail row `from`. */
  constructor(
    private readonly system: ProfiledFactorization,
    readonly terms: number[],
    private readonly from: number,
    thetaOffsets: number[],
  ) {
    this.thetaOffsets = thetaOffsets;
    this.levelRows = terms.map((ti) => system.levelRows[ti].map((r) => r - from));
  }

  /** Positions in theta of the cheap terms' elements, in order. */
  thetaIndices(): number[] {
    const { terms } = this.system;
    return this.terms.flatMap((ti) => Array.from({ length: terms[ti].ntheta }, (_, i) => this.thetaOffsets[ti] + i));
  }

  /**
   * Factorizes the system at theta up to the trailing block of the cheap terms, X and y, with
   * the cheap terms' lambda at the identity: their rows of the tail are then linear in their
   * lambda, so the trailing block at any theta of theirs is Lambda_c' S Lambda_c + I from the one
   * kept here. False where not positive definite.
   */
  profile(theta: ArrayLike<number>): boolean {
    const system = this.system;
    system.factorChanged(false);
    const unit = Array.from(theta);
    for (const ti of this.terms) system.terms[ti].initialTheta().forEach((v, i) => (unit[this.thetaOffsets[ti] + i] = v));
    system.setTheta(unit);
    const m = system.tailSize;
    const c0 = this.from;
    const t = system.tail;
    const logdetFirst = system.eliminateFirst();
    if (!Number.isFinite(logdetFirst) || !system.factorColumns(0, c0)) return false;
    this.leadingLogdet = logdetFirst;
    for (let i = 0; i < c0; i++) this.leadingLogdet += 2 * Math.log(t[i + i * m]);
    const tc = m - c0;
    const S = (this.trailing ??= new Float64Array(tc * tc));
    this.trailingWork ??= new Float64Array(tc * tc);
    for (let j = 0; j < tc; j++)
      for (let i = j; i < tc; i++) {
        const v = t[c0 + i + (c0 + j) * m] - (i === j && c0 + i < system.tailRe ? 1 : 0);
        S[i + j * tc] = v;
        S[j + i * tc] = v;
      }
    return true;
  }

  /**
   * After `profile`: the evaluation at the cheap terms' theta `thetaCheap` (their elements in
   * order) with the rest as profiled, from the trailing block alone; null if not positive
   * definite. Leaves the cheap terms' lambda at thetaCheap.
   */
  evaluate(thetaCheap: ArrayLike<number>): Evaluation | null {
    const system = this.system;
    system.factorChanged(true);
    const c0 = this.from;
    const tc = system.tailSize - c0;
    const T = this.trailingWork!;
    this.trailingBlock(thetaCheap, T, tc, 0);
    if (!choleskyLower(T, tc)) return null;
    let logdetZ = this.leadingLogdet;
    for (let i = 0; i < system.tailRe - c0; i++) logdetZ += 2 * Math.log(T[i + i * tc]);
    let logdetX = 0;
    for (let i = system.tailRe - c0; i < tc - 1; i++) logdetX += 2 * Math.log(T[i + i * tc]);
    const last = T[tc * tc - 1];
    return { logdetZ, logdetX, pwrss: last * last };
  }

  /**
   * After `profile`: completes the factorization at theta (whose cheap elements are the ones to
   * finish with), as the system's `evaluate(theta)` would leave it for `gradient` and `solve`.
   */
  finish(theta: ArrayLike<number>): boolean {
    const system = this.system;
    system.factorChanged(false);
    const thetaCheap = this.thetaIndices().map((i) => theta[i]);
    system.setTheta(theta);
    // the first term's L21 and the leading columns of the factor at the cheap rows were made at
    // their unit lambda, and are linear in it
    system.refreshL21(this.from);
    const m = system.tailSize;
    for (const ti of this.terms) {
      const term = system.terms[ti];
      transformLevelRows(system.tail, m, term.lambda, term.k, system.levelRows[ti], this.from);
    }
    this.trailingBlock(thetaCheap, system.tail, m, this.from);
    return system.factorColumns(this.from, m);
  }

  /** Lambda_c' S Lambda_c + I on the cheap rows, into `out` (leading dimension ld) at (at, at) */
  private trailingBlock(thetaCheap: ArrayLike<number>, out: Float64Array, ld: number, at: number): void {
    const system = this.system;
    const c0 = this.from;
    const tc = system.tailSize - c0;
    const S = this.trailing!;
    const scale = (this.trailingScale ??= new Float64Array(tc).fill(1));
    let offset = 0;
    for (const ti of this.terms) {
      const term = system.terms[ti];
      term.setTheta(thetaCheap, offset);
      offset += term.ntheta;
    }
    const T = this.trailingWork!;
    T.set(S);
    this.terms.forEach((ti, c) => {
      const term = system.terms[ti];
      const rows = this.levelRows[c];
      if (term.k === 1) for (const r of rows) scale[r] = term.lambda[0];
      else transformLevelBlocks(T, tc, term.lambda, term.k, rows);
    });
    for (let j = 0; j < tc; j++)
      for (let i = j; i < tc; i++) out[at + i + (at + j) * ld] = T[i + j * tc] * scale[i] * scale[j] + (i === j && c0 + i < system.tailRe ? 1 : 0);
  }
}
