/**
 * The residual covariance sigma^2 Lambda of an nlme model, Lambda = S C S with S the variance
 * function's standard deviations and C the block-diagonal correlation, and its whitening: nlme
 * multiplies each group's rows of [Z X y] by the inverse Cholesky factor of its block of Lambda
 * (compound symmetry: nlme's Helmert-type root instead) and then solves an ordinary mixed model;
 * the likelihood gains -log|Lambda| / 2.
 */
import { choleskyLower, solveLower } from '../linalg/dense';
import type { BoundCorStruct } from './corstruct';
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
  private readonly factors: Float64Array[];

  constructor(readonly n: number, readonly correlation?: BoundCorStruct, readonly variance?: BoundVarFunc) {
    this.npar = (correlation?.npar ?? 0) + (variance?.npar ?? 0);
    this.start = [...(correlation?.start ?? []), ...(variance?.start ?? [])];
    this.sd = new Float64Array(n).fill(1);
    this.factors = correlation ? correlation.groups.map((g) => new Float64Array(g.length * g.length)) : [];
  }

  correlationPart(u: ArrayLike<number>): number[] {
    return Array.from(u).slice(0, this.correlation?.npar ?? 0);
  }

  variancePart(u: ArrayLike<number>): number[] {
    return Array.from(u).slice(this.correlation?.npar ?? 0);
  }

  /**
   * Sets the parameters: the relative standard deviations and each group's Cholesky factor of C.
   * Returns log|Lambda|, or NaN where a correlation matrix is not positive definite.
   */
  setParameters(u: ArrayLike<number>): number {
    let logdet = 0;
    if (this.variance) {
      this.variance.sd(this.variancePart(u), this.sd);
      for (let i = 0; i < this.n; i++) logdet += 2 * Math.log(this.sd[i]);
    }
    const cor = this.correlation;
    if (cor) {
      const cu = this.correlationPart(u);
      for (let g = 0; g < cor.groups.length; g++) {
        const m = cor.groups[g].length;
        const L = this.factors[g];
        if (cor.inverseRoot) logdet += cor.inverseRoot(cu, g, L);
        else {
          cor.correlation(cu, g, L);
          if (!choleskyLower(L, m)) return NaN;
          for (let i = 0; i < m; i++) logdet += 2 * Math.log(L[i + i * m]);
        }
      }
    }
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
      const m = rows.length;
      const F = this.factors[g];
      const v = new Float64Array(m);
      for (let j = 0; j < M.ncol; j++) {
        const c = j * n;
        for (let i = 0; i < m; i++) v[i] = out[c + rows[i]];
        if (cor.inverseRoot) {
          for (let i = 0; i < m; i++) {
            let s = 0;
            for (let k = 0; k < m; k++) s += F[i + k * m] * v[k];
            out[c + rows[i]] = s;
          }
        } else {
          solveLower(F, m, v);
          for (let i = 0; i < m; i++) out[c + rows[i]] = v[i];
        }
      }
    });
    return out;
  }

  /** After setParameters: the relative standard deviation of each row (nlme's 1 / varWeights). */
  relativeSd(): Float64Array {
    return this.sd.slice();
  }
}
