import { readMobyDick } from '@primer-ez/test-utils/corpus';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nastyString } from '../test/arbitraries.js';
import { CharTokenizer, trainCharTokenizer } from './char-tokenizer.js';
import { TokenizerError, TokenizerJsonError } from './errors.js';
import { isWellFormed, toWellFormed } from './unicode.js';

describe('trainCharTokenizer', () => {
  it('uses the sorted distinct characters as ids 0..V-1 (nanoGPT convention)', () => {
    const tok = trainCharTokenizer('hello world');
    expect(tok.vocabSize).toBe(8);
    expect(Array.from({ length: 8 }, (_, i) => tok.idToToken(i)).join('')).toBe(' dehlorw');
    expect(tok.encode('hold')).toEqual([3, 5, 4, 1]);
    expect(tok.decode([3, 2, 4, 4, 5])).toBe('hello');
    expect(tok.specialTokens).toEqual([]);
    expect(tok.unkToken).toBeUndefined();
  });

  it('sorts by code point, not UTF-16 unit, like Python sorted(set(text))', () => {
    const tok = trainCharTokenizer('\uff01😀a');
    expect([0, 1, 2].map((i) => tok.idToToken(i))).toEqual(['a', '\uff01', '😀']);
    expect(tok.encode('😀\uff01')).toEqual([2, 1]);
  });

  it('matches an independent definition on Moby-Dick', () => {
    const text = readMobyDick();
    const chars = [...new Set(Array.from(text))].sort(
      (a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number),
    );
    const tok = trainCharTokenizer(text);
    expect(tok.vocabSize).toBe(chars.length);
    const sample = text.slice(500_000, 520_000);
    expect(tok.encode(sample)).toEqual(Array.from(sample, (c) => chars.indexOf(c)));
    expect(tok.decode(tok.encode(text))).toBe(text);
  });

  it('adds special tokens after the characters, only when asked', () => {
    const tok = trainCharTokenizer(['ab', 'ba<|end|>'], { specialTokens: ['<|end|>', '<pad>'] });
    expect(tok.vocabSize).toBe(4);
    expect(tok.tokenToId('<|end|>')).toBe(2);
    expect(tok.tokenToId('<pad>')).toBe(3);
    expect(tok.tokenToId('<')).toBeUndefined(); // special-token text is not training text
    expect(tok.encode('a<|end|>b<pad>')).toEqual([0, 2, 1, 3]);
    expect(tok.decode([0, 2, 1], { skipSpecial: true })).toBe('ab');
    expect(() => tok.encode('a<|end|>', { allowSpecial: false })).toThrow(
      /character "<" \(U\+003C\) at index 1 is not in the vocabulary/,
    );
  });

  it('throws on unknown characters, naming them, unless an unk token is configured', () => {
    const strict = trainCharTokenizer('abc');
    expect(() => strict.encode('abz')).toThrow(
      'character "z" (U+007A) at index 2 is not in the vocabulary; add it to the training text, or configure an unkToken (e.g. "<unk>")',
    );
    expect(() => strict.encode('a😀')).toThrow(/"😀" \(U\+1F600\) at index 1/);
    expect(() => strict.encode('a\n')).toThrow(/U\+000A at index 1/);
    const lenient = trainCharTokenizer('abc', { unkToken: '<unk>' });
    expect(lenient.tokenToId('<unk>')).toBe(3);
    expect(lenient.encode('a😀z')).toEqual([0, 3, 3]);
    expect(lenient.decode([0, 3])).toBe('a<unk>');
    // an unk token that is already a character or a special token is reused
    expect(trainCharTokenizer('ab?', { unkToken: '?' }).encode('x')).toEqual([0]);
    expect(trainCharTokenizer('ab', { specialTokens: ['<u>'], unkToken: '<u>' }).vocabSize).toBe(3);
  });

  it('reads lone surrogates as U+FFFD', () => {
    const tok = trainCharTokenizer('a\ud800');
    expect(tok.idToToken(1)).toBe('\uFFFD');
    expect(tok.encode('\udfffa')).toEqual([1, 0]);
    expect(tok.decode(tok.encode('a\udc00'))).toBe('a\uFFFD');
  });

  it('round-trips any text made of its characters and special tokens (property)', () => {
    fc.assert(
      fc.property(nastyString(), (text) => {
        const tok = trainCharTokenizer(text, { specialTokens: ['<|endoftext|>'] });
        const ids = tok.encode(text);
        expect(tok.decode(ids)).toBe(toWellFormed(text));
        const stream = tok.createStreamDecoder();
        const chunks = ids.map((id) => stream.write(id));
        chunks.push(stream.end());
        for (const c of chunks) expect(isWellFormed(c)).toBe(true);
        expect(chunks.join('')).toBe(toWellFormed(text));
        expect(tok.encodeBatch([text, ''])).toEqual([ids, []]);
      }),
      { numRuns: 500 },
    );
  });

  it('rejects bad input and options with clear messages', () => {
    const tok = trainCharTokenizer('ab');
    expect(() => tok.decode([0, 2])).toThrow(
      'ids[1] = 2 is not a token id; valid ids are integers from 0 to 1',
    );
    expect(() => tok.encode(null as unknown as string)).toThrow(
      'encode() expects a string, got null',
    );
    expect(() => trainCharTokenizer(7 as unknown as string)).toThrow(/string or an iterable/);
    expect(() => trainCharTokenizer([7 as unknown as string])).toThrow(
      'training texts must be strings, got number',
    );
    expect(() => trainCharTokenizer('ab', { unkToken: '' })).toThrow(/unkToken must be non-empty/);
    expect(() => trainCharTokenizer('ab', { specialTokens: ['x', 'x'] })).toThrow(/listed twice/);
    expect(() => new CharTokenizer({ chars: ['a', 'bc'] })).toThrow(
      'chars[1] = "bc" must be exactly one Unicode character (code point)',
    );
    expect(() => new CharTokenizer({ chars: ['a', 'a'] })).toThrow(/repeats id 0/);
    expect(() => new CharTokenizer({ chars: ['a', undefined, 'b'] })).toThrow(
      'id 1 has no character; ids must run from 0 to 2 without gaps',
    );
    expect(() => new CharTokenizer({ chars: ['a'], unkToken: '<unk>' })).toThrow(
      /unkToken "<unk>" is neither/,
    );
    expect(
      () =>
        new CharTokenizer({
          chars: ['a'],
          specialTokens: [{ content: 'x', id: 0, special: true }],
        }),
    ).toThrow(/id 0 is both the character/);
    expect(() => new CharTokenizer({ chars: ['a'] }).encode('b')).toThrow(TokenizerError);
  });
});

