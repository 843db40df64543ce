import { describe, expect, it } from 'vitest';
import { asIdList, expectIdList, invalidId, isValidId } from './ids.js';

describe('id helpers', () => {
  it('explain an invalid id with its position and the valid range', () => {
    expect(() => invalidId(70000, 3, 50257)).toThrow(
      'ids[3] = 70000 is not a token id; valid ids are integers from 0 to 50256',
    );
    expect(() => invalidId('7', 0, 10)).toThrow('ids[0] = "7" is not a token id');
    expect(() => invalidId(7n, 2, 10)).toThrow('ids[2] = 7n is not a token id');
    expect(() => invalidId(0, 0, 0)).toThrow(
      'ids[0] = 0 is not a token id; the vocabulary is empty, so there are no valid ids',
    );
  });

  it('accept only integer ids in range, without throwing on any type', () => {
    expect([0, 9, -0].map((id) => isValidId(id, 10))).toEqual([true, true, true]);
    const bad = [10, -1, 0.5, Number.NaN, '1', 1n, null, undefined, { valueOf: () => 1 }, Symbol()];
    for (const id of bad) expect(isValidId(id, 10)).toBe(false);
  });

  it('accept arrays, typed arrays and array-likes as id lists, nothing else', () => {
    const list = [1, 2];
    expect(expectIdList(list, 'decode()')).toBe(list);
    expect(expectIdList({ length: 0 }, 'decode()')).toEqual({ length: 0 });
    expect(() => expectIdList(new DataView(new ArrayBuffer(4)), 'decode()')).toThrow(
      'decode() expects an array of token ids, got a DataView; e.g. decode([15496, 995])',
    );
    expect(() => expectIdList({ length: -1 }, 'decode()')).toThrow('got an object');
    expect(() => asIdList('1')).toThrow('write() expects an array of token ids');
  });

  it('accept one id or a list', () => {
    expect(asIdList(5)).toEqual([5]);
    const list = Int32Array.of(1, 2);
    expect(asIdList(list)).toBe(list);
  });
});
