/**
 * Kenward & Roger's (1997) small-sample inference for REML fits, as pbkrtest computes it
 * (vcovAdj, Lb_ddf, .KR_adjust) and lmerTest uses it (ddf = "Kenward-Roger"): the fixed effects'
 * covariance adjusted for the uncertainty of the variance parameters, and denominator df.
 *
 * The variance parameters are, as in pbkrtest, the elements of each term's covariance matrix
 * (lower triangle) and sigma², so that V = sum_i gamma_i G_i with G_i = Z D_i Z' (D_i picks one
 * covariance element in every level of its term) and G = I for sigma². pbkrtest forms V^-1 and
 * every G_i as n x n matrices; here, with S = sigma² V^-1, X'S^m X (m = 1, 2, 3) and Z'S^m X
 * come from S applied to X's columns, and the traces tr(S G_i S G_j), tr(S G_i S) and tr(S²)
 * from the fit's blocked factor (`MarginalPrecision`): time and memory grow with n only
 * linearly, and otherwise with the tail's random effects (the terms after the one with most
 * levels), cubically, and with the first term's levels, quadratically.
 */
import { ModelError } from '../errors';
import type { LinearMixedModel } from '../lmm/model';
import type { ColumnMap } from '../lmm/scaling';
import { multiply, symmetricEigen, transpose } from '../stats/small-dense';
import { MarginalPrecision } from './marginal-precision';

/** A variance parameter: a covariance element of one term (its index pairs in the random effects), or sigma². */
type RandomParameter = { kind: 'random'; term: number; element: [number, number][]; pairs: [number, number][] };
type VarianceParameter = RandomParameter | { kind: 'residual' };

export interface KenwardRoger {
  /** the adjusted covariance of the fixed effects (pbkrtest's vcovAdj), p x p */
  vcovAdjusted: Float64Array;
  /** the unadjusted covariance sigma² (X'V^-1X)^-1 */
  vcov: Float64Array;
  /** Kenward-Roger's denominator df for the hypothesis L beta = 0 (rows of L), pbkrtest's Lb_ddf */
  ddf(L: Float64Array[]): number;
  /** pbkrtest's F test of L beta = rhs: unscaled F, its scaling, numerator and denominator df */
  fTest(L: Float64Array[], rhsBeta?: ArrayLike<number>): { F: number; Fscaling: number; numDF: number; denDF: number };
}

const cache = new WeakMap<object, KenwardRoger>();

/** Kenward-Roger for a REML fit (an error for ML fits, as in lmerTest), computed once per model. */
export function kenwardRoger(model: LinearMixedModel): KenwardRoger {
  if (!model.REML) throw new ModelError("Kenward-Roger's method is only available for REML model fits");
  let kr = cache.get(model);
  if (!kr) {
    kr = model.rescaling ? mappedKenwardRoger(kenwardRoger(model.rescaling.fit), model.rescaling.scaling.fixed) : computeKenwardRoger(model);
    cache.set(model, kr);
  }
  return kr;
}

/** Kenward-Roger of a fit on mapped columns X = X~ T (see scaling.ts), for the user's coefficients beta = T^-1 beta~. */
function mappedKenwardRoger(kr: KenwardRoger, fixed: ColumnMap): KenwardRoger {
  const contrasts = (L: Float64Array[]) => L.map((l) => fixed.contrastForward(l));
  return {
    vcovAdjusted: fixed.backCovariance(kr.vcovAdjusted),
    vcov: fixed.backCovariance(kr.vcov),
    ddf: (L) => kr.ddf(contrasts(L)),
    fTest: (L, rhsBeta) => kr.fTest(contrasts(L), rhsBeta && fixed.forward(Float64Array.from(rhsBeta))),
  };
}

