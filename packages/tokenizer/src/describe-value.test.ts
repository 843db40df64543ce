import { describe, expect, it } from 'vitest';
import { describeValue, formatValue } from './describe-value.js';

describe('describeValue', () => {
  it('names the type and shows short values', () => {
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue(null)).toBe('null');
    expect(describeValue('abc')).toBe('the string "abc"');
    expect(describeValue(Number.NaN)).toBe('number NaN');
    expect(describeValue(true)).toBe('boolean true');
    expect(describeValue(5n)).toBe('bigint 5n');
    expect(describeValue(Symbol('s'))).toBe('a symbol');
    expect(describeValue(() => 1)).toBe('a function');
    expect(describeValue([1])).toBe('an array');
    expect(describeValue(new Float32Array(2))).toBe('a Float32Array');
    expect(describeValue({ a: 1 })).toBe('an object');
  });

  it('is safe on hostile values: huge strings, cycles, deep nesting, throwing getters', () => {
    expect(describeValue('x'.repeat(10_000_000)).length).toBeLessThan(60);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe('an object');
    let deep: unknown = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(describeValue(deep)).toBe('an array');
    const trap = {
      get toJSON(): never {
        throw new Error('getter ran');
      },
    };
    expect(describeValue(trap)).toBe('an object');
    expect(formatValue(cyclic)).toBe('an object');
  });

  it('writes literals where there is one', () => {
    expect(formatValue(7)).toBe('7');
    expect(formatValue(-1.5)).toBe('-1.5');
    expect(formatValue('7')).toBe('"7"');
    expect(formatValue(7n)).toBe('7n');
    expect(formatValue(null)).toBe('null');
  });
});
