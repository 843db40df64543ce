import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PairHeap } from './pair-heap.js';

describe('PairHeap', () => {
  it('pops by count descending, then key ascending', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.nat({ max: 1000 }))),
        (entries) => {
          const heap = new PairHeap();
          for (const [count, key] of entries) heap.push(count, key);
          const popped: [number, number][] = [];
          while (heap.size > 0) {
            popped.push([heap.topCount as number, heap.topKey as number]);
            heap.pop();
          }
          const expected = [...entries].sort((x, y) => y[0] - x[0] || x[1] - y[1]);
          expect(popped).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is empty after popping everything', () => {
    const heap = new PairHeap();
    expect(heap.topKey).toBeUndefined();
    heap.push(1, 1);
    heap.pop();
    expect(heap.size).toBe(0);
  });
});
