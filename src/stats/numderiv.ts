/**
 * Numerical derivatives by Richardson extrapolation, step for step as R's numDeriv package
 * computes them (genD for the Hessian, jacobian.default for Jacobians), because lmerTest's
 * Satterthwaite degrees of freedom are defined through these very approximations: with the
 * same steps and extrapolation we reproduce lmerTest's numbers, not merely the exact derivatives.
 */

/** numDeriv's zero.tol: coordinates smaller than this get the absolute step `eps` */
const ZERO_TOLERANCE = Math.sqrt(2.220446049250313e-16 / 7e-7);

export interface RichardsonOptions {
  /** relative step (numDeriv's d): 0.1 for hessian(), 1e-4 for jacobian() */
  d: number;
  /** absolute step for coordinates near zero */
  eps?: number;
  /** number of step halvings (numDeriv's r; v = 2 is fixed) */
  r?: number;
}

function initialSteps(x: ArrayLike<number>, d: number, eps: number): Float64Array {
  return Float64Array.from(x, (v) => Math.abs(d * v) + (Math.abs(v) < ZERO_TOLERANCE ? eps : 0));
}

/** Richardson extrapolation of approximations at steps h, h/2, h/4, ... (in place; result in a[0]). */
function extrapolate(a: Float64Array[] | number[][], r: number): void {
  for (let m = 1; m < r; m++) {
    const f = 4 ** m;
    for (let k = 0; k < r - m; k++) {
      const next = a[k + 1];
      const cur = a[k];
      for (let j = 0; j < cur.length; j++) cur[j] = (next[j] * f - cur[j]) / (f - 1);
    }
  }
}

function shifted(x: ArrayLike<number>, i: number, hi: number, j = -1, hj = 0): Float64Array {
  const out = Float64Array.from(x);
  out[i] += hi;
  if (j >= 0) out[j] += hj;
  return out;
}

/**
 * numDeriv::hessian(f, x) (method "Richardson", defaults d = 0.1, eps = 1e-4, r = 4, v = 2):
 * the symmetric k x k Hessian, column-major.
 */
export function richardsonHessian(f: (x: Float64Array) => number, x: ArrayLike<number>, options: RichardsonOptions = { d: 0.1 }): Float64Array {
  const { d, eps = 1e-4, r = 4 } = options;
  const k = x.length;
  const f0 = f(Float64Array.from(x));
  const h0 = initialSteps(x, d, eps);
  const diagonal = new Float64Array(k);
  const H = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    const approx = Array.from({ length: r }, () => [0]);
    let h = h0[i];
    for (let s = 0; s < r; s++) {
      const f1 = f(shifted(x, i, h));
      const f2 = f(shifted(x, i, -h));
      approx[s][0] = (f1 - 2 * f0 + f2) / (h * h);
      h /= 2;
    }
    extrapolate(approx, r);
    diagonal[i] = approx[0][0];
    H[i + i * k] = diagonal[i];
  }
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < i; j++) {
      const approx = Array.from({ length: r }, () => [0]);
      let hi = h0[i];
      let hj = h0[j];
      for (let s = 0; s < r; s++) {
        const f1 = f(shifted(x, i, hi, j, hj));
        const f2 = f(shifted(x, i, -hi, j, -hj));
        approx[s][0] = (f1 - 2 * f0 + f2 - diagonal[i] * hi * hi - diagonal[j] * hj * hj) / (2 * hi * hj);
        hi /= 2;
        hj /= 2;
      }
      extrapolate(approx, r);
      H[i + j * k] = H[j + i * k] = approx[0][0];
    }
  }
  return H;
}

/**
 * numDeriv::jacobian(f, x) (method "Richardson", defaults d = 1e-4, eps = 1e-4, r = 4, v = 2):
 * for each coordinate i of x, the derivative of the vector f(x) with respect to x_i.
 */
export function richardsonJacobian(f: (x: Float64Array) => Float64Array, x: ArrayLike<number>, options: RichardsonOptions = { d: 1e-4 }): Float64Array[] {
  const { d, eps = 1e-4, r = 4 } = options;
  const h0 = initialSteps(x, d, eps);
  return Array.from(x, (_, i) => {
    const approx: Float64Array[] = [];
    let h = h0[i];
    for (let s = 0; s < r; s++) {
      const f1 = f(shifted(x, i, h));
      const f2 = f(shifted(x, i, -h));
      approx.push(f1.map((v, j) => (v - f2[j]) / (2 * h)));
      h /= 2;
    }
    extrapolate(approx, r);
    return approx[0];
  });
}
