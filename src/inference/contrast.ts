/**
 * Tests of linear hypotheses L beta = 0 on the fixed effects, lmerTest's contest1D (t test) and
 * contestMD (F test, through the eigen-decomposition of Var(L beta) and get_Fstat_ddf), with
 * Satterthwaite's degrees of freedom for mixed models and the exact n - p for lm fits.
 */
import { formatColumn } from '../display/format';
import { htmlTable, textTable, type TableSpec } from '../display/html';
import type { MimeBundle } from '../display/mime';
import { ModelError } from '../errors';
import { fUpper, logFUpper, logTTwoSided, logTUpper, negLog10FromLn, tQuantile, tTwoSided, tUpper } from '../stats/distributions';
import { kenwardRoger } from './kenward-roger';
import type { LinearMixedModel } from '../lmm/model';
import { satterthwaiteTests } from '../lmm/coeftests';
import { fStatisticDdf, satterthwaite1D, varparInference, type SatterthwaiteModel } from '../lmm/satterthwaite';

export { fStatisticDdf };
import { multiply, quadraticForm, symmetricEigen, transpose } from '../stats/small-dense';

/** An lm fit as the tests need it (LinearModel). */
export interface OlsModel {
  readonly n: number;
  readonly p: number;
  readonly beta: ArrayLike<number>;
  readonly sigma: number;
  vcovMatrix(): Float64Array;
}

/** A model whose fixed effects can be tested: a mixed model (or one voxel of one), or an lm fit. */
export type TestableModel = (SatterthwaiteModel | OlsModel) & {
  readonly xNames?: string[];
  readonly frame?: { readonly droppedColumns: string[] };
};

/** A contrast: coefficients in the model's order, or by coefficient name (others 0). */
export type ContrastVector = ArrayLike<number> | Record<string, number>;

export function isMixedModel(model: TestableModel): model is SatterthwaiteModel & TestableModel {
  return ('system' in model && 'theta' in model && model.theta.length > 0) || 'varparInference' in model;
}

/** What the tests use: beta, its covariance, and the denominator df of any single contrast. */
interface TestBasis {
  p: number;
  beta: ArrayLike<number>;
  vcov: Float64Array;
  sigma: number;
  df1D(l: ArrayLike<number>): number;
}

/** Denominator df of mixed-model tests, lmerTest's `ddf`. */
export type DdfMethod = 'Satterthwaite' | 'Kenward-Roger';

/** Kenward-Roger needs the fitted model itself (its terms and REML flag), not a voxel's view of one. */
function kenwardRogerOf(model: TestableModel) {
  if (!('terms' in model) || !('frame' in model) || !('system' in model)) throw new ModelError("Kenward-Roger's method needs a fitted lmer() model");
  return kenwardRoger(model as unknown as LinearMixedModel);
}

function testBasis(model: TestableModel, ddf: DdfMethod = 'Satterthwaite'): TestBasis {
  if (ddf !== 'Satterthwaite' && ddf !== 'Kenward-Roger') throw new ModelError(`unknown ddf '${String(ddf)}': use 'Satterthwaite' or 'Kenward-Roger'`);
  if (isMixedModel(model) && ddf === 'Kenward-Roger') {
    const kr = kenwardRogerOf(model);
    return { p: model.p, beta: model.beta, vcov: kr.vcovAdjusted, sigma: model.sigma, df1D: (l) => kr.ddf([Float64Array.from(l)]) };
  }
  if (isMixedModel(model)) {
    const vi = varparInference(model);
    return { p: model.p, beta: model.beta, vcov: vi.vcovBeta, sigma: model.sigma, df1D: (l) => satterthwaite1D(model, l).df };
  }
  const ols = model as OlsModel;
  return { p: ols.p, beta: ols.beta, vcov: ols.vcovMatrix(), sigma: ols.sigma, df1D: () => ols.n - ols.p };
}

/**
 * The denominator df and two-sided p-value of every fixed effect (lmerTest's summary columns
 * "df" and "Pr(>|t|)"): Satterthwaite for mixed models, n - p for lm fits.
 */
