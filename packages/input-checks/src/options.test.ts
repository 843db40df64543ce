import { describe, expect, it } from 'vitest';
import { stripUndefined } from './options.js';

describe('stripUndefined', () => {
  it('drops undefined entries and keeps every other value, falsy ones included', () => {
    const given = { a: undefined, b: 0, c: null, d: '', e: false, f: Number.NaN };
    expect(stripUndefined(given)).toEqual({ b: 0, c: null, d: '', e: false, f: Number.NaN });
    expect(Object.keys(stripUndefined(given))).toEqual(['b', 'c', 'd', 'e', 'f']);
    expect({ ...{ lr: 1, seed: 0 }, ...stripUndefined({ seed: undefined }) }).toEqual({
      lr: 1,
      seed: 0,
    });
  });
});