/** Symmetric inverse by eigen-decomposition, generalized (over eigenvalues above tolerance) when singular. */
function symmetricInverse(A: Float64Array, n: number, relativeTolerance: number): Float64Array {
  const { values, vectors } = symmetricEigen(A, n);
  const largest = Math.max(...Array.from(values, Math.abs));
  const out = new Float64Array(n * n);
  for (let m = 0; m < n; m++) {
    if (!(Math.abs(values[m]) > relativeTolerance * largest)) continue;
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) out[i + j * n] += (vectors[i + m * n] * vectors[j + m * n]) / values[m];
  }
  return out;
}

function computeKenwardRoger(model: LinearMixedModel): KenwardRoger {
  const { p } = model;
  const terms = model.terms;
  const precision = new MarginalPrecision(model);
  const { n, q, offsets } = precision;

  // S X and S² X column by column; C = Z'SX, C2 = Z'S²X, A = X'SX, A2 = X'S²X, A3 = X'S³X
  const SX: Float64Array[] = [];
  const S2X: Float64Array[] = [];
  for (let j = 0; j < p; j++) {
    SX.push(precision.apply(model.frame.X.slice(j * n, (j + 1) * n)));
    S2X.push(precision.apply(SX[j]));
  }
  const X = (j: number) => model.frame.X.subarray(j * n, (j + 1) * n);
  const C = new Float64Array(q * p);
  const C2 = new Float64Array(q * p);
  const A = new Float64Array(p * p);
  const A2 = new Float64Array(p * p);
  const A3 = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    C.set(precision.zCrossproduct(SX[j]), j * q);
    C2.set(precision.zCrossproduct(S2X[j]), j * q);
    for (let i = 0; i < p; i++) {
      A[i + j * p] = dot(X(i), SX[j]);
      A2[i + j * p] = dot(SX[i], SX[j]);
      A3[i + j * p] = dot(SX[i], S2X[j]);
    }
  }
  // M Y = Z'S Z Y for a q x p matrix Y
  const timesM = (Y: Float64Array): Float64Array => {
    const out = new Float64Array(q * p);
    for (let c = 0; c < p; c++) out.set(precision.zCrossproduct(precision.apply(precision.zTimes(Y.subarray(c * q, (c + 1) * q)))), c * q);
    return out;
  };

  const s2 = model.sigma * model.sigma;
  const Phi = symmetricInverse(A, p, 1e-14).map((v) => v * s2);

  // the variance parameters: each term's covariance elements (lower triangle, by column), then sigma²
  const parameters: VarianceParameter[] = [];
  terms.forEach((t, r) => {
    for (let b = 0; b < t.k; b++)
      for (let a = b; a < t.k; a++) {
        const pairs: [number, number][] = [];
        for (let l = 0; l < t.nlevels; l++) {
          const base = offsets[r] + l * t.k;
          pairs.push([base + a, base + b]);
          if (a !== b) pairs.push([base + b, base + a]);
        }
        parameters.push({
          kind: 'random',
          term: r,
          element:
            a !== b
              ? [
                  [a, b],
                  [b, a],
                ]
              : [[a, a]],
          pairs,
        });
      }
  });
  parameters.push({ kind: 'residual' });
  const g = parameters.length;

  // tr(D_i M D_j M) from the terms' tensors (see PairTensor), tr(D_i Z'S²Z) from its level blocks
  const tensors = new Map<string, Float64Array>();
  const tensor = (r: number, s: number) => {
    const key = `${r},${s}`;
    if (!tensors.has(key)) tensors.set(key, precision.pairTensor(r, s));
    return tensors.get(key)!;
  };
  const squares = new Map<number, Float64Array>();
  const square = (r: number) => {
    if (!squares.has(r)) squares.set(r, precision.squareDiagonal(r));
    return squares.get(r)!;
  };
  const randomTrace = (pi: RandomParameter, pj: RandomParameter) => {
    const kr = terms[pi.term].k;
    const ks = terms[pj.term].k;
    const T = tensor(pi.term, pj.term);
    let trace = 0;
    for (const [a, b] of pi.element) for (const [c, d] of pj.element) trace += T[a + kr * (b + kr * (c + ks * d))];
    return trace;
  };
  const residualTrace = (pi: RandomParameter) => {
    const k = terms[pi.term].k;
    const D2 = square(pi.term);
    let trace = 0;
    for (const [a, b] of pi.element) trace += D2[b + a * k];
    return trace;
  };

  // Y' D Y2 for q x p matrices Y, Y2 and D given by its index pairs
  const sandwich = (Y: Float64Array, pairs: [number, number][], Y2: Float64Array): Float64Array => {
    const out = new Float64Array(p * p);
    for (const [u, v] of pairs) for (let c = 0; c < p; c++) for (let r = 0; r < p; r++) out[r + c * p] += Y[u + r * q] * Y2[v + c * q];
    return out;
  };
  // D Y for D given by its index pairs (q x p)
  const applyD = (pairs: [number, number][], Y: Float64Array): Float64Array => {
    const out = new Float64Array(q * p);
    for (const [u, v] of pairs) for (let c = 0; c < p; c++) out[u + c * q] += Y[v + c * q];
    return out;
  };

  // P_i = -X'V^-1 G_i V^-1 X
  const P = parameters.map((par) => (par.kind === 'random' ? sandwich(C, par.pairs, C) : A2).map((v) => -v / (s2 * s2)));
  // M D_j C for the random parameters, reused by every Q_ij
  const MDC = parameters.map((par) => (par.kind === 'random' ? timesM(applyD(par.pairs, C)) : null));
  const Q: Float64Array[][] = parameters.map(() => []);
  const Ktrace = new Float64Array(g * g);
  for (let i = 0; i < g; i++)
    for (let j = i; j < g; j++) {
      const pi = parameters[i];
      const pj = parameters[j];
      let Qij: Float64Array;
      let trace: number;
      if (pi.kind === 'random' && pj.kind === 'random') {
        Qij = sandwich(C, pi.pairs, MDC[j]!);
        trace = randomTrace(pi, pj);
      } else if (pi.kind === 'random') {
        Qij = sandwich(C, pi.pairs, C2);
        trace = residualTrace(pi);
      } else if (pj.kind === 'random') {
        Qij = transpose(sandwich(C, pj.pairs, C2), p, p);
        trace = residualTrace(pj);
      } else {
        Qij = A3;
        trace = precision.traceS2;
      }
      Q[i][j] = Qij.map((v) => v / (s2 * s2 * s2));
      Q[j][i] = transpose(Q[i][j], p, p);
      Ktrace[i + j * g] = Ktrace[j + i * g] = trace / (s2 * s2);
    }

  // pbkrtest's IE2 = tr(V^-1 G_i V^-1 G_j) - 2 tr(Phi Q_ij) + tr(Phi P_i Phi P_j); W = 2 IE2^-1
  const PhiP = P.map((Pi) => multiply(Phi, Pi, p, p, p));
  const IE2 = new Float64Array(g * g);
  for (let i = 0; i < g; i++)
    for (let j = i; j < g; j++) {
      let v = Ktrace[i + j * g];
      for (let k = 0; k < p * p; k++) v -= 2 * Phi[k] * Q[i][j][k];
      for (let r = 0; r < p; r++) for (let c = 0; c < p; c++) v += PhiP[i][r + c * p] * PhiP[j][c + r * p];
      IE2[i + j * g] = IE2[j + i * g] = v;
    }
  const W = symmetricInverse(IE2, g, 1.5e-8).map((v) => 2 * v);

  // U = sum_ij W_ij (Q_ij - P_i Phi P_j); Phi_A = Phi + 2 Phi U Phi
  const UU = new Float64Array(p * p);
  for (let i = 0; i < g; i++)
    for (let j = 0; j < g; j++) {
      const w = W[i + j * g];
      if (w === 0) continue;
      const PPhiP = multiply(P[i], PhiP[j], p, p, p);
      for (let k = 0; k < p * p; k++) UU[k] += w * (Q[i][j][k] - PPhiP[k]);
    }
  const vcovAdjusted = multiply(multiply(Phi, UU, p, p, p), Phi, p, p, p).map((v, k) => Phi[k] + 2 * v);

  const adjustment = (L: Float64Array[]) => {
    const q0 = L.length;
    const Lm = new Float64Array(q0 * p);
    L.forEach((row, i) => row.forEach((v, j) => (Lm[i + j * q0] = v)));
    const LPhiLt = multiply(multiply(Lm, Phi, q0, p, p), transpose(Lm, q0, p), q0, p, q0);
    // Theta = L'(L Phi L')^-1 L; rank of L from the eigenvalues of L Phi L'
    const { values } = symmetricEigen(LPhiLt, q0);
    const rank = Array.from(values).filter((v) => v > 1e-10 * Math.max(...values)).length;
    const Theta = multiply(multiply(transpose(Lm, q0, p), symmetricInverse(LPhiLt, q0, 1e-10), p, q0, q0), Lm, p, q0, p);
    const ThetaPhi = multiply(Theta, Phi, p, p, p);
    // u_i = Theta Phi P_i Phi, with P_i Phi = (Phi P_i)' as both are symmetric
    const u = PhiP.map((PhiPi) => multiply(ThetaPhi, transpose(PhiPi, p, p), p, p, p));
    let A1 = 0;
    let A2 = 0;
    for (let i = 0; i < g; i++)
      for (let j = i; j < g; j++) {
        const e = i === j ? 1 : 2;
        const w = W[i + j * g];
        let ti = 0;
        let tj = 0;
        for (let k = 0; k < p; k++) {
          ti += u[i][k + k * p];
          tj += u[j][k + k * p];
        }
        let cross = 0;
        for (let r = 0; r < p; r++) for (let c = 0; c < p; c++) cross += u[i][r + c * p] * u[j][c + r * p];
        A1 += e * w * ti * tj;
        A2 += e * w * cross;
      }
    const qq = rank;
    const B = (A1 + 6 * A2) / (2 * qq);
    const gg = ((qq + 1) * A1 - (qq + 4) * A2) / ((qq + 2) * A2);
    const denominator = 3 * qq + 2 * (1 - gg);
    const c1 = gg / denominator;
    const c2 = (qq - gg) / denominator;
    const c3 = (qq + 2 - gg) / denominator;
    let V0 = 1 + c1 * B;
    const V1 = 1 - c2 * B;
    const V2 = 1 - c3 * B;
    if (Math.abs(V0) < 1e-10) V0 = 0;
    const ratio = V1 === 0 ? 0 : (1 - A2 / qq) / V1;
    const rho = ((1 / qq) * ratio * ratio * V0) / V2;
    const df2 = 4 + (qq + 2) / (qq * rho - 1);
    const Fscaling = Math.abs(df2 - 2) < 0.01 ? 1 : (df2 * (1 - A2 / qq)) / (df2 - 2);
    return { Lm, q0, rank, df2, Fscaling };
  };

  return {
    vcovAdjusted,
    vcov: Phi,
    ddf: (L) => adjustment(L).df2,
    fTest(L, rhsBeta = []) {
      const { Lm, q0, rank, df2, Fscaling } = adjustment(L);
      const diff = Array.from(model.beta, (b, j) => b - (rhsBeta[j] ?? 0));
      const Ld = Float64Array.from({ length: q0 }, (_, i) => diff.reduce((s, d, j) => s + Lm[i + j * q0] * d, 0));
      const LPhiALt = multiply(multiply(Lm, vcovAdjusted, q0, p, p), transpose(Lm, q0, p), q0, p, q0);
      const inv = symmetricInverse(LPhiALt, q0, 1e-10);
      let wald = 0;
      for (let i = 0; i < q0; i++) for (let j = 0; j < q0; j++) wald += Ld[i] * inv[i + j * q0] * Ld[j];
      return { F: wald / rank, Fscaling, numDF: rank, denDF: df2 };
    },
  };
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
