import { describe, expect, it } from 'vitest';
import { asIdList, invalidId } from './ids.js';

describe('id helpers', () => {
  it('explain an invalid id with its position and the valid range', () => {
    expect(() => invalidId(70000, 3, 50257)).toThrow(
      'ids[3] = 70000 is not a token id; valid ids are integers from 0 to 50256',
    );
    expect(() => invalidId('7', 0, 10)).toThrow('ids[0] = "7" is not a token id');
  });

  it('accept one id or a list', () => {
    expect(asIdList(5)).toEqual([5]);
    const list = Int32Array.of(1, 2);
    expect(asIdList(list)).toBe(list);
  });
});
