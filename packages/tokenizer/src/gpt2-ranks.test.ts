import { describe, expect, it } from 'vitest';
import { fromGpt2Ranks, type RankEntry } from './gpt2-ranks.js';

/** The 256 single bytes in byte order, as gpt-tokenizer writes them (text or byte arrays). */
const byteRanks = (): RankEntry[] =>
  Array.from({ length: 256 }, (_, b) => (b < 128 ? String.fromCharCode(b) : [b]));

describe('fromGpt2Ranks', () => {
  it('recovers the merges from the ranks', () => {
    const ranks = [...byteRanks(), 'he', 'll', 'hell', ' w', 'hello', [0xc3, 0xa9]];
    const tok = fromGpt2Ranks(ranks, { specialTokens: { '<|endoftext|>': 262 } });
    expect(tok.vocabSize).toBe(263);
    expect(tok.merges()).toEqual([
      ['h', 'e'],
      ['l', 'l'],
      ['he', 'll'],
      ['Ġ', 'w'],
      ['hell', 'o'],
      ['Ã', '©'],
    ]);
    expect(tok.encode('hello wé<|endoftext|>')).toEqual([260, 259, 261, 262]);
    expect(tok.idToToken(72)).toBe('H');
    expect(tok.decode([261])).toBe('é');
  });

  it('accepts a special token in a gap of the ranks', () => {
    const ranks: (RankEntry | undefined)[] = [...byteRanks(), undefined, 'ab'];
    const tok = fromGpt2Ranks(ranks, { specialTokens: { '<s>': 256 } });
    expect(tok.encode('<s>ab')).toEqual([256, 257]);
  });

  it('rejects ranks that are not a byte-level BPE, saying why', () => {
    expect(() => fromGpt2Ranks(byteRanks().slice(1))).toThrow(
      'the ranks have no token for byte 0x00; byte-level BPE needs all 256 single bytes',
    );
    expect(() => fromGpt2Ranks([...byteRanks(), undefined, 'ab'])).toThrow(
      'ranks[256] is missing and no special token has id 256; ranks must have no gaps',
    );
    expect(() => fromGpt2Ranks([...byteRanks(), [1, 300]])).toThrow(
      'ranks[256][1] = 300 is not a byte (an integer 0..255)',
    );
    expect(() => fromGpt2Ranks([...byteRanks(), 'abc'])).toThrow(
      'ranks[256] (3 bytes) cannot be split into two lower-ranked tokens; these are not BPE ranks',
    );
    expect(() => fromGpt2Ranks([...byteRanks(), 'ab', 'ab'])).toThrow(
      'ranks[257] (2 bytes) repeats a lower-ranked token',
    );
    expect(() => fromGpt2Ranks(byteRanks(), { specialTokens: { '<s>': 5 } })).toThrow(
      'id 5 is both ranks[5] and a special token',
    );
    expect(() => fromGpt2Ranks(byteRanks(), { specialTokens: { '<s>': -1 } })).toThrow(
      /specialTokens\["<s>"\] = -1 is not a valid id/,
    );
    expect(() => fromGpt2Ranks(null as unknown as RankEntry[])).toThrow(/expects an array/);
  });
});
