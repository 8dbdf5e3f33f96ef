/**
 * BlockedSystem (first-term elimination, minimum-degree tail, supernodal factor, selected
 * inversion, profiled small terms) against the penalized least-squares system written out densely: on crossed
 * designs with a vector term in the tail, the log-determinants and the penalized residual sum of
 * squares must be those of
 *   A = [L'Z'Z L + I, L'Z'X; X'Z L, X'X],  b = [L'Z'y; X'y],  r2 = y'y - b' A^{-1} b
 * with log|L_Z|^2 = log|L'Z'Z L + I| and log|R_X|^2 = log|A| - log|L_Z|^2.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { choleskyLower, solveLower } from '../src/linalg/dense';
import { lmer } from '../src/lmm/lmer';
import { minimizeBounded } from '../src/lmm/optimize';
import { assertGradientMatchesDifferences } from './helpers';

/** seeded crossed data: g1 with `levels1` levels, g2 with `levels2`, a covariate x */
function crossed(n: number, levels1: number, levels2: number, seed: number): Record<string, (number | string)[]> {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const g1: string[] = [];
  const g2: string[] = [];
  const x: number[] = [];
  const y: number[] = [];
  const b1 = Array.from({ length: levels1 }, () => rnd() - 0.5);
  const b2 = Array.from({ length: levels2 }, () => [rnd() - 0.5, 0.3 * (rnd() - 0.5)]);
  for (let i = 0; i < n; i++) {
    const a = Math.floor(rnd() * levels1);
    const b = Math.floor(rnd() * levels2);
    const xi = rnd() * 4;
    g1.push(`a${a}`);
    g2.push(`b${b}`);
    x.push(xi);
    y.push(1 + 0.5 * xi + b1[a] + b2[b][0] + b2[b][1] * xi + 0.3 * (rnd() - 0.5));
  }
  return { g1, g2, x, y };
}

/** log|M| and M^{-1} v for a symmetric positive definite q x q matrix (column-major) */
function logdetAndSolve(M: Float64Array, q: number, v: Float64Array): { logdet: number; solution: Float64Array } {
  const l = M.slice();
  assert.ok(choleskyLower(l, q));
  let logdet = 0;
  for (let i = 0; i < q; i++) logdet += 2 * Math.log(l[i + i * q]);
  const w = v.slice();
  solveLower(l, q, w);
  // L' x = w
  for (let j = q - 1; j >= 0; j--) {
    let t = w[j];
    for (let i = j + 1; i < q; i++) t -= l[i + j * q] * w[i];
    w[j] = t / l[j + j * q];
  }
  return { logdet, solution: w };
}

for (const [formula, n, levels1, levels2] of [
  // few observations per level: the tail fills in sparsely, so the factor has many supernodes
  ['y ~ x + (1 | g1) + (1 + x | g2)', 400, 150, 60],
  ['y ~ x + (1 + x | g1) + (1 | g2)', 300, 120, 80],
  // a small scalar term beside the first: its levels grouped by Z_l'Z_l over the small tail
  ['y ~ x + (1 | g1) + (1 | g2)', 400, 150, 5],
  // one term whose levels all differ in Z_l'Z_l (x is continuous), with a factor in X: each level
  // touches few columns (the stacked first block); 2 x 2 written out, and a general 3 x 3
  ['y ~ x + g2 + (1 + x | g1)', 300, 60, 6],
  ['y ~ x + g2 + (1 + x + I(x^2) | g1)', 400, 50, 4],
] as const) {
  test(`blocked system equals the dense PLS system: ${formula}`, () => {
    const model = lmer(formula, crossed(n, levels1, levels2, levels1 + levels2), { maxEvaluations: 1 });
    const { terms, system } = model;
    const X = model.frame.X;
    const y = model.frame.y!;
    const p = model.p;
    const thetas = [
      terms.flatMap((t) => t.thetaLowerBounds().map((_, i) => 0.4 + 0.1 * i)),
      terms.flatMap((t) => t.thetaLowerBounds().map((_, i) => 1.3 - 0.2 * i)),
    ];
    for (const theta of thetas) {
      const e = system.evaluate(theta)!;
      // Z Lambda, densely: each term's block of k columns per level
      const offsets: number[] = [];
      let q = 0;
      for (const t of terms) {
        offsets.push(q);
        q += t.nlevels * t.k;
      }
      const ZL = new Float64Array(n * q);
      terms.forEach((t, ti) => {
        for (let r = 0; r < n; r++)
          for (let b = 0; b < t.k; b++) {
            let v = 0;
            for (let a = b; a < t.k; a++) v += t.z[r + a * n] * t.lambda[a + b * t.k];
            ZL[r + (offsets[ti] + t.codes[r] * t.k + b) * n] = v;
          }
      });
      const W = new Float64Array(n * (q + p));
      W.set(ZL);
      W.set(X.subarray(0, n * p), n * q);
      const size = q + p;
      const A = new Float64Array(size * size);
      const b = new Float64Array(size);
      for (let j = 0; j < size; j++) {
        for (let i = 0; i < size; i++) {
          let v = 0;
          for (let r = 0; r < n; r++) v += W[r + i * n] * W[r + j * n];
          A[i + j * size] = v + (i === j && i < q ? 1 : 0);
        }
        let v = 0;
        for (let r = 0; r < n; r++) v += W[r + j * n] * y[r];
        b[j] = v;
      }
      const Azz = new Float64Array(q * q);
      for (let j = 0; j < q; j++) for (let i = 0; i < q; i++) Azz[i + j * q] = A[i + j * size];
      const logdetZ = logdetAndSolve(Azz, q, new Float64Array(q)).logdet;
      const full = logdetAndSolve(A, size, b);
      let r2 = 0;
      for (let r = 0; r < n; r++) r2 += y[r] * y[r];
      for (let j = 0; j < size; j++) r2 -= b[j] * full.solution[j];
      assert.ok(Math.abs(e.logdetZ - logdetZ) < 1e-9 * Math.abs(logdetZ), `log|L_Z|^2 ${e.logdetZ} vs ${logdetZ}`);
      assert.ok(Math.abs(e.logdetX - (full.logdet - logdetZ)) < 1e-8 * Math.abs(full.logdet), `log|R_X|^2`);
      assert.ok(Math.abs(e.pwrss - r2) < 1e-9 * r2, `pwrss ${e.pwrss} vs ${r2}`);
      // the spherical random effects and beta: the dense system's solution
      const { u, beta } = system.solve();
      const solution = [...u.flatMap((x) => Array.from(x)), ...beta];
      const scale = Math.max(...full.solution.map(Math.abs));
      solution.forEach((x, i) => assert.ok(Math.abs(x - full.solution[i]) < 1e-8 * scale, `solution[${i}] ${x} vs ${full.solution[i]}`));
    }
  });

  test(`analytic gradient on the sparse tail, REML and ML: ${formula}`, () => {
    const data = crossed(n, levels1, levels2, levels1 + levels2);
    for (const REML of [true, false]) {
      const model = lmer(formula, data, { REML, maxEvaluations: 1 });
      assertGradientMatchesDifferences(
        model,
        model.terms.flatMap((t) => t.thetaLowerBounds().map((_, i) => 0.7 + 0.15 * i)),
        REML,
        1e-5,
        1e-5,
      );
    }
  });
}