export function coefficientTests(model: TestableModel, ddf: DdfMethod = 'Satterthwaite'): { df: number[]; p: number[]; se: number[] } {
  if (isMixedModel(model) && ddf === 'Satterthwaite') return satterthwaiteTests(model);
  const basis = testBasis(model, ddf);
  const unit = (j: number) => Float64Array.from({ length: basis.p }, (_, k) => (k === j ? 1 : 0));
  const df = Array.from({ length: basis.p }, (_, j) => basis.df1D(unit(j)));
  const se = df.map((_, j) => Math.sqrt(basis.vcov[j + j * basis.p]));
  const p = df.map((d, j) => tTwoSided(basis.beta[j] / se[j], d));
  return { df, p, se };
}

/** A contrast as a length-p vector, checked against the model's coefficients. */
export function contrastVector(model: TestableModel, l: ContrastVector, what = 'contrast'): Float64Array {
  const p = model.p;
  const names = model.xNames;
  let out: Float64Array;
  if (isArrayLike(l)) {
    if (l.length !== p) {
      const listed = names ? ` (${names.join(', ')})` : '';
      throw new ModelError(`${what} has length ${l.length} but the model has ${p} fixed-effect coefficients${listed}`);
    }
    out = Float64Array.from(l);
  } else {
    if (!names) throw new ModelError(`${what} given by coefficient names, but the model has no coefficient names`);
    out = new Float64Array(p);
    for (const [name, value] of Object.entries(l)) {
      const j = names.indexOf(name);
      if (j < 0) {
        if (model.frame?.droppedColumns.includes(name))
          throw new ModelError(`${what} is not estimable: coefficient '${name}' was dropped because its column is linearly dependent on earlier ones`);
        throw new ModelError(`${what} names an unknown coefficient '${name}'; the coefficients are: ${names.join(', ')}`);
      }
      out[j] = value;
    }
  }
  out.forEach((v, j) => {
    if (!Number.isFinite(v)) throw new ModelError(`${what} has a non-finite value ${v} at position ${j + 1}`);
  });
  if (out.every((v) => v === 0)) throw new ModelError(`${what} is all zeros: there is nothing to test`);
  return out;
}

function isArrayLike(l: ContrastVector): l is ArrayLike<number> {
  return ArrayBuffer.isView(l) || Array.isArray(l);
}

export interface TTestResult {
  kind: 't';
  estimate: number;
  se: number;
  df: number;
  t: number;
  /** two-sided p-value */
  p: number;
  /** -log10 of the two-sided p-value, exact far beyond the double range of p */
  negLog10P: number;
  /** one-sided p-value of the upper tail, P(T > t) */
  pUpper: number;
  negLog10PUpper: number;
  /** confidence interval for the contrast at `level` */
  lower: number;
  upper: number;
  level: number;
}

export interface FTestResult {
  kind: 'F';
  sumSq: number;
  meanSq: number;
  numDF: number;
  denDF: number;
  F: number;
  p: number;
  negLog10P: number;
}

export interface TTestOptions {
  /** confidence level of the interval (default 0.95) */
  level?: number;
  /** the hypothesised value of l'beta (default 0) */
  rhs?: number;
  /** denominator df of mixed models (default Satterthwaite) */
  ddf?: DdfMethod;
}

/** lmerTest's contest1D: the t test of l'beta = rhs. */
export function tTest(model: TestableModel, l: ContrastVector, options: TTestOptions = {}): TTestResult {
  const { level = 0.95, rhs = 0 } = options;
  const lv = contrastVector(model, l);
  const basis = testBasis(model, options.ddf);
  let estimate = 0;
  for (let j = 0; j < basis.p; j++) estimate += lv[j] * basis.beta[j];
  const se = Math.sqrt(quadraticForm(lv, basis.vcov, basis.p));
  const df = basis.df1D(lv);
  const t = (estimate - rhs) / se;
  const half = tQuantile((1 + level) / 2, df) * se;
  return {
    kind: 't',
    estimate,
    se,
    df,
    t,
    p: tTwoSided(t, df),
    negLog10P: negLog10FromLn(logTTwoSided(t, df)),
    pUpper: tUpper(t, df),
    negLog10PUpper: negLog10FromLn(logTUpper(t, df)),
    lower: estimate - half,
    upper: estimate + half,
    level,
  };
}

