/**
 * A small seeded pseudo-random generator (xoshiro128**) whose whole state is four 32-bit
 * integers, so a training run can save it and resume exactly where it was.
 */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number | readonly number[] = 0) {
    if (typeof seed === 'number') {
      if (!Number.isFinite(seed))
        throw new RangeError(`Rng: seed must be a finite number, got ${seed}.`);
      // SplitMix32 expands the seed into a state that is never all zeros.
      let x = Math.floor(seed) >>> 0;
      const next = () => {
        x = (x + 0x9e3779b9) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        return (z ^ (z >>> 16)) >>> 0;
      };
      this.s = Uint32Array.from([next(), next(), next(), next()]);
    } else {
      if (
        seed.length !== 4 ||
        !seed.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32) ||
        seed.every((v) => v === 0)
      ) {
        throw new RangeError(
          `Rng: a saved state is four 32-bit unsigned integers, not all zero; got ${JSON.stringify(seed)}.`,
        );
      }
      this.s = Uint32Array.from(seed);
    }
  }

  /** The state, to save; `new Rng(state)` continues the same sequence. */
  get state(): number[] {
    return Array.from(this.s);
  }

  /** Continues from a saved {@link state}. */
  restore(state: readonly number[]): void {
    this.s = new Rng(state).s;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** An integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!(Number.isInteger(n) && n > 0 && n <= 2 ** 32))
      throw new RangeError(`Rng.int: n must be an integer in [1, 2^32], got ${n}.`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
