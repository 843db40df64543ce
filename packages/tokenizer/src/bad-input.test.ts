/**
 * Bad input at the API boundary of both tokenizers: wrong types, out-of-range ids, empty input,
 * zero or negative sizes. Every mistake is a `TokenizerError` that names the value (and its
 * position) and the fix, never a `TypeError` from deep inside.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { trainByteLevelBpe } from './bpe-trainer.js';
import { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import { CharTokenizer, trainCharTokenizer } from './char-tokenizer.js';
import { TokenizerError } from './errors.js';
import { fromGpt2Ranks } from './gpt2-ranks.js';
import type { Tokenizer } from './types.js';

// biome-ignore lint/suspicious/noExplicitAny: these tests call the API with wrongly typed values
type Any = any;

const bpe = trainByteLevelBpe('the cat sat on the mat', {
  vocabSize: 270,
  specialTokens: ['<|endoftext|>'],
});
const chars = trainCharTokenizer('the cat', { specialTokens: ['<|endoftext|>'] });
const tokenizers: [string, Tokenizer][] = [
  ['byte-level BPE', bpe],
  ['character', chars],
];

/** Runs `f`; passes if it returns or throws a TokenizerError, fails on any other error. */
function onlyTokenizerErrors(f: () => unknown): void {
  try {
    f();
  } catch (error) {
    if (!(error instanceof TokenizerError)) throw error;
  }
}

