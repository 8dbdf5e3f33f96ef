/**
 * The residual covariance sigma^2 Lambda of an nlme model, Lambda = S C S with S the variance
 * function's standard deviations and C the block-diagonal correlation, and its whitening: nlme
 * multiplies each group's rows of [Z X y] by an inverse root of its block of Lambda (the
 * correlation structure's, see BoundCorStruct.whitenGroup) and then solves an ordinary mixed
 * model; the likelihood gains -log|Lambda| / 2.
 */
import type { BoundCorStruct, PrecisionBasis } from './corstruct';
import type { BoundVarFunc } from './varfunc';

/** An n-row column-major matrix. */
export interface RowMatrix {
  data: Float64Array;
  ncol: number;
}

export class ResidualStructure {
  /** unconstrained parameters: the correlation structure's, then the variance function's (nlme's order) */
  readonly npar: number;
  readonly start: number[];
  private readonly sd: Float64Array;

  constructor(
    readonly n: number,
    readonly correlation?: BoundCorStruct,
    readonly variance?: BoundVarFunc,
  ) {
    this.npar = (correlation?.npar ?? 0) + (variance?.npar ?? 0);
    this.start = [...(correlation?.start ?? []), ...(variance?.start ?? [])];
    this.sd = new Float64Array(n).fill(1);
  }

  correlationPart(u: ArrayLike<number>): number[] {
    return Array.prototype.slice.call(u, 0, this.correlation?.npar ?? 0);
  }

  variancePart(u: ArrayLike<number>): number[] {
    return Array.prototype.slice.call(u, this.correlation?.npar ?? 0);
  }

  /** Sets the parameters; returns log|Lambda|, or NaN where a correlation matrix is not positive definite. */
  setParameters(u: ArrayLike<number>): number {
    let logdet = 0;
    if (this.variance) {
      this.variance.sd(this.variancePart(u), this.sd);
      for (let i = 0; i < this.n; i++) logdet += 2 * Math.log(this.sd[i]);
    }
    if (this.correlation) logdet += this.correlation.prepare(this.correlationPart(u));
    return logdet;
  }

  /** After setParameters: Lambda^{-1/2} M (each group's rows by the inverse root of C, after dividing by S). */
  whiten(M: RowMatrix): Float64Array {
    const { n } = this;
    const out = new Float64Array(M.data.length);
    for (let j = 0; j < M.ncol; j++) for (let i = 0; i < n; i++) out[i + j * n] = M.data[i + j * n] / this.sd[i];
    const cor = this.correlation;
    if (!cor) return out;
    cor.groups.forEach((rows, g) => {
      const v = new Float64Array(rows.length);
      for (let j = 0; j < M.ncol; j++) {
        const c = j * n;
        for (let i = 0; i < rows.length; i++) v[i] = out[c + rows[i]];
        cor.whitenGroup(g, v);
        for (let i = 0; i < rows.length; i++) out[c + rows[i]] = v[i];
      }
    });
    return out;
  }

  /**
   * Lambda^-1 as a fixed combination of row pairs, where it has one: no structure, a stratified
   * variance function alone, or a correlation with its own basis alone.
   */
  precisionBasis(): PrecisionBasis | undefined {
    const { correlation, variance } = this;
    if (correlation && variance) return undefined;
    // one structure alone: u is its parameters
    if (correlation || variance) return (correlation ?? variance)!.precisionBasis?.();
    const all = Int32Array.from({ length: this.n }, (_, i) => i);
    return { pairs: [{ left: all, right: all }], coefficients: () => [1] };
  }

  /** After setParameters: the relative standard deviation of each row (nlme's 1 / varWeights). */
  relativeSd(): Float64Array {
    return this.sd.slice();
  }
}
