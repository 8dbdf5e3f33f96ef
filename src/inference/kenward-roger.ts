/**
 * Kenward & Roger's (1997) small-sample inference for REML fits, as pbkrtest computes it
 * (vcovAdj, Lb_ddf, .KR_adjust) and lmerTest uses it (ddf = "Kenward-Roger"): the fixed effects'
 * covariance adjusted for the uncertainty of the variance parameters, and denominator df.
 *
 * The variance parameters are, as in pbkrtest, the elements of each term's covariance matrix
 * (lower triangle) and sigma², so that V = sum_i gamma_i G_i with G_i = Z D_i Z' (D_i picks one
 * covariance element in every level of its term) and G = I for sigma². pbkrtest forms V^-1 and
 * every G_i as n x n matrices; here every quantity is reduced to the random effects' space.
 * With B = Z Lambda, K = (B'B + I)^-1 and S = sigma² V^-1 = I - B K B', the products U' S^m U
 * (m = 1, 2, 3) of U = [Z X] follow from U'U, B'U and K alone, and so do tr(S²) and every
 * trace and product KR needs. Memory and time grow with (q + p)², (q + p)³ for q random effects
 * and p fixed effects, not with n.
 */
import { ModelError } from '../errors';
import { choleskyInverse, choleskyLower } from '../linalg/dense';
import type { LinearMixedModel } from '../lmm/model';
import type { ColumnMap } from '../lmm/scaling';
import { multiply, symmetricEigen, transpose } from '../stats/small-dense';

/** A variance parameter: a covariance element of one term (its index pairs in the random effects), or sigma². */
type VarianceParameter = { kind: 'random'; pairs: [number, number][] } | { kind: 'residual' };

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

/** rows r0..r0+nr, columns c0..c0+nc of an m x m matrix */
function block(T: Float64Array, m: number, r0: number, nr: number, c0: number, nc: number): Float64Array {
  const out = new Float64Array(nr * nc);
  for (let j = 0; j < nc; j++) for (let i = 0; i < nr; i++) out[i + j * nr] = T[r0 + i + (c0 + j) * m];
  return out;
}

