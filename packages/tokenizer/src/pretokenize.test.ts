import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nastyString } from '../test/arbitraries.js';
import { GPT2_SPLIT_PATTERN, preTokenize } from './pretokenize.js';

const regexSplit = (text: string): string[] =>
  text.match(new RegExp(GPT2_SPLIT_PATTERN, 'gu')) ?? [];

describe('preTokenize', () => {
  it('splits like GPT-2 on typical text', () => {
    expect(preTokenize("Hello world, it's 2024!  Ok\n\n  x")).toEqual([
      'Hello',
      ' world',
      ',',
      ' it',
      "'s",
      ' 2024',
      '!',
      ' ',
      ' Ok',
      '\n\n ',
      ' x',
    ]);
    expect(preTokenize('')).toEqual([]);
    expect(preTokenize('   ')).toEqual(['   ']);
    expect(preTokenize("'ll've're'd'm't'S")).toEqual([
      "'ll",
      "'ve",
      "'re",
      "'d",
      "'m",
      "'t",
      "'",
      'S',
    ]);
  });

  it('agrees with the regular expression on edge cases', () => {
    const cases = [
      ' ',
      ' \n',
      '\n ',
      'a \u00a0b',
      '\u3000\u3000中文',
      '𝐀𝐁 𝟏𝟐 😀😀',
      '\ud800 \udc00x',
      "x ' s 's",
      '\ufeffa',
      'e\u0301',
      '١٢٣ ٤',
      "  'll",
      'a\t\tb',
      '\u2028\u2029',
      '\u0085x',
      '\r\n\r\n',
      'Ⅻ½',
    ];
    for (const text of cases)
      expect(preTokenize(text), JSON.stringify(text)).toEqual(regexSplit(text));
  });

  it('agrees with the regular expression on arbitrary strings (property)', () => {
    fc.assert(
      fc.property(nastyString(), (text) => {
        expect(preTokenize(text)).toEqual(regexSplit(text));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        expect(preTokenize(text)).toEqual(regexSplit(text));
      }),
      { numRuns: 1000 },
    );
  });
});
