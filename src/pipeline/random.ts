/**
 * numpy's legacy `RandomState`: MT19937 seeded with `init_genrand(seed)`, and the
 * `permutation(n)` that pandas `DataFrame.sample(frac=1, random_state=seed)` uses. Only
 * what the splitter needs; the golden permutations.json pins every detail.
 */
import { CellbudgetError } from '../core/errors.js';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** numpy.random.RandomState(seed) for an integer seed in [0, 2^32). */
export class RandomState {
  private readonly mt = new Uint32Array(N);
  private mti = N;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new CellbudgetError('CONFIG_INVALID', `random_state must be an integer in [0, 2^32 - 1], got ${seed}.`, {
        key: 'split.random_state',
        value: seed,
        hint: 'numpy accepts only seeds in that range; pick one there.',
      });
    }
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]!;
      const x = (prev ^ (prev >>> 30)) >>> 0;
      // 1812433253 * x overflows 2^53 in doubles; multiply in 16-bit halves to stay exact mod 2^32.
      mt[i] = (((((x & 0xffff0000) >>> 16) * 1812433253) << 16) + (x & 0x0000ffff) * 1812433253 + i) >>> 0;
    }
    this.mti = N;
  }

  /** The next 32-bit output of the generator (genrand_int32). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      let kk = 0;
      for (; kk < N - M; kk++) {
        const y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
        mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      for (; kk < N - 1; kk++) {
        const y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
        mt[kk] = mt[kk + (M - N)]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      const y = (mt[N - 1]! & UPPER_MASK) | (mt[0]! & LOWER_MASK);
      mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      this.mti = 0;
    }
    let y = mt[this.mti++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /**
   * A uniform integer in [0, max] by masked rejection sampling (numpy's `random_interval`
   * for max < 2^32).
   */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do {
      value = (this.nextUint32() & mask) >>> 0;
    } while (value > max);
    return value;
  }

  /** `RandomState.permutation(n)`: arange(n) shuffled by Fisher–Yates from the end. */
  permutation(n: number): Int32Array {
    if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
      throw new RangeError(`permutation size must be an integer in [0, 2^31), got ${n}`);
    }
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    for (let i = n - 1; i >= 1; i--) {
      const j = this.interval(i);
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    return out;
  }
}