describe.each(tokenizers)('%s tokenizer: bad input', (_, tok) => {
  const last = tok.vocabSize - 1;

  it('handles empty input: [] for "", "" for []', () => {
    expect(tok.encode('')).toEqual([]);
    expect(tok.encodeBatch([])).toEqual([]);
    expect(tok.encodeBatch(['', 'the'])).toEqual([[], tok.encode('the')]);
    expect(tok.decode([])).toBe('');
    expect(tok.decode(new Int32Array(0))).toBe('');
    const stream = tok.createStreamDecoder();
    expect(stream.write([])).toBe('');
    expect(stream.end()).toBe('');
  });

  it('rejects text that is not a string', () => {
    expect(() => tok.encode(null as Any)).toThrow('encode() expects a string, got null');
    expect(() => tok.encode(5 as Any)).toThrow('encode() expects a string, got number 5');
    expect(() => tok.encode(['a'] as Any)).toThrow(
      'encode() expects a string, got an array of length 1; to encode several texts use encodeBatch()',
    );
    expect(() => tok.encodeBatch('the cat' as Any)).toThrow(
      'encodeBatch() expects an array of strings, got the string "the cat"; use encode() for one text',
    );
    expect(() => tok.encodeBatch(['the', 3] as Any)).toThrow(
      'encodeBatch() expects strings, but texts[1] is number 3',
    );
  });

  it('rejects bad options', () => {
    expect(() => tok.encode('the', { allowSpecial: 'no' } as Any)).toThrow(
      'encode() option allowSpecial must be true or false, got the string "no"',
    );
    expect(() => tok.encode('the', 5 as Any)).toThrow(
      'encode() options must be an object such as { allowSpecial: true }, got number 5',
    );
    expect(() => tok.decode([0], { skipSpecial: 1 } as Any)).toThrow(
      'decode() option skipSpecial must be true or false, got number 1',
    );
    expect(() => tok.createStreamDecoder('yes' as Any)).toThrow(/createStreamDecoder\(\) options/);
  });

  it('names the first invalid id, its position and the valid range', () => {
    const range = `valid ids are integers from 0 to ${last}`;
    const cases: [unknown, string][] = [
      [tok.vocabSize, `ids[1] = ${tok.vocabSize} is not a token id; ${range}`],
      [-1, `ids[1] = -1 is not a token id; ${range}`],
      [1.5, 'ids[1] = 1.5 is not a token id'],
      [Number.NaN, 'ids[1] = NaN is not a token id'],
      [Number.POSITIVE_INFINITY, 'ids[1] = Infinity is not a token id'],
      ['3', 'ids[1] = "3" is not a token id'],
      [3n, 'ids[1] = 3n is not a token id'],
      [null, 'ids[1] = null is not a token id'],
      [undefined, 'ids[1] = undefined is not a token id'],
      [{ valueOf: () => 1 }, 'ids[1] = an object is not a token id'],
    ];
    for (const [bad, message] of cases) {
      expect(() => tok.decode([0, bad] as Any)).toThrow(message);
      expect(() => tok.createStreamDecoder().write([0, bad] as Any)).toThrow(message);
    }
    expect(() => tok.createStreamDecoder().write(-1)).toThrow('ids[0] = -1 is not a token id');
    expect(() => tok.decode(BigInt64Array.of(1n) as Any)).toThrow('ids[0] = 1n');
    expect(() => tok.decode(Float64Array.of(0.5) as Any)).toThrow('ids[0] = 0.5');
    expect(tok.decode(Int32Array.of(0, 1))).toBe(tok.decode([0, 1]));
    expect(tok.decode({ length: 2, 0: 0, 1: 1 } as Any)).toBe(tok.decode([0, 1]));
  });

  it('rejects id lists that are not lists', () => {
    for (const [bad, what] of [
      [5, 'number 5'],
      ['0,1', 'the string "0,1"'],
      [null, 'null'],
      [undefined, 'undefined'],
      [{}, 'an object'],
      [new Set([0]), 'a Set'],
    ] as const) {
      expect(() => tok.decode(bad as Any)).toThrow(
        `decode() expects an array of token ids, got ${what}`,
      );
    }
    expect(() => tok.createStreamDecoder().write('0' as Any)).toThrow(
      'write() expects an array of token ids, got the string "0"',
    );
  });

  it('answers undefined for ids and tokens that do not exist, whatever their type', () => {
    for (const id of [-1, 1.5, tok.vocabSize, Number.NaN, '0', 'constructor', 'length', null]) {
      expect(tok.idToToken(id as Any), String(id)).toBeUndefined();
    }
    expect(tok.idToToken(0)).toBeTypeOf('string');
    for (const token of ['constructor', '__proto__', 'toString', 5, null]) {
      expect(tok.tokenToId(token as Any)).toBeUndefined();
    }
  });

  it('throws only TokenizerErrors for arbitrary arguments (property)', () => {
    const anything = fc.anything({ withBigInt: true, withTypedArray: true, withSparseArray: true });
    fc.assert(
      fc.property(anything, anything, (a, b) => {
        onlyTokenizerErrors(() => tok.encode(a as Any, b as Any));
        onlyTokenizerErrors(() => tok.encodeBatch(a as Any, b as Any));
        onlyTokenizerErrors(() => tok.decode(a as Any, b as Any));
        onlyTokenizerErrors(() => tok.createStreamDecoder(b as Any).write(a as Any));
        onlyTokenizerErrors(() => tok.idToToken(a as Any));
        onlyTokenizerErrors(() => tok.tokenToId(a as Any));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('bad sizes and arguments when building tokenizers', () => {
  it('rejects zero, negative and non-integer vocabulary sizes in training', () => {
    for (const size of [0, -5, 255, 300.5, Number.NaN, '300', 2 ** 40]) {
      expect(() => trainByteLevelBpe('x', { vocabSize: size as Any })).toThrow(
        /^vocabSize must be an integer from 256 \(256 byte tokens \+ 0 special tokens\) to 2097152, got /,
      );
    }
    expect(() => trainByteLevelBpe('x', { vocabSize: '300' as Any })).toThrow('got "300"');
    expect(() => trainByteLevelBpe('x', { vocabSize: 300, minFrequency: -1 })).toThrow(
      'minFrequency must be an integer ≥ 1, got -1',
    );
    expect(() => trainByteLevelBpe('x', null as Any)).toThrow(
      'training options are required, e.g. { vocabSize: 4096 }, got null',
    );
    expect(() => trainByteLevelBpe('x', { vocabSize: 300, specialTokens: '<s>' as Any })).toThrow(
      `specialTokens must be an array of strings such as ['<|endoftext|>'], got the string "<s>"`,
    );
  });

  it('rejects an empty character vocabulary, but trains one from empty text plus an unknown token', () => {
    expect(() => trainCharTokenizer('')).toThrow(
      'the training text has no characters, so the vocabulary would be empty; train on some text',
    );
    expect(() => trainCharTokenizer([])).toThrow(/the training text has no characters/);
    const unk = trainCharTokenizer('', { unkToken: '<unk>' });
    expect(unk.vocabSize).toBe(1);
    expect(unk.encode('ab')).toEqual([0, 0]);
    expect(() => new CharTokenizer({ chars: [] })).toThrow('the vocabulary is empty');
    expect(() => trainCharTokenizer('ab', null as Any)).toThrow(
      "trainCharTokenizer options must be an object such as { unkToken: '<unk>' }, got null",
    );
  });

  it('checks constructor arguments, refusing absurd ids before allocating for them', () => {
    expect(() => new CharTokenizer(null as Any)).toThrow(
      "new CharTokenizer() expects an object such as { chars: ['a', 'b'] }, got null",
    );
    expect(() => new CharTokenizer({ chars: 'ab' as Any })).toThrow(
      'CharTokenizerInit.chars must be an array of characters, got the string "ab"',
    );
    const special = (id: unknown) => [{ content: '<s>', id, special: true }] as Any;
    expect(() => new CharTokenizer({ chars: ['a'], specialTokens: special(2 ** 40) })).toThrow(
      'special token "<s>" has id 1099511627776; ids are integers from 0 to 16777215',
    );
    expect(() => new CharTokenizer({ chars: ['a'], specialTokens: special(Number.NaN) })).toThrow(
      'has id NaN',
    );
    // A valid but huge id leaves a gap, found without allocating 16 million slots.
    expect(() => new CharTokenizer({ chars: ['a'], specialTokens: special(16_000_000) })).toThrow(
      'id 1 has no token; ids must run from 0 to 16000000 without gaps',
    );
    expect(
      () =>
        new CharTokenizer({
          chars: ['a'],
          specialTokens: [{ content: '<s>', id: 1, special: 'yes' }] as Any,
        }),
    ).toThrow('special token "<s>" has special = "yes"; expected true or false');
    expect(() => new CharTokenizer({ chars: ['a'], specialTokens: [null] as Any })).toThrow(
      'specialTokens[0] must be an object { content, id, special }, got null',
    );
    expect(() => new ByteLevelBpeTokenizer({ tokens: [], merges: 5 as Any })).toThrow(
      'ByteLevelBpeInit.merges must be an array, got number 5',
    );
    const bytes = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
    expect(() => new ByteLevelBpeTokenizer({ tokens: bytes, merges: [[1] as Any] })).toThrow(
      'merges[0] must be a pair of ids [left, right], got an array',
    );
    expect(() => new ByteLevelBpeTokenizer({ tokens: bytes, merges: [[1, 'x']] as Any })).toThrow(
      'merges[0] refers to id "x", which is not an ordinary token',
    );
  });

  it('refuses absurd GPT-2 rank lists', () => {
    expect(() => fromGpt2Ranks({ length: 1e12 } as Any)).toThrow(
      'fromGpt2Ranks() got 1000000000000 ranks, more than the limit of 2097152 tokens',
    );
    expect(() => fromGpt2Ranks(5 as Any)).toThrow('got number 5');
  });
});
