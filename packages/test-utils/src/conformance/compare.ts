// Comparing two backends' numbers. Pure functions (no Node, no vitest): the browser page and
// every Node suite use these same ones.

/**
 * max |a - b| over two equally long arrays. A non-finite value on one side that the other side
 * does not have too (NaN against a number, Infinity against a finite value or -Infinity) counts
 * as infinitely far, wherever it is; NaN against NaN and equal infinities count as 0.
 *
 * @example
 * ```ts
 * maxAbsDiff([NaN, 1, 2], [0, 1, 2]); // Infinity
 * maxAbsDiff([1, 2], [1, 2.5]); // 0.5
 * ```
 */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Number.isFinite(x) && Number.isFinite(y)) {
      const d = Math.abs(x - y);
      if (d > worst) worst = d;
    } else if (!(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)))) {
      return Number.POSITIVE_INFINITY;
    }
  }
  return worst;
}

/** max |x| over the finite entries. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i] as number);
    if (Number.isFinite(v) && v > m) m = v;
  }
  return m;
}

/** The index of the first NaN or ±Infinity, or -1. */
export function firstNonFinite(a: ArrayLike<number>): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i] as number)) return i;
  return -1;
}
