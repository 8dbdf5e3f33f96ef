/**
 * Parametric simulation and bootstrap: lme4's simulate(model, nsim, seed) draws new responses
 * from the fitted model (new random effects and residuals), in lme4's order of random draws so
 * that with the same seed R gives the same numbers; bootstrap refits reuse the model frame with
 * the simulated response.
 */
import { ModelError } from '../errors';
import { LinearModel } from '../lmm/lm';
import { LinearMixedModel } from '../lmm/model';
import { randomSeed, RRandom } from '../stats/rng';

export interface SimulateOptions {
  /** number of simulated responses (default 1) */
  nsim?: number;
  /** R's set.seed(seed) before drawing (default: a random seed) */
  seed?: number;
}

/**
 * lme4's simulate(model, nsim, seed) with re.form = NA: y* = X beta + sigma (Z Lambda u + e),
 * u and e standard normal; all nsim u vectors are drawn first, then the residuals (as lme4
 * does). For lm fits, R's simulate.lm: fitted + sigma e.
 */
export function simulate(model: LinearMixedModel | LinearModel, options: SimulateOptions = {}): Float64Array[] {
  const nsim = options.nsim ?? 1;
  if (!Number.isInteger(nsim) || nsim < 1) throw new ModelError(`nsim must be a positive whole number, not ${nsim}`);
  const rng = new RRandom(options.seed ?? randomSeed());
  const { n, p, sigma } = model;
  const X = model.frame.X;
  const eta = new Float64Array(n);
  for (let j = 0; j < p; j++) for (let i = 0; i < n; i++) eta[i] += X[i + j * n] * model.beta[j];
  const out = Array.from({ length: nsim }, () => Float64Array.from(eta));
  if (model instanceof LinearMixedModel) {
    const q = model.terms.reduce((s, t) => s + t.nlevels * t.k, 0);
    const u = rng.normals(q * nsim);
    out.forEach((y, s) => {
      let offset = s * q;
      for (const [ti, term] of model.terms.entries()) {
        const { k, z, codes } = term;
        const lam = model.lambda[ti];
        for (let i = 0; i < n; i++) {
          const base = offset + codes[i] * k;
          // (Z Lambda u)_i = sum_a z_ia sum_{c <= a} lambda_ac u_c
          let s2 = 0;
          for (let a = 0; a < k; a++) {
            let b = 0;
            for (let c = 0; c <= a; c++) b += lam[a + c * k] * u[base + c];
            s2 += z[i + a * n] * b;
          }
          y[i] += sigma * s2;
        }
        offset += term.nlevels * k;
      }
    });
  }
  const e = rng.normals(n * nsim);
  out.forEach((y, s) => {
    for (let i = 0; i < n; i++) y[i] += sigma * e[s * n + i];
  });
  return out;
}

/** The model refitted to a new response on the same model frame (lme4's refit). */
export function refit(model: LinearMixedModel | LinearModel, y: Float64Array): LinearMixedModel | LinearModel {
  if (model instanceof LinearMixedModel) return model.refit(y);
  if (y.length !== model.n) throw new ModelError(`the new response has ${y.length} values for ${model.n} observations`);
  return new LinearModel({ ...model.frame, y }, model.dataName);
}
