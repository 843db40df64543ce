import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMerges, mergeLarge, mergeSmall } from './bpe-merge.js';
import { MergeTable } from './merge-table.js';

/** Textbook BPE: rescan all pairs after every merge. */
function naiveMerge(symbols: number[], rules: [number, number, number][]): number[] {
  const word = [...symbols];
  for (;;) {
    let best = -1;
    let at = -1;
    for (let i = 0; i < word.length - 1; i++) {
      const r = rules.findIndex(([a, b]) => a === word[i] && b === word[i + 1]);
      if (r >= 0 && (best < 0 || r < best)) {
        best = r;
        at = i;
      }
    }
    if (at < 0) return word;
    word.splice(at, 2, (rules[best] as [number, number, number])[2]);
  }
}

function tableOf(rules: [number, number, number][]): MergeTable {
  const table = new MergeTable(rules.length);
  for (const [a, b, c] of rules) table.add(a, b, c);
  return table;
}

// Rules over base symbols 0..3 building ids 4..: random pairs of existing ids.
const rulesArb = fc
  .array(fc.tuple(fc.nat(), fc.nat()), { minLength: 0, maxLength: 30 })
  .map((pairs) => {
    const rules: [number, number, number][] = [];
    const seen = new Set<string>();
    pairs.forEach(([x, y]) => {
      const next = 4 + rules.length;
      const a = x % next;
      const b = y % next;
      if (seen.has(`${a},${b}`)) return;
      seen.add(`${a},${b}`);
      rules.push([a, b, next]);
    });
    return rules;
  });

describe('applyMerges', () => {
  it('merges lowest rank first, leftmost among ties', () => {
    // rules: (0,0)->4, (4,0)->5
    const table = tableOf([
      [0, 0, 4],
      [4, 0, 5],
    ]);
    const word = Int32Array.from([0, 0, 0]);
    expect(Array.from(word.subarray(0, applyMerges(word, 3, table)))).toEqual([5]);
    const four = Int32Array.from([0, 0, 0, 0]);
    expect(Array.from(four.subarray(0, applyMerges(four, 4, table)))).toEqual([4, 4]);
  });

  it('small and large loops both match textbook BPE (property)', () => {
    fc.assert(
      fc.property(
        rulesArb,
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 120 }),
        (rules, word) => {
          const table = tableOf(rules);
          const expected = naiveMerge(word, rules);
          const a = Int32Array.from(word);
          const b = Int32Array.from(word);
          const c = Int32Array.from(word);
          expect(
            Array.from(
              a.subarray(0, word.length < 2 ? word.length : mergeSmall(a, word.length, table)),
            ),
          ).toEqual(expected);
          expect(
            Array.from(
              b.subarray(0, word.length < 2 ? word.length : mergeLarge(b, word.length, table)),
            ),
          ).toEqual(expected);
          expect(Array.from(c.subarray(0, applyMerges(c, word.length, table)))).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('handles a very long word in near-linear time', () => {
    const table = tableOf([
      [0, 0, 1],
      [1, 1, 2],
      [2, 2, 3],
    ]);
    const n = 1_000_001;
    const word = new Int32Array(n);
    const len = applyMerges(word, n, table);
    // 1,000,001 zeros -> 125,000 threes then one zero
    expect(len).toBe(125_001);
    expect(word[0]).toBe(3);
    expect(word[124_999]).toBe(3);
    expect(word[125_000]).toBe(0);
  });
});
