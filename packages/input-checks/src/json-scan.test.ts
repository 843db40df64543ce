import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanJson } from './json-scan.js';

describe('scanJson', () => {
  it('lists the outer keys in the order of the text, escapes decoded', () => {
    const scan = scanJson('{"b": {"x": [1, {"y": 2}]}, "10": "a,\\"}", "\\u0061": null}', 8);
    expect(scan).toEqual({ keys: ['b', '10', 'a'], duplicate: undefined, tooDeep: false });
  });

  it.each([
    ['{"a": 1, "a": 2}', { key: 'a', path: [] }],
    ['{"a":0,"b":1,"a":2}', { key: 'a', path: [] }],
    ['{"a": 1, "\\u0061": 2}', { key: 'a', path: [] }],
    ['{"t": {"dtype": "F32", "dtype": "F16"}}', { key: 'dtype', path: ['t'] }],
    ['{"t": [{"k": 1, "k": 2}]}', { key: 'k', path: ['t', 0] }],
    [
      '{"model":{"vocab":{"x":0,"__proto__":1,"y":2,"__proto__":3}}}',
      { key: '__proto__', path: ['model', 'vocab'] },
    ],
    [
      '{"added_tokens":[{"id":1},{"id":2,"content":"a","id":3}]}',
      { key: 'id', path: ['added_tokens', 1] },
    ],
    ['{"m":{"v":{"Ġa b":0,"Ġa b":1}}}', { key: 'Ġa b', path: ['m', 'v'] }],
    ['{"a":[[],[1,[2]],{"x":0,"x":1}]}', { key: 'x', path: ['a', 2] }],
  ])('finds the first key given twice in one object, and where: %s', (text, duplicate) => {
    expect(scanJson(text, 8).duplicate).toEqual(duplicate);
  });

  it.each([
    '{"a": {"a": "a"}, "b": {"a": 1}, "c": ["a", "a"]}',
    '{"\\"":0,"\\\\":1,"a\\\\":2}',
    '{"a":"a","b":["a","a"],"c":{"a":"\\"a\\"","b":{}}}',
    '{"a":{"x":1},"b":{"x":1}}',
    '[{"a":1},{"a":2}]',
  ])('does not mistake equal keys in different objects, or values, for duplicates: %s', (text) => {
    expect(scanJson(text, 8).duplicate).toBe(undefined);
  });

  it('stops at the depth limit', () => {
    expect(scanJson('[[[]]]', 3).tooDeep).toBe(false);
    expect(scanJson('[[[[]]]]', 3).tooDeep).toBe(true);
    expect(scanJson(`{"a": ${'['.repeat(1e6)}`, 8).tooDeep).toBe(true);
  });

  it('handles deep nesting without recursion when no limit is given', () => {
    const deep = `${'['.repeat(200_000)}{"a":1,"a":2}${']'.repeat(200_000)}`;
    expect(JSON.parse(deep)).toBeDefined();
    const scan = scanJson(deep);
    expect(scan.tooDeep).toBe(false);
    expect(scan.duplicate?.key).toBe('a');
    expect(scan.duplicate?.path).toHaveLength(200_000);
  });

  it('agrees with JSON.parse on the keys of any JSON object, and never throws on any text', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })), (object) => {
        const text = JSON.stringify(object, null, 1);
        const scan = scanJson(text, 8);
        expect(scan.keys).toEqual(Object.keys(JSON.parse(text)));
        expect(scan.duplicate).toBe(undefined);
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        scanJson(text, 8);
      }),
      { numRuns: 300 },
    );
  });

  it('finds a repeated key wherever it is, with its path, and none in JSON.stringify output', () => {
    // Writes `value` like JSON.stringify, except that the `pick`-th object (in document order)
    // gets its first key twice. Returns the text, and the repeated key and its path if an object
    // was picked.
    function withRepeat(value: unknown, pick: number): [string, DuplicateAt | undefined] {
      let seen = 0;
      let repeated: DuplicateAt | undefined;
      const write = (v: unknown, path: (string | number)[]): string => {
        if (Array.isArray(v)) return `[${v.map((x, i) => write(x, [...path, i])).join(',')}]`;
        if (v === null || typeof v !== 'object') return JSON.stringify(v);
        const entries = Object.entries(v).map(
          ([k, x]) => `${JSON.stringify(k)}:${write(x, [...path, k])}`,
        );
        const first = Object.keys(v)[0];
        if (first !== undefined && seen++ === pick) {
          repeated = { key: first, path };
          entries.push(`${JSON.stringify(first)}:null`);
        }
        return `{${entries.join(',')}}`;
      };
      const text = write(value, []);
      return [text, repeated];
    }
    type DuplicateAt = { key: string; path: (string | number)[] };
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat(5), (value, pick) => {
        expect(scanJson(JSON.stringify(value)).duplicate).toBeUndefined();
        const [text, repeated] = withRepeat(value, pick);
        expect(() => JSON.parse(text)).not.toThrow();
        expect(scanJson(text).duplicate).toEqual(repeated);
      }),
      { numRuns: 1000 },
    );
  });
});
