import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findDuplicateKey, pathStep } from './json-duplicates.js';

describe('findDuplicateKey', () => {
  it('finds a repeated key and says where', () => {
    expect(findDuplicateKey('{"a":0,"b":1,"a":2}')).toEqual({ path: '', key: 'a' });
    expect(
      findDuplicateKey('{"model":{"vocab":{"x":0,"__proto__":1,"y":2,"__proto__":3}}}'),
    ).toEqual({ path: 'model.vocab', key: '__proto__' });
    expect(findDuplicateKey('{"added_tokens":[{"id":1},{"id":2,"content":"a","id":3}]}')).toEqual({
      path: 'added_tokens[1]',
      key: 'id',
    });
    expect(findDuplicateKey('{"m":{"v":{"Ġa b":0,"Ġa b":1}}}')).toEqual({
      path: 'm.v',
      key: 'Ġa b',
    });
  });

  it('compares keys after unescaping and ignores look-alikes in values', () => {
    expect(findDuplicateKey('{"a":0,"\\u0061":1}')).toEqual({ path: '', key: 'a' });
    expect(findDuplicateKey('{"\\"":0,"\\\\":1,"a\\\\":2}')).toBeUndefined();
    expect(findDuplicateKey('{"a":"a","b":["a","a"],"c":{"a":"\\"a\\"","b":{}}}')).toBeUndefined();
    expect(findDuplicateKey('{"a":{"x":1},"b":{"x":1}}')).toBeUndefined();
    expect(findDuplicateKey('[{"a":1},{"a":2}]')).toBeUndefined();
  });

  it('handles deep nesting without recursion', () => {
    const deep = `${'['.repeat(200_000)}{"a":1,"a":2}${']'.repeat(200_000)}`;
    expect(JSON.parse(deep)).toBeDefined();
    expect(findDuplicateKey(deep)?.key).toBe('a');
  });

  it('formats path steps', () => {
    expect(pathStep('', 'model')).toBe('model');
    expect(pathStep('model', 'vocab')).toBe('model.vocab');
    expect(pathStep('model.vocab', 'Ġthe')).toBe('model.vocab["Ġthe"]');
    expect(pathStep('added_tokens', 2)).toBe('added_tokens[2]');
  });

  it('finds a repeated key wherever it is, and none in JSON.stringify output (property)', () => {
    // Writes `value` like JSON.stringify, except that the `pick`-th object (in document order)
    // gets its first key twice. Returns the text and the repeated key, if an object was found.
    function withRepeat(value: unknown, pick: number): [string, string | undefined] {
      let seen = 0;
      let repeated: string | undefined;
      const write = (v: unknown): string => {
        if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
        if (v === null || typeof v !== 'object') return JSON.stringify(v);
        const entries = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${write(x)}`);
        const first = Object.keys(v)[0];
        if (first !== undefined && seen++ === pick) {
          repeated = first;
          entries.push(`${JSON.stringify(first)}:null`);
        }
        return `{${entries.join(',')}}`;
      };
      const text = write(value);
      return [text, repeated];
    }
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat(5), (value, pick) => {
        expect(findDuplicateKey(JSON.stringify(value))).toBeUndefined();
        const [text, repeated] = withRepeat(value, pick);
        expect(() => JSON.parse(text)).not.toThrow();
        expect(findDuplicateKey(text)?.key).toBe(repeated);
      }),
      { numRuns: 1000 },
    );
  });
});
