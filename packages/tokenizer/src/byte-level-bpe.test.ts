import { readMobyDick } from '@primer-ez/test-utils/corpus';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { nastyString } from '../test/arbitraries.js';
import { trainByteLevelBpe } from './bpe-trainer.js';
import { BYTE_ORDER } from './byte-level.js';
import { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import { TokenizerError, TokenizerJsonError } from './errors.js';
import { isWellFormed, toWellFormed } from './unicode.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const byteTokens = (): Uint8Array[] => BYTE_ORDER.map((b) => Uint8Array.of(b));
const id = (s: string) => BYTE_ORDER.indexOf(s.charCodeAt(0));

/** 256 bytes, then 'aa' (256), 'aab' (257), ' a' (258), and a special token (259). */
function tiny(ignoreMerges = false): ByteLevelBpeTokenizer {
  return new ByteLevelBpeTokenizer({
    tokens: [...byteTokens(), utf8('aa'), utf8('aab'), utf8(' a')],
    merges: [
      [id('a'), id('a')],
      [256, id('b')],
      [id(' '), id('a')],
    ],
    specialTokens: [{ content: '<|end|>', id: 259, special: true }],
    ignoreMerges,
  });
}

const SPECIALS = ['<|endoftext|>', '<|pad|>', '<|é|>'];
let trained: ByteLevelBpeTokenizer;

beforeAll(() => {
  trained = trainByteLevelBpe(readMobyDick().slice(0, 200_000), {
    vocabSize: 1000,
    specialTokens: SPECIALS,
  });
});

describe('ByteLevelBpeTokenizer basics', () => {
  it('applies merges by rank within pre-tokens', () => {
    const tok = tiny();
    expect(tok.vocabSize).toBe(260);
    expect(tok.mergeCount).toBe(3);
    expect(tok.encode('aab')).toEqual([257]);
    expect(tok.encode('aaab')).toEqual([256, id('a'), id('b')]);
    // ' a' merges only inside the pre-token ' aa' -> [' ', 'a', 'a'] -> 'aa' outranks ' a'
    expect(tok.encode(' aa')).toEqual([id(' '), 256]);
    expect(tok.encode(' ab')).toEqual([258, id('b')]);
    expect(tok.encode('')).toEqual([]);
    expect(tok.decode([257, 259, 258])).toBe('aab<|end|> a');
  });

  it('matches special tokens only when allowed', () => {
    const tok = tiny();
    expect(tok.encode('aab<|end|>')).toEqual([257, 259]);
    const plain = tok.encode('aab<|end|>', { allowSpecial: false });
    expect(plain).not.toContain(259);
    expect(tok.decode(plain)).toBe('aab<|end|>');
    expect(tok.decode([257, 259], { skipSpecial: true })).toBe('aab');
    expect(tok.encodeBatch(['aab', '<|end|>'])).toEqual([[257], [259]]);
  });

  it('maps between ids and vocabulary strings', () => {
    const tok = tiny();
    expect(tok.idToToken(258)).toBe('Ġa');
    expect(tok.tokenToId('Ġa')).toBe(258);
    expect(tok.tokenToId('<|end|>')).toBe(259);
    expect(tok.idToToken(999)).toBeUndefined();
    expect(tok.merges()).toEqual([
      ['a', 'a'],
      ['aa', 'b'],
      ['Ġ', 'a'],
    ]);
    expect(tok.specialTokens).toEqual([{ content: '<|end|>', id: 259, special: true }]);
  });

  it('encodes lone surrogates as U+FFFD', () => {
    const tok = tiny();
    expect(tok.encode('a\ud800')).toEqual(tok.encode('a\uFFFD'));
    expect(tok.decode(tok.encode('x\udc00y'))).toBe('x\uFFFDy');
  });

  it('supports ignore_merges: a pre-token found in the vocabulary is used whole', () => {
    // 'aab' is in the vocabulary; with merges alone ' aab' would not reach it, but ignore_merges
    // only looks up whole pre-tokens, so ' aab' is still merged normally.
    expect(tiny(true).encode('aab')).toEqual([257]);
    expect(tiny(true).encode(' aab')).toEqual(tiny(false).encode(' aab'));
    const skip = new ByteLevelBpeTokenizer({
      tokens: [...byteTokens(), utf8('aa'), utf8('ab'), utf8('aab')],
      merges: [
        [id('a'), id('b')],
        [id('a'), id('a')],
        [256, id('b')],
      ],
      ignoreMerges: true,
    });
    // merges alone: a (ab) -> no rule for (a, ab); ignore_merges finds 'aab' directly
    expect(skip.encode('aab')).toEqual([258]);
    expect(new ByteLevelBpeTokenizer({ ...skipInit(), ignoreMerges: false }).encode('aab')).toEqual(
      [id('a'), 257],
    );
  });

  it('rejects inconsistent parts with a clear message', () => {
    const bytes = byteTokens();
    const missing = bytes.slice(0, 255);
    expect(() => new ByteLevelBpeTokenizer({ tokens: missing, merges: [] })).toThrow(
      /no token for byte 0x[0-9a-f]{2}; byte-level BPE needs all 256/,
    );
    expect(
      () => new ByteLevelBpeTokenizer({ tokens: [...bytes, undefined, utf8('ab')], merges: [] }),
    ).toThrow('token id 256 has no token; ids must run from 0 to 257 without gaps');
    expect(() => new ByteLevelBpeTokenizer({ tokens: [...bytes, utf8('a')], merges: [] })).toThrow(
      /token id 256 \("a"\) repeats token id/,
    );
    expect(
      () => new ByteLevelBpeTokenizer({ tokens: bytes, merges: [[id('a'), id('b')]] }),
    ).toThrow('merges[0] joins ids');
    expect(
      () =>
        new ByteLevelBpeTokenizer({
          tokens: [...bytes, utf8('ab')],
          merges: [
            [id('a'), id('b')],
            [id('a'), id('b')],
          ],
        }),
    ).toThrow('merges[1] (ids 64 and 65) repeats merges[0]');
    expect(() => new ByteLevelBpeTokenizer({ tokens: bytes, merges: [[0, 300]] })).toThrow(
      /merges\[0\] refers to id 300/,
    );
    expect(
      () =>
        new ByteLevelBpeTokenizer({
          tokens: bytes,
          merges: [],
          specialTokens: [{ content: 'a', id: 256, special: true }],
        }),
    ).toThrow(/repeats token id/);
    expect(
      () =>
        new ByteLevelBpeTokenizer({
          tokens: bytes,
          merges: [],
          specialTokens: [{ content: 'x', id: 3, special: true }],
        }),
    ).toThrow('id 3 is both an ordinary token and the special token "x"');
    expect(() => tiny().encode(42 as unknown as string)).toThrow(TokenizerError);
  });
});

function skipInit() {
  return {
    tokens: [...byteTokens(), utf8('aa'), utf8('ab'), utf8('aab')],
    merges: [
      [id('a'), id('b')],
      [id('a'), id('a')],
      [256, id('b')],
    ] as [number, number][],
  };
}

describe('round trips (property)', () => {
  it('decode(encode(s)) is s, with lone surrogates as U+FFFD', () => {
    fc.assert(
      fc.property(nastyString(60), fc.boolean(), (text, allowSpecial) => {
        const ids = trained.encode(text, { allowSpecial });
        expect(trained.decode(ids)).toBe(toWellFormed(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('holds for arbitrary code points', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (text) => {
        expect(trained.decode(trained.encode(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('streams generated ids as complete characters', () => {
    fc.assert(
      fc.property(nastyString(30), (text) => {
        const stream = trained.createStreamDecoder();
        const chunks = trained.encode(text).map((i) => stream.write(i));
        chunks.push(stream.end());
        for (const chunk of chunks) expect(isWellFormed(chunk)).toBe(true);
        expect(chunks.join('')).toBe(toWellFormed(text));
      }),
      { numRuns: 300 },
    );
  });

  it('encodes every special token to its id, or as text when not allowed', () => {
    for (const special of trained.specialTokens) {
      const text = `a${special.content}b${special.content}`;
      const ids = trained.encode(text);
      expect(ids.filter((i) => i === special.id)).toHaveLength(2);
      expect(trained.decode(ids)).toBe(text);
      const plain = trained.encode(text, { allowSpecial: false });
      expect(plain).not.toContain(special.id);
      expect(trained.decode(plain)).toBe(text);
      expect(trained.decode(ids, { skipSpecial: true })).toBe('ab');
    }
    // Overlapping special tokens: the longest match wins.
    expect(trained.decode(trained.encode('<|endoftext|><|pad|>'))).toBe('<|endoftext|><|pad|>');
  });

  it('handles very long inputs', () => {
    const runs = [
      ' '.repeat(100_000),
      '😀'.repeat(50_000),
      `${'ab '.repeat(100_000)}\n`,
      'x'.repeat(300_000),
    ];
    for (const text of runs) {
      const ids = trained.encode(text);
      expect(ids.length).toBeLessThanOrEqual(utf8(text).length);
      expect(trained.decode(ids)).toBe(text);
    }
    // One pre-token of a million letters goes through the heap-based merge loop.
    const ids = tiny().encode('a'.repeat(1_000_001));
    expect(ids).toHaveLength(500_001);
    expect(ids.slice(-2)).toEqual([256, id('a')]);
    expect(tiny().decode(ids)).toBe('a'.repeat(1_000_001));
  });

  it('gives the same ids with a cold and a warm cache, also past the cache limit', () => {
    const text = Array.from({ length: 210_000 }, (_, i) => ` ${i}`).join('');
    const fresh = trainByteLevelBpe('0123456789 0 1 2', { vocabSize: 300 });
    const first = fresh.encode(text);
    expect(fresh.encode(text)).toEqual(first);
    fresh.clearCache();
    expect(fresh.encode(text)).toEqual(first);
    expect(fresh.decode(first)).toBe(text);
  });
});

describe('tokenizer.json', () => {
  it('writes the Hugging Face byte-level BPE layout', () => {
    const json = tiny().toTokenizerJson();
    expect(json.pre_tokenizer).toEqual({
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: true,
      use_regex: true,
    });
    expect(json.decoder.type).toBe('ByteLevel');
    expect(json.model.type).toBe('BPE');
    expect(json.model.merges).toEqual(['a a', 'aa b', 'Ġ a']);
    expect(json.model.vocab.Ġa).toBe(258);
    expect(json.model.vocab['<|end|>']).toBe(259);
    expect(Object.keys(json.model.vocab)).toHaveLength(260);
    expect(json.added_tokens).toEqual([
      {
        id: 259,
        content: '<|end|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      },
    ]);
    expect(JSON.parse(JSON.stringify(tiny()))).toEqual(JSON.parse(JSON.stringify(json)));
    expect(tiny().toTokenizerConfig()).toEqual({
      tokenizer_class: 'PreTrainedTokenizerFast',
      clean_up_tokenization_spaces: false,
    });
  });

  it('reads back what it writes, including awkward token strings', () => {
    // Build the token '__proto__' (and 'constructor') so that it is a key of model.vocab.
    const tokens = byteTokens();
    const merges: [number, number][] = [];
    const join = (a: number, b: number): number => {
      tokens.push(Uint8Array.of(...(tokens[a] as Uint8Array), ...(tokens[b] as Uint8Array)));
      merges.push([a, b]);
      return tokens.length - 1;
    };
    const chain = (text: string): number => [...text].map(id).reduce((a, b) => join(a, b));
    const underscores = chain('__');
    join(join(underscores, chain('proto')), underscores);
    chain('constructor');
    const tok = new ByteLevelBpeTokenizer({
      tokens,
      merges,
      specialTokens: [{ content: '<|x|>', id: tokens.length, special: true }],
    });
    expect(tok.tokenToId('__proto__')).toBeTypeOf('number');
    const text = JSON.stringify(tok);
    expect(text).toContain('"__proto__":');
    const back = ByteLevelBpeTokenizer.fromTokenizerJson(text);
    expect(back.toTokenizerJson()).toEqual(tok.toTokenizerJson());
    expect(back.tokenToId('__proto__')).toBe(tok.tokenToId('__proto__'));
    expect(back.encode('constructor<|x|>')).toEqual(tok.encode('constructor<|x|>'));
    expect(ByteLevelBpeTokenizer.fromTokenizerJson(JSON.parse(text)).vocabSize).toBe(tok.vocabSize);
  });

  it('accepts merges as pairs (the newer format) and GPT-2-style empty prefixes', () => {
    const json = JSON.parse(JSON.stringify(tiny()));
    json.model.merges = json.model.merges.map((m: string) => m.split(' '));
    json.model.continuing_subword_prefix = '';
    json.model.end_of_word_suffix = '';
    json.model.dropout = null;
    json.post_processor = null;
    expect(ByteLevelBpeTokenizer.fromTokenizerJson(json).encode('aab aa')).toEqual(
      tiny().encode('aab aa'),
    );
  });

  it('rejects a character tokenizer file', () => {
    const json = JSON.parse(JSON.stringify(tiny()));
    json.pre_tokenizer = null;
    json.decoder = { type: 'Fuse' };
    expect(() => ByteLevelBpeTokenizer.fromTokenizerJson(json)).toThrow(TokenizerJsonError);
  });
});
