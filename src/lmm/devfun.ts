/**
 * The deviance function of a mixed model (lme4's devfun, MixedModels.jl's objective on a model
 * copy): theta -> the profiled deviance or REML criterion, and (theta, sigma) -> the deviance
 * lmerTest differentiates. It is what a fit optimizes and what Satterthwaite's method, profiles
 * and refits evaluate afterwards, so that none of them touches a fitted model's results (a
 * LinearMixedModel keeps its own copies).
 *
 * Deviance functions derived from one another (another response, ML instead of REML) share the
 * blocked system's symbolic structure (orderings, supernodes, cross-products of Z and X); the
 * system holds one response at a time, and a function puts its own back before evaluating.
 */
import { BlockedSystem, type Evaluation, type ResponseProducts } from './blocked';
import { profiledDeviance, varparDeviance } from './objective';
import type { ReTerm } from './reterm';

/** The structure shared by derived deviance functions, and the response it holds. */
interface SharedSystem {
  system: BlockedSystem;
  response: ResponseProducts;
}

export class DevianceFunction {
  private constructor(
    private readonly shared: SharedSystem,
    /** random-effects terms in the system's order; their lambda is the last evaluation's */
    readonly terms: ReTerm[],
    readonly X: Float64Array,
    readonly y: Float64Array,
    readonly p: number,
    readonly REML: boolean,
    private readonly products: ResponseProducts,
  ) {}

  /** A new system for these terms and fixed effects (the symbolic analysis happens here). */
  static create(terms: ReTerm[], X: Float64Array, y: Float64Array, p: number, REML: boolean): DevianceFunction {
    const products = responseProducts(terms, X, y, p);
    return new DevianceFunction({ system: new BlockedSystem(terms, X, y, p), response: products }, terms, X, y, p, REML, products);
  }

  /** The same structure with another response and/or criterion (lme4's refit, refitML). */
  derive(changes: { y?: Float64Array; REML?: boolean }): DevianceFunction {
    const y = changes.y ?? this.y;
    const products = changes.y ? responseProducts(this.terms, this.X, y, this.p) : this.products;
    return new DevianceFunction(this.shared, this.terms, this.X, y, this.p, changes.REML ?? this.REML, products);
  }

  get n(): number {
    return this.y.length;
  }

  /** The blocked system holding this function's response (its factorization is the last evaluation's). */
  get system(): BlockedSystem {
    if (this.shared.response !== this.products) {
      this.shared.system.setResponse(this.products);
      this.shared.response = this.products;
    }
    return this.shared.system;
  }

  /** Factorizes the system at theta (null if not positive definite). */
  evaluate(theta: ArrayLike<number>): Evaluation | null {
    return this.system.evaluate(theta);
  }

  /** The profiled deviance (ML) or REML criterion at theta; Infinity where the system is not positive definite. */
  objective(theta: ArrayLike<number>): number {
    const e = this.evaluate(theta);
    return e ? profiledDeviance(e, this.n, this.p, this.REML) : Infinity;
  }

  /** The deviance at (theta, sigma), lmerTest's devfun_vp; Infinity where the system is not positive definite. */
  varparDeviance(theta: ArrayLike<number>, sigma: number): number {
    const e = this.evaluate(theta);
    return e ? varparDeviance(e, this.n, this.p, this.REML, sigma) : Infinity;
  }
}

/** Z_l'y per term and level (k per level), X'y and y'y: what the system needs of a response. */
function responseProducts(terms: ReTerm[], X: Float64Array, y: Float64Array, p: number): ResponseProducts {
  const n = y.length;
  const zty = terms.map((t) => {
    const out = new Float64Array(t.nlevels * t.k);
    for (let r = 0; r < n; r++) for (let c = 0; c < t.k; c++) out[t.codes[r] * t.k + c] += t.z[r + c * n] * y[r];
    return out;
  });
  const xty = new Float64Array(p);
  for (let j = 0; j < p; j++) for (let r = 0; r < n; r++) xty[j] += X[r + j * n] * y[r];
  let yty = 0;
  for (let r = 0; r < n; r++) yty += y[r] * y[r];
  return { zty, xty, yty };
}