function computeKenwardRoger(model: LinearMixedModel): KenwardRoger {
  const { n, p } = model;
  const X = model.frame.X;
  const terms = model.terms;
  const offsets: number[] = [];
  let q = 0;
  for (const t of terms) {
    offsets.push(q);
    q += t.nlevels * t.k;
  }
  const m = q + p;

  // U'U for U = [Z X], one row at a time through its nonzeros
  const UtU = new Float64Array(m * m);
  const index: number[] = [];
  const value: number[] = [];
  for (let i = 0; i < n; i++) {
    index.length = value.length = 0;
    terms.forEach((t, r) => {
      for (let a = 0; a < t.k; a++) {
        index.push(offsets[r] + t.codes[i] * t.k + a);
        value.push(t.z[i + a * n]);
      }
    });
    for (let j = 0; j < p; j++) {
      index.push(q + j);
      value.push(X[i + j * n]);
    }
    for (let b = 0; b < index.length; b++) {
      const col = index[b] * m;
      for (let a = 0; a < index.length; a++) UtU[index[a] + col] += value[a] * value[b];
    }
  }

  // Lambda (block diagonal, lower-triangular blocks) from theta
  const lambdas: Float64Array[] = [];
  let offsetTheta = 0;
  for (const t of terms) {
    const lam = new Float64Array(t.k * t.k);
    for (let j = 0; j < t.k; j++) for (let i = j; i < t.k; i++) lam[i + j * t.k] = model.theta[offsetTheta++];
    lambdas.push(lam);
  }
  // B'U = Lambda' (Z'U): rows of each level block multiplied by lambda'
  const BtU = new Float64Array(q * m);
  terms.forEach((t, r) => {
    const lam = lambdas[r];
    for (let l = 0; l < t.nlevels; l++) {
      const base = offsets[r] + l * t.k;
      for (let c = 0; c < m; c++)
        for (let a = 0; a < t.k; a++) {
          let s = 0;
          for (let b = a; b < t.k; b++) s += lam[b + a * t.k] * UtU[base + b + c * m];
          BtU[base + a + c * q] = s;
        }
    }
  });
  // B'B = (B'U) restricted to Z's columns, times Lambda on the right
  const BtB = new Float64Array(q * q);
  terms.forEach((t, r) => {
    const lam = lambdas[r];
    for (let l = 0; l < t.nlevels; l++) {
      const base = offsets[r] + l * t.k;
      for (let a = 0; a < t.k; a++)
        for (let row = 0; row < q; row++) {
          let s = 0;
          for (let b = a; b < t.k; b++) s += BtU[row + (base + b) * q] * lam[b + a * t.k];
          BtB[row + (base + a) * q] = s;
        }
    }
  });
  const W0 = Float64Array.from(BtB);
  for (let i = 0; i < q; i++) W0[i + i * q] += 1;
  if (!choleskyLower(W0, q)) throw new ModelError('Kenward-Roger: the random-effects system is not positive definite');
  const K = choleskyInverse(W0, q);

  // T1 = U'SU, T2 = U'S²U, T3 = U'S³U with S = I - B K B'
  const R = multiply(K, BtU, q, q, m); // K B'U
  const BtUt = transpose(BtU, q, m);
  const T1 = UtU.slice();
  const BtUR = multiply(BtUt, R, m, q, m); // (B'U)' K (B'U)
  for (let i = 0; i < m * m; i++) T1[i] -= BtUR[i];
  const BtBR = multiply(BtB, R, q, q, m);
  const RtBtBR = multiply(transpose(R, q, m), BtBR, m, q, m);
  const T2 = new Float64Array(m * m);
  for (let i = 0; i < m * m; i++) T2[i] = UtU[i] - 2 * BtUR[i] + RtBtBR[i];
  const BtSU = new Float64Array(q * m); // B'(SU) = B'U - B'B K B'U
  for (let i = 0; i < q * m; i++) BtSU[i] = BtU[i] - BtBR[i];
  const T3 = multiply(transpose(BtSU, q, m), multiply(K, BtSU, q, q, m), m, q, m);
  for (let i = 0; i < m * m; i++) T3[i] = T2[i] - T3[i];
  const KBtB = multiply(K, BtB, q, q, q);
  let traceS2 = n;
  for (let i = 0; i < q; i++) traceS2 -= 2 * KBtB[i + i * q];
  for (let i = 0; i < q; i++) for (let j = 0; j < q; j++) traceS2 += KBtB[i + j * q] * KBtB[j + i * q];

  const Mz = block(T1, m, 0, q, 0, q); // Z'SZ
  const C = block(T1, m, 0, q, q, p); // Z'SX
  const A = block(T1, m, q, p, q, p); // X'SX
  const Mz2 = block(T2, m, 0, q, 0, q);
  const C2 = block(T2, m, 0, q, q, p);
  const A2 = block(T2, m, q, p, q, p);
  const A3 = block(T3, m, q, p, q, p);

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
        parameters.push({ kind: 'random', pairs });
      }
  });
  parameters.push({ kind: 'residual' });
  const g = parameters.length;

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
  const MDC = parameters.map((par) => (par.kind === 'random' ? multiply(Mz, applyD(par.pairs, C), q, q, p) : null));
  const Q: Float64Array[][] = parameters.map(() => []);
  const Ktrace = new Float64Array(g * g);
  for (let i = 0; i < g; i++)
    for (let j = i; j < g; j++) {
      const pi = parameters[i];
      const pj = parameters[j];
      let Qij: Float64Array;
      let trace = 0;
      if (pi.kind === 'random' && pj.kind === 'random') {
        Qij = sandwich(C, pi.pairs, MDC[j]!);
        for (const [u, v] of pi.pairs) for (const [w, x] of pj.pairs) trace += Mz[x + u * q] * Mz[v + w * q];
      } else if (pi.kind === 'random') {
        Qij = sandwich(C, pi.pairs, C2);
        for (const [u, v] of pi.pairs) trace += Mz2[v + u * q];
      } else if (pj.kind === 'random') {
        Qij = transpose(sandwich(C, pj.pairs, C2), p, p);
        for (const [u, v] of pj.pairs) trace += Mz2[v + u * q];
      } else {
        Qij = A3;
        trace = traceS2;
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
