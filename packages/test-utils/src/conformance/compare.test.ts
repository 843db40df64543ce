import { describe, expect, it } from 'vitest';
import { firstNonFinite, maxAbs, maxAbsDiff } from './compare.js';

describe('maxAbsDiff', () => {
  it('fails on a NaN that the other side does not have, even with finite values after it', () => {
    // The case the old Node copy lost: a NaN after which a finite value comes.
    expect(maxAbsDiff([Number.NaN, 1, 2], [0, 1, 2])).toBe(Number.POSITIVE_INFINITY);
    expect(maxAbsDiff([0, 1, 2], [Number.NaN, 1, 2])).toBe(Number.POSITIVE_INFINITY);
    expect(maxAbsDiff([0, 1, Number.NaN], [0, 1, 2])).toBe(Number.POSITIVE_INFINITY);
  });

  it('fails on an Infinity mismatch', () => {
    const inf = Number.POSITIVE_INFINITY;
    expect(maxAbsDiff([inf, 1], [3e38, 1])).toBe(inf);
    expect(maxAbsDiff([inf, 1], [-inf, 1])).toBe(inf);
    expect(maxAbsDiff([1, -inf], [1, 0])).toBe(inf);
  });

  it('measures finite differences, and equal non-finite values as equal', () => {
    expect(maxAbsDiff([1, 2, 3], [1, 2.5, 2])).toBe(1);
    expect(maxAbsDiff([Number.NaN, 1], [Number.NaN, 1.25])).toBe(0.25);
    expect(maxAbsDiff([Number.POSITIVE_INFINITY], [Number.POSITIVE_INFINITY])).toBe(0);
    expect(() => maxAbsDiff([1], [1, 2])).toThrow('length 1 ≠ 2');
  });

  it('maxAbs and firstNonFinite', () => {
    expect(maxAbs([1, -3, Number.NaN])).toBe(3);
    expect(firstNonFinite(new Float32Array([1, 2, Number.NEGATIVE_INFINITY]))).toBe(2);
    expect(firstNonFinite([1, 2])).toBe(-1);
  });
});
