import { describe, expect, it } from 'vitest';
import { describeValue, formatValue, preview } from './describe-value.js';

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
    expect(describeValue([1])).toBe('an array of length 1');
    expect(describeValue(new Float32Array(2))).toBe('a Float32Array');
    expect(describeValue(new Uint8Array(2))).toBe('a Uint8Array');
    expect(describeValue({ a: 1 })).toBe('an object');
    expect(describeValue(Object.create(null))).toBe('an object');
    expect(describeValue(new Map())).toBe('a Map');
    expect(describeValue(new Error('x'))).toBe('an Error');
  });

  it('is safe on hostile values: huge strings, cycles, deep nesting, throwing getters, proxies', () => {
    expect(describeValue('x'.repeat(10_000_000)).length).toBeLessThan(60);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe('an object');
    let deep: unknown = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(describeValue(deep)).toBe('an array of length 1');
    const trap = {
      get toJSON(): never {
        throw new Error('getter ran');
      },
    };
    expect(describeValue(trap)).toBe('an object');
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf: () => {
          throw new Error('trap ran');
        },
      },
    );
    expect(describeValue(hostile)).toBe('an object');
    class Sneaky {}
    Object.defineProperty(Sneaky, 'name', {
      get: () => {
        throw new Error('getter ran');
      },
    });
    expect(describeValue(new Sneaky())).toBe('an object');
  });
});

describe('formatValue', () => {
  it('writes literals where there is one', () => {
    expect(formatValue(7)).toBe('7');
    expect(formatValue(-1.5)).toBe('-1.5');
    expect(formatValue(Number.NaN)).toBe('NaN');
    expect(formatValue('7')).toBe('"7"');
    expect(formatValue(7n)).toBe('7n');
    expect(formatValue(null)).toBe('null');
    expect(formatValue(true)).toBe('boolean true');
    expect(formatValue([2, -1])).toBe('[2,-1]');
    expect(formatValue({ dtype: 'F64', shape: [1, null, true] })).toBe(
      '{"dtype":"F64","shape":[1,null,true]}',
    );
  });

  it('cuts long literals to about the length asked, without writing them whole', () => {
    const long = Array.from({ length: 1_000_000 }, (_, i) => i);
    const text = formatValue(long);
    expect(text).toMatch(/^\[0,1,2,.*\.\.\.$/);
    expect(text.length).toBe(80);
    expect(formatValue({ name: 'x'.repeat(10_000) }, 30).length).toBeLessThanOrEqual(30);
  });

  it('describes what has no JSON literal: cycles, deep nests, getters, class instances', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(formatValue(cyclic)).toBe('an object');
    expect(formatValue([[[[[1]]]]])).toBe('an array of length 1');
    expect(formatValue([Number.POSITIVE_INFINITY])).toBe('an array of length 1');
    const trap = {
      get x(): never {
        throw new Error('getter ran');
      },
    };
    expect(formatValue(trap)).toBe('an object');
    expect(formatValue([new Map()])).toBe('an array of length 1');
    expect(formatValue(new Float32Array(3))).toBe('a Float32Array');
  });
});

describe('preview', () => {
  it('quotes short text and cuts long text', () => {
    expect(preview('abc')).toBe('"abc"');
    expect(preview('x'.repeat(50), 5)).toBe('"xxxxx…"');
  });
});
