import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

describe('Rng', () => {
  it('is reproducible from its seed and differs across seeds', () => {
    const draw = (seed: number) =>
      Array.from(
        { length: 5 },
        (
          (r) => () =>
            r.nextUint32()
        )(new Rng(seed)),
      );
    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
  });

  it('resumes exactly from a saved state', () => {
    const a = new Rng(42);
    for (let i = 0; i < 10; i++) a.next();
    const b = new Rng(a.state);
    const c = new Rng(0);
    c.restore(a.state);
    const next = [a.next(), a.next(), a.int(7)];
    expect([b.next(), b.next(), b.int(7)]).toEqual(next);
    expect([c.next(), c.next(), c.int(7)]).toEqual(next);
  });

  it('draws uniform floats in [0, 1) and unbiased integers in [0, n)', () => {
    const r = new Rng(7);
    const xs = Array.from({ length: 20000 }, () => r.next());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((a, b) => a + b, 0) / xs.length).toBeCloseTo(0.5, 1);
    const counts = new Array(6).fill(0);
    for (let i = 0; i < 60000; i++) counts[r.int(6)]++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(500);
  });

  it('rejects invalid seeds and states', () => {
    expect(() => new Rng(Number.NaN)).toThrow('Rng: seed must be a finite number, got NaN.');
    expect(() => new Rng([0, 0, 0, 0])).toThrow('not all zero');
    expect(() => new Rng([1, 2, 3])).toThrow('four 32-bit unsigned integers');
    expect(() => new Rng(1).int(0)).toThrow('Rng.int: n must be an integer in [1, 2^32], got 0.');
  });
});
