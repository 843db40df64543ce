import { describe, expect, it } from 'vitest';
import { TokenizerJsonError } from './errors.js';
import { MAX_VOCAB_SIZE } from './limits.js';
import { parseTokenizerJsonInput } from './parse-input.js';
import {
  addedTokensJson,
  expectId,
  expectString,
  layoutIds,
  vocabRecord,
} from './tokenizer-json.js';

describe('tokenizer.json helpers', () => {
  it('parse text or objects', () => {
    expect(parseTokenizerJsonInput('{"a":1}')).toEqual({ a: 1 });
    const obj = { b: 2 };
    expect(parseTokenizerJsonInput(obj)).toBe(obj);
    expect(() => parseTokenizerJsonInput('nope')).toThrow(TokenizerJsonError);
  });

  it('check scalar fields', () => {
    expect(expectId(3, 'x')).toBe(3);
    expect(() => expectId(2 ** 40, 'x')).toThrow(/integer ≥ 0/);
    expect(() => expectString('', 'x', true)).toThrow(
      'Invalid tokenizer.json at x: expected a non-empty string',
    );
    expect(() => expectString(true, 'x')).toThrow('expected a string, got boolean true');
  });

  it('lay out ids, allowing an added token to repeat its vocabulary entry', () => {
    const added = [{ content: '<e>', id: 2, special: true }];
    expect(
      layoutIds(
        [
          ['a', 0],
          ['b', 1],
          ['<e>', 2],
        ],
        added,
        MAX_VOCAB_SIZE,
      ),
    ).toEqual(['a', 'b', undefined]);
    expect(
      layoutIds(
        [
          ['a', 0],
          ['b', 1],
        ],
        added,
        MAX_VOCAB_SIZE,
      ),
    ).toEqual(['a', 'b', undefined]);
    expect(() => layoutIds([['a', 0]], added, MAX_VOCAB_SIZE)).toThrow(
      'no token has id 1; ids must run from 0 to 2 without gaps',
    );
    expect(() => layoutIds([['a', 20_000_000]], [], MAX_VOCAB_SIZE)).toThrow(
      'ids go up to 20000000, more than the limit of 2097152 tokens',
    );
    // One huge id in a tiny file: the gap is found without allocating a table of that size.
    expect(() =>
      layoutIds(
        [
          ['a', 0],
          ['b', 2_000_000],
        ],
        [],
        MAX_VOCAB_SIZE,
      ),
    ).toThrow('no token has id 1; ids must run from 0 to 2000000 without gaps');
  });

  it('write null-prototype vocabularies that keep __proto__ as a key', () => {
    const record = vocabRecord([
      ['__proto__', 0],
      ['a', 1],
    ]);
    expect(JSON.stringify(record)).toBe('{"__proto__":0,"a":1}');
    expect(addedTokensJson([{ content: '<e>', id: 2, special: false }])[0]).toEqual({
      id: 2,
      content: '<e>',
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: false,
    });
  });
});