/** An F table row as lmerTest's mk_Ftable builds it. */
function fTable(F: number, numDF: number, denDF: number, sigma: number): FTestResult {
  const meanSq = F * sigma * sigma;
  return { kind: 'F', sumSq: meanSq * numDF, meanSq, numDF, denDF, F, p: fUpper(F, numDF, denDF), negLog10P: negLog10FromLn(logFUpper(F, numDF, denDF)) };
}

const NA_F: FTestResult = { kind: 'F', sumSq: NaN, meanSq: NaN, numDF: NaN, denDF: NaN, F: NaN, p: NaN, negLog10P: NaN };

/**
 * lmerTest's contestMD: the F test of L beta = rhs for the q x p matrix L (rows given as vectors).
 * Var(L beta) is eigen-decomposed; its q positive directions give q independent t statistics
 * whose mean square is F, with the denominator df from their Satterthwaite df (get_Fstat_ddf).
 * An L without rows (a term with no estimable columns) gives a row of NaN, as lmerTest gives NA.
 */
export function fTest(model: TestableModel, rows: Float64Array[], rhs: ArrayLike<number> = [], ddf: DdfMethod = 'Satterthwaite'): FTestResult {
  const basis = testBasis(model, ddf);
  const p = basis.p;
  const q0 = rows.length;
  if (q0 === 0) return NA_F;
  if (isMixedModel(model) && ddf === 'Kenward-Roger') {
    // pbkrtest's KRmodcomp as lmerTest reports it: the mean square of the unscaled F, the F scaled
    if (Array.from(rhs).some((v) => v !== 0)) throw new ModelError('Kenward-Roger F tests are of L beta = 0 only');
    const kr = kenwardRogerOf(model).fTest(rows);
    const F = kr.F * kr.Fscaling;
    const meanSq = kr.F * basis.sigma * basis.sigma;
    return {
      kind: 'F',
      sumSq: meanSq * kr.numDF,
      meanSq,
      numDF: kr.numDF,
      denDF: kr.denDF,
      F,
      p: fUpper(F, kr.numDF, kr.denDF),
      negLog10P: negLog10FromLn(logFUpper(F, kr.numDF, kr.denDF)),
    };
  }
  if (rhs.length !== 0 && rhs.length !== 1 && rhs.length !== q0) throw new ModelError(`the right-hand side has ${rhs.length} values for ${q0} contrast rows`);
  const rhsOf = (i: number) => (rhs.length === 0 ? 0 : rhs.length === 1 ? rhs[0] : rhs[i]);
  if (q0 === 1) {
    const t = tTest(model, rows[0], { rhs: rhsOf(0), ddf });
    return fTable(t.t * t.t, 1, t.df, basis.sigma);
  }
  const L = new Float64Array(q0 * p); // q0 x p, column-major
  rows.forEach((r, i) => r.forEach((v, j) => (L[i + j * q0] = v)));
  const VL = multiply(multiply(L, basis.vcov, q0, p, p), transpose(L, q0, p), q0, p, q0);
  const { values, vectors } = symmetricEigen(VL, q0);
  // beta - ginv(L) rhs, with ginv(L) = L'(L L')^+
  const beta = Float64Array.from(basis.beta);
  const r = Float64Array.from({ length: q0 }, (_, i) => rhsOf(i));
  if (r.some((v) => v !== 0)) {
    const LLt = multiply(L, transpose(L, q0, p), q0, p, q0);
    const e = symmetricEigen(LLt, q0);
    const w = new Float64Array(q0); // (L L')^+ rhs
    for (let m = 0; m < q0; m++) {
      if (!(e.values[m] > Math.sqrt(2.220446049250313e-16) * e.values[0])) continue;
      let dot = 0;
      for (let i = 0; i < q0; i++) dot += e.vectors[i + m * q0] * r[i];
      for (let i = 0; i < q0; i++) w[i] += (e.vectors[i + m * q0] * dot) / e.values[m];
    }
    for (let j = 0; j < p; j++) for (let i = 0; i < q0; i++) beta[j] -= L[i + j * q0] * w[i];
  }
  const tolerance = Math.max(Math.sqrt(2.220446049250313e-16) * values[0], 0);
  const q = values.filter((v) => v > tolerance).length;
  if (q === 0) return NA_F;
  // rows of P'L for the positive eigenvalues
  const PtL = Array.from({ length: q }, (_, m) => {
    const row = new Float64Array(p);
    for (let j = 0; j < p; j++) {
      let s = 0;
      for (let i = 0; i < q0; i++) s += vectors[i + m * q0] * L[i + j * q0];
      row[j] = s;
    }
    return row;
  });
  let sumT2 = 0;
  const nu: number[] = [];
  for (let m = 0; m < q; m++) {
    let est = 0;
    for (let j = 0; j < p; j++) est += PtL[m][j] * beta[j];
    sumT2 += (est * est) / values[m];
    nu.push(isMixedModel(model) ? mixedDf(model, PtL[m], values[m]) : basis.df1D(PtL[m]));
  }
  return fTable(sumT2 / q, q, fStatisticDdf(nu), basis.sigma);
}

