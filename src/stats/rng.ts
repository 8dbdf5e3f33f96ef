/**
 * R's default random number generator, bit for bit: set.seed(seed) scrambling, the Mersenne
 * Twister (MT19937) of R's RNG.c, unif_rand's fixup and norm_rand by inversion (two uniforms
 * for 2^27 resolution, then qnorm). So `new RRandom(42).normal()` is R's set.seed(42); rnorm(1),
 * and simulations can be reproduced in R.
 */
import { normalQuantile } from './distributions';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const I2_32M1 = 2.328306437080797e-10; // 1 / (2^32 - 1)
const BIG = 134217728; // 2^27

export class RRandom {
  private readonly mt = new Uint32Array(N);
  private mti = N;

  /** R's set.seed(seed) (an integer) with kind "Mersenne-Twister" and normal.kind "Inversion". */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, not ${seed}`);
    let s = seed >>> 0;
    const lcg = (x: number) => (Math.imul(69069, x) + 1) >>> 0;
    for (let j = 0; j < 50; j++) s = lcg(s);
    // R fills dummy[0..624]; dummy[0] (the position) is then reset to 624, dummy[1..] is the state
    s = lcg(s);
    for (let j = 0; j < N; j++) {
      s = lcg(s);
      this.mt[j] = s;
    }
  }

  private nextWord(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      let kk = 0;
      let y: number;
      for (; kk < N - M; kk++) {
        y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      for (; kk < N - 1; kk++) {
        y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
      mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      this.mti = 0;
    }
    let y = mt[this.mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** R's unif_rand(): uniform on (0, 1). */
  uniform(): number {
    const x = this.nextWord() * 2.3283064365386963e-10;
    if (x <= 0) return 0.5 * I2_32M1;
    if (1 - x <= 0) return 1 - 0.5 * I2_32M1;
    return x;
  }

  /** R's norm_rand() with normal.kind = "Inversion". */
  normal(): number {
    let u = this.uniform();
    u = Math.trunc(BIG * u) + this.uniform();
    return normalQuantile(u / BIG);
  }

  /** n standard normal draws, R's rnorm(n). */
  normals(n: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.normal();
    return out;
  }
}

/** A seed for when the user gives none (R would continue its global stream). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