describe('character tokenizer.json', () => {
  it('is a BPE model without merges, no pre-tokenizer, and a Fuse decoder', () => {
    const tok = trainCharTokenizer('ba', { specialTokens: ['<|end|>'], unkToken: '<unk>' });
    const json = tok.toTokenizerJson();
    expect(json.model.vocab).toEqual({ a: 0, b: 1, '<|end|>': 2, '<unk>': 3 });
    expect(json.model.merges).toEqual([]);
    expect(json.model.unk_token).toBe('<unk>');
    expect(json.pre_tokenizer).toBeNull();
    expect(json.decoder).toEqual({ type: 'Fuse' });
    expect(json.added_tokens.map((t) => [t.content, t.id, t.special])).toEqual([
      ['<|end|>', 2, true],
      ['<unk>', 3, true],
    ]);
    expect(tok.toTokenizerConfig()).toEqual({
      tokenizer_class: 'PreTrainedTokenizerFast',
      clean_up_tokenization_spaces: false,
      unk_token: '<unk>',
    });
  });

  it('reads back what it writes', () => {
    const tok = trainCharTokenizer('the quick brown 🦊\n', {
      specialTokens: ['<|end|>'],
      unkToken: '<unk>',
    });
    const back = CharTokenizer.fromTokenizerJson(JSON.stringify(tok));
    expect(back.toTokenizerJson()).toEqual(tok.toTokenizerJson());
    expect(back.encode('quick 🦊?<|end|>')).toEqual(tok.encode('quick 🦊?<|end|>'));
    expect(back.unkToken).toBe('<unk>');
  });

  it('rejects files that are not character tokenizers', () => {
    const json = JSON.parse(JSON.stringify(trainCharTokenizer('ab')));
    expect(() =>
      CharTokenizer.fromTokenizerJson({
        ...json,
        model: { ...json.model, vocab: { a: 0, bc: 1 } },
      }),
    ).toThrow('Invalid tokenizer.json at model.vocab["bc"]: id 1 is not a single character');
    expect(() =>
      CharTokenizer.fromTokenizerJson({ ...json, model: { ...json.model, merges: ['a b'] } }),
    ).toThrow(TokenizerJsonError);
    expect(() => CharTokenizer.fromTokenizerJson({ ...json, decoder: null })).toThrow(
      'expected a "Fuse" decoder, got null',
    );
    expect(() =>
      CharTokenizer.fromTokenizerJson({ ...json, pre_tokenizer: { type: 'Whitespace' } }),
    ).toThrow(
      'Invalid tokenizer.json at pre_tokenizer: "Whitespace" is not supported by the character tokenizer; set it to null',
    );
    expect(() =>
      CharTokenizer.fromTokenizerJson({ ...json, model: { ...json.model, unk_token: '<unk>' } }),
    ).toThrow('Invalid tokenizer.json at model.unk_token: "<unk>" is not in model.vocab');
    expect(() =>
      CharTokenizer.fromTokenizerJson({ ...json, model: { ...json.model, fuse_unk: true } }),
    ).toThrow(/fuse_unk/);
  });
});
