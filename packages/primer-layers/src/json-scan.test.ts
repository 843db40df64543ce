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
    ['{"a": 1, "\\u0061": 2}', { key: 'a', path: [] }],
    ['{"t": {"dtype": "F32", "dtype": "F16"}}', { key: 'dtype', path: ['t'] }],
    ['{"t": [{"k": 1, "k": 2}]}', { key: 'k', path: ['t', '[]'] }],
  ])('finds the first key given twice in one object: %s', (text, duplicate) => {
    expect(scanJson(text, 8).duplicate).toEqual(duplicate);
  });

  it('does not mistake equal keys in different objects, or values, for duplicates', () => {
    expect(scanJson('{"a": {"a": "a"}, "b": {"a": 1}, "c": ["a", "a"]}', 8).duplicate).toBe(
      undefined,
    );
  });

  it('stops at the depth limit', () => {
    expect(scanJson('[[[]]]', 3).tooDeep).toBe(false);
    expect(scanJson('[[[[]]]]', 3).tooDeep).toBe(true);
    expect(scanJson(`{"a": ${'['.repeat(1e6)}`, 8).tooDeep).toBe(true);
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
});
