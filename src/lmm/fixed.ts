import { Matrix } from 'ml-matrix';
import type { ModelFrame } from '../frame/types';

/** The fixed-effects coefficient table (lme4's summary columns). */
export interface CoefficientTable {
  term: string[];
  estimate: number[];
  se: number[];
  t: number[];
}

/**
 * What lm() and lmer() fits share: the model frame, fixed effects with their covariance, and
 * the likelihood criteria derived from the optimum of the one objective.
 */
export abstract class FixedEffectsFit {
  abstract readonly frame: ModelFrame;
  abstract readonly beta: Float64Array;
  abstract readonly sigma: number;
  /** -2 log-likelihood (ML) or the REML criterion at the optimum */
  abstract readonly objective: number;
  /** number of estimated parameters */
  abstract get dof(): number;
  /** (R_X' R_X)^{-1}: the fixed effects' covariance divided by sigma^2, p x p column-major */
  protected abstract readonly unscaledCov: Float64Array;

  get n(): number {
    return this.frame.n;
  }

  get p(): number {
    return this.frame.xNames.length;
  }

  get nobs(): number {
    return this.n;
  }

  get xNames(): string[] {
    return this.frame.xNames;
  }

  fixef(): Record<string, number> {
    return Object.fromEntries(this.xNames.map((name, i) => [name, this.beta[i]]));
  }

  /** covariance matrix of the fixed effects, p x p column-major */
  vcovMatrix(): Float64Array {
    const s2 = this.sigma * this.sigma;
    return this.unscaledCov.map((v) => v * s2);
  }

  /** lme4's vcov(fit): the fixed effects' covariance, p x p, rows and columns in `xNames` order */
  vcov(): Matrix {
    return columnMajorMatrix(this.vcovMatrix(), this.p, this.p);
  }

  /** R's model.matrix(fit) (lme4's getME(fit, 'X')): n x p, columns in `xNames` order */
  modelMatrix(): Matrix {
    return columnMajorMatrix(this.frame.X, this.n, this.p);
  }

  /** lme4's coef(summary(fit)): estimate, standard error and t value per fixed effect (see coef() for per-level coefficients) */
  coefTable(): CoefficientTable {
    const v = this.vcovMatrix();
    const estimate = Array.from(this.beta);
    const se = estimate.map((_, i) => Math.sqrt(v[i + i * this.p]));
    return { term: [...this.xNames], estimate, se, t: estimate.map((b, i) => b / se[i]) };
  }

  logLik(): number {
    return -this.objective / 2;
  }

  AIC(): number {
    return this.objective + 2 * this.dof;
  }

  BIC(): number {
    return this.objective + this.dof * Math.log(this.n);
  }

  /** X beta */
  protected fixedPart(): Float64Array {
    const { n, p } = this;
    const X = this.frame.X;
    const out = new Float64Array(n);
    for (let j = 0; j < p; j++) {
      const bj = this.beta[j];
      for (let r = 0; r < n; r++) out[r] += X[r + j * n] * bj;
    }
    return out;
  }

  abstract fitted(): Float64Array;

  residuals(): Float64Array {
    const f = this.fitted();
    const y = this.frame.y!;
    return f.map((v, i) => y[i] - v);
  }
}

/** An ml-matrix Matrix (the API's matrix type) from a column-major array. */
function columnMajorMatrix(values: Float64Array, rows: number, columns: number): Matrix {
  const m = new Matrix(rows, columns);
  for (let j = 0; j < columns; j++) for (let i = 0; i < rows; i++) m.set(i, j, values[i + j * rows]);
  return m;
}
