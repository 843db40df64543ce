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