/** a wide crossed design (600 x 300 levels) with a small third factor carrying a random slope */
function wideWithSmallTerm(seed: number): Record<string, (number | string)[]> {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const data: Record<string, (number | string)[]> = { g1: [], g2: [], g3: [], x: [], y: [] };
  const b3 = Array.from({ length: 10 }, () => [rnd() - 0.5, rnd() - 0.5]);
  for (let i = 0; i < 3000; i++) {
    const c = Math.floor(rnd() * 10);
    const x = rnd() * 2;
    data.g1.push(`s${Math.floor(rnd() * 600)}`);
    data.g2.push(`d${Math.floor(rnd() * 300)}`);
    data.g3.push(`c${c}`);
    data.x.push(x);
    data.y.push(1 + x + b3[c][0] + b3[c][1] * x + rnd() - 0.5);
  }
  return data;
}

test('a small term in a wide tail is profiled: its trailing-block evaluation and the finished factorization equal the full ones', () => {
  const data = wideWithSmallTerm(7);
  const formula = 'y ~ x + (1 | g1) + (1 | g2) + (1 + x | g3)';
  for (const REML of [true, false]) {
    const model = lmer(formula, data, { REML, maxEvaluations: 1 });
    const system = model.system;
    const profile = system.cheap!;
    assert.deepEqual(profile.terms, [2]);
    const cheap = profile.thetaIndices();
    for (const theta of [
      [0.5, 0.8, 1.2, 0.3, 0.6],
      [0.2, 1.1, 0.4, -0.2, 0.9],
    ]) {
      const full = system.evaluate(theta)!;
      const gradient = Array.from(system.gradient(REML)!);
      assert.ok(profile.profile(theta.map((v, i) => (cheap.includes(i) ? 7 : v))), 'the profile ignores the cheap elements given');
      const profiled = profile.evaluate(cheap.map((i) => theta[i]))!;
      assert.ok(Math.abs(profiled.logdetZ - full.logdetZ) < 1e-9 * Math.abs(full.logdetZ));
      assert.ok(Math.abs(profiled.logdetX - full.logdetX) < 1e-9 * Math.abs(full.logdetX));
      assert.ok(Math.abs(profiled.pwrss - full.pwrss) < 1e-9 * full.pwrss);
      assert.ok(profile.finish(theta));
      system.gradient(REML)!.forEach((g, i) => assert.ok(Math.abs(g - gradient[i]) < 1e-7 * Math.max(1, Math.abs(gradient[i])), `gradient[${i}]`));
    }
    // the profiled search reaches the optimum of the plain one
    const fitted = lmer(formula, data, { REML });
    const plain = minimizeBounded(
      (theta) => fitted.objectiveAt(theta),
      fitted.theta.map((v) => v * 0.8 + 0.05),
      [0, 0, 0, -Infinity, 0],
      {
        gradient: () => fitted.system.gradient(REML),
      },
    );
    assert.ok(fitted.objective <= plain.fx + 1e-7, `${fitted.objective} vs ${plain.fx}`);
    assert.ok(Math.abs(fitted.objective - plain.fx) < 1e-5);
  }
});
