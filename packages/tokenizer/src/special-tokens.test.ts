import { describe, expect, it } from 'vitest';
import { SpecialTokenSplitter, validateSpecialTokenContents } from './special-tokens.js';

function parts(splitter: SpecialTokenSplitter, text: string): (string | number)[] {
  const out: (string | number)[] = [];
  splitter.split(
    text,
    (s, e) => out.push(text.slice(s, e)),
    (id) => out.push(id),
  );
  return out;
}

describe('SpecialTokenSplitter', () => {
  it('splits on special tokens, longest match first', () => {
    const splitter = new SpecialTokenSplitter([
      { content: '<|a|>', id: 10, special: true },
      { content: '<|a|>x', id: 11, special: true },
      { content: '$', id: 12, special: false },
    ]);
    expect(parts(splitter, 'hi<|a|>there<|a|>x$$')).toEqual(['hi', 10, 'there', 11, 12, 12]);
    expect(parts(splitter, '<|a|')).toEqual(['<|a|']);
    expect(parts(splitter, '')).toEqual([]);
    expect(splitter.active).toBe(true);
  });

  it('passes text through when there are no special tokens', () => {
    const splitter = new SpecialTokenSplitter([]);
    expect(splitter.active).toBe(false);
    expect(parts(splitter, 'a.b')).toEqual(['a.b']);
  });

  it('escapes regular-expression syntax in token text', () => {
    const splitter = new SpecialTokenSplitter([{ content: '[.*]', id: 0, special: true }]);
    expect(parts(splitter, 'x[.*]y[ab]')).toEqual(['x', 0, 'y[ab]']);
  });

  it('rejects empty, duplicate and ill-formed special tokens with a clear message', () => {
    expect(() => validateSpecialTokenContents([''], 'specialTokens')).toThrow(
      /specialTokens\[0\] must be a non-empty string/,
    );
    expect(() => validateSpecialTokenContents(['<a>', '<a>'], 'specialTokens')).toThrow(
      /specialTokens\[1\] "<a>" is listed twice/,
    );
    expect(() => validateSpecialTokenContents(['\ud800'], 'specialTokens')).toThrow(
      /lone surrogate/,
    );
    expect(() => validateSpecialTokenContents([3], 'specialTokens')).toThrow(/got 3/);
    expect(validateSpecialTokenContents(['<a>', '<b>'], 'specialTokens')).toEqual(['<a>', '<b>']);
  });
});