/** 2 d^2 / (g'Ag) for a direction with variance d (lmerTest's nu_m). */
function mixedDf(model: SatterthwaiteModel, l: Float64Array, variance: number): number {
  const vi = varparInference(model);
  const g = vi.jacobian.map((J) => quadraticForm(l, J, model.p));
  return (2 * variance * variance) / quadraticForm(g, vi.covariance, g.length);
}

/** The result of `contrast()`: a t test for a vector, an F test for a matrix. */
export class ContrastResult {
  constructor(readonly test: TTestResult | FTestResult) {}

  private spec(): TableSpec {
    const t = this.test;
    if (t.kind === 't') {
      const values = [t.estimate, t.se, t.df, t.t, t.lower, t.upper, t.p, t.negLog10P];
      const columns = ['Estimate', 'Std. Error', 'df', 't value', 'lower', 'upper', 'Pr(>|t|)', '-log10(p)'];
      return { columns, rows: [values.map((v) => formatColumn([v], 7)[0])], rowLabels: ['1'], align: columns.map(() => 'right') };
    }
    const values = [t.sumSq, t.meanSq, t.numDF, t.denDF, t.F, t.p, t.negLog10P];
    const columns = ['Sum Sq', 'Mean Sq', 'NumDF', 'DenDF', 'F value', 'Pr(>F)', '-log10(p)'];
    return { columns, rows: [values.map((v) => formatColumn([v], 7)[0])], rowLabels: ['1'], align: columns.map(() => 'right') };
  }

  toString(): string {
    return textTable(this.spec());
  }

  toMimeBundle(): MimeBundle {
    return { 'text/plain': this.toString(), 'text/html': htmlTable(this.spec()) };
  }

  toJSON(): TTestResult | FTestResult {
    return this.test;
  }
}

/**
 * lmerTest's contest(model, L): a vector L gives the t test of l'beta = 0 (estimate, SE, df, t,
 * two-sided and upper one-sided p and -log10 p, confidence interval); a matrix (array of rows)
 * gives the joint F test. Contrasts may name coefficients: { Days: 1 } or [{ MachineB: 1 }, { MachineC: 1 }].
 */
export function contrast(
  model: TestableModel,
  L: ContrastVector | ContrastVector[],
  options: { level?: number; rhs?: number | number[]; ddf?: DdfMethod } = {},
): ContrastResult {
  const rhs = options.rhs === undefined ? [] : typeof options.rhs === 'number' ? [options.rhs] : options.rhs;
  if (Array.isArray(L) && L.length > 0 && typeof L[0] !== 'number') {
    const rows = (L as ContrastVector[]).map((row, i) => contrastVector(model, row, `row ${i + 1} of the contrast matrix`));
    return new ContrastResult(fTest(model, rows, rhs, options.ddf));
  }
  if (rhs.length > 1) throw new ModelError(`a contrast vector has one right-hand side, not ${rhs.length}`);
  return new ContrastResult(tTest(model, L as ContrastVector, { level: options.level, rhs: rhs[0] ?? 0, ddf: options.ddf }));
}
