import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MergeTable, NO_MERGE } from './merge-table.js';

describe('MergeTable', () => {
  it('stores rules by rank and finds them by pair', () => {
    const table = new MergeTable(3);
    expect(table.add(1, 2, 10)).toBe(true);
    expect(table.add(10, 3, 11)).toBe(true);
    expect(table.add(1, 2, 12)).toBe(false); // duplicate pair: first rule wins
    expect(table.size).toBe(2);
    expect(table.rank(1, 2)).toBe(0);
    expect(table.rank(10, 3)).toBe(1);
    expect(table.rank(2, 1)).toBe(NO_MERGE);
    expect(table.result(1)).toBe(11);
    expect([table.left(1), table.right(1)]).toEqual([10, 3]);
  });

  it('resists hash flooding: pairs crafted to collide under one seed spread out under another', () => {
    // With seed s, every pair (l, imul(l ^ s, C)) has the same hash before mixing, so all of them
    // share one slot: a hostile file could make loading quadratic if the seed were known.
    const n = 4000;
    const crafted = (seed: number) =>
      Array.from({ length: n }, (_, l) => [l, Math.imul(l ^ seed, 0x9e3779b1)] as const);
    const fill = (table: MergeTable, pairs: readonly (readonly [number, number])[]) => {
      pairs.forEach(([l, r], i) => {
        expect(table.add(l, r, i)).toBe(true);
      });
      pairs.forEach(([l, r], i) => {
        expect(table.rank(l, r)).toBe(i);
      });
      return table.longestProbe;
    };
    expect(fill(new MergeTable(n, 7), crafted(7))).toBe(n - 1);
    expect(fill(new MergeTable(n, 8), crafted(7))).toBeLessThan(64);
    expect(fill(new MergeTable(n), crafted(7))).toBeLessThan(64);
  });

  it('gives the same ranks whatever the seed (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(1000), fc.nat(1000)), { maxLength: 60 }),
        fc.integer(),
        fc.integer(),
        (pairs, a, b) => {
          const x = new MergeTable(pairs.length, a);
          const y = new MergeTable(pairs.length, b);
          for (const [l, r] of pairs) expect(x.add(l, r, l + r)).toBe(y.add(l, r, l + r));
          for (const [l, r] of pairs) expect(x.rank(l, r)).toBe(y.rank(l, r));
          expect(x.rank(1001, 0)).toBe(NO_MERGE);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('handles many colliding rules', () => {
    const n = 50_000;
    const table = new MergeTable(n);
    for (let i = 0; i < n; i++) table.add(i % 300, Math.floor(i / 300), n + i);
    for (let i = 0; i < n; i += 7) {
      expect(table.rank(i % 300, Math.floor(i / 300))).toBe(i);
      expect(table.result(i)).toBe(n + i);
    }
    expect(table.rank(300, 0)).toBe(NO_MERGE);
    expect(() => table.add(999_999, 1, 0)).toThrow(/full/);
  });
});
