/**
 * `loadTokenizerJson` on hostile input: arbitrary text, arbitrary JSON, plausible-looking
 * documents, prototype-polluting keys, repeated keys and oversized documents. It must only ever
 * throw `TokenizerJsonError`s (never a `TypeError` or `RangeError` from deep inside), never hang,
 * and anything it does load must be a working tokenizer.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { trainByteLevelBpe } from './bpe-trainer.js';
import { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import { trainCharTokenizer } from './char-tokenizer.js';
import { TokenizerError, TokenizerJsonError } from './errors.js';
import { MAX_TOKENIZER_JSON_BYTES, MAX_VOCAB_SIZE } from './limits.js';
import { loadTokenizerJson } from './load.js';

/** Loads `input`; returns the error if it is a TokenizerJsonError, rethrows anything else. */
function attempt(input: unknown, options?: object): TokenizerJsonError | undefined {
  try {
    const tok = loadTokenizerJson(input as object, options);
    // Whatever loads must work: encode and decode a sample without throwing anything untyped.
    try {
      tok.decode(tok.encode('the cat'));
    } catch (error) {
      if (!(error instanceof TokenizerError)) throw error;
    }
    return undefined;
  } catch (error) {
    if (error instanceof TokenizerJsonError) return error;
    throw error;
  }
}

function rejects(input: unknown, path: string, message: string | RegExp, options?: object): void {
  const error = attempt(input, options);
  expect(error, `expected an error at ${path}`).toBeInstanceOf(TokenizerJsonError);
  expect(error?.path).toBe(path);
  if (typeof message === 'string') expect(error?.message).toContain(message);
  else expect(error?.message).toMatch(message);
}

const bpe = trainByteLevelBpe('the cat sat on the mat with the hat', {
  vocabSize: 270,
  specialTokens: ['<|endoftext|>'],
});
const bpeText = JSON.stringify(bpe);
const charText = JSON.stringify(trainCharTokenizer('the cat', { unkToken: '<unk>' }));

/** Documents made of the field names and values a tokenizer.json uses, nested at random. */
const plausible = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(
      null,
      true,
      false,
      0,
      1,
      -1,
      255,
      1.5,
      1e300,
      'BPE',
      'ByteLevel',
      'Fuse',
      '1.0',
      'a',
      'Ġ',
      'a b',
      '<|endoftext|>',
      '',
      '\ud800',
    ),
    fc.string({ maxLength: 4 }),
    tie('object'),
    fc.array(tie('value'), { maxLength: 4 }),
  ),
  object: fc.dictionary(
    fc.constantFrom(
      'version',
      'model',
      'type',
      'vocab',
      'merges',
      'added_tokens',
      'pre_tokenizer',
      'decoder',
      'normalizer',
      'post_processor',
      'id',
      'content',
      'special',
      'unk_token',
      'ignore_merges',
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'a',
      'Ġ',
    ),
    tie('value'),
    { maxKeys: 6 },
  ),
}));

describe('loadTokenizerJson on hostile input', () => {
  it('throws only TokenizerJsonError for arbitrary text (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 60 }),
          fc.string({
            unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '1', 'a', ' ', '\\'),
          }),
          fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
        ),
        (text) => {
          expect(attempt(text)).toBeInstanceOf(TokenizerJsonError);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('throws only TokenizerJsonError for arbitrary values, bytes and plausible documents (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything({
            withBigInt: true,
            withMap: true,
            withSet: true,
            withTypedArray: true,
            withSparseArray: true,
            withNullPrototype: true,
            withBoxedValues: true,
          }),
          fc.uint8Array({ maxLength: 40 }),
          plausible.object,
          plausible.object.map((o) => JSON.stringify(o)),
        ),
        (input) => {
          attempt(input);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses deeply nested documents without overflowing the stack', () => {
    const depth = 500_000;
    rejects(`${'['.repeat(depth)}${']'.repeat(depth)}`, '', 'expected an object, got an array');
    rejects(
      `{"model":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      '',
      'unsupported tokenizer (model an array of length 1, pre_tokenizer null, decoder null)',
    );
    const deepObject = `{"decoder":{"type":"Fuse"},"model":{"type":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`;
    rejects(deepObject, 'model.type', 'expected "BPE", got an object');
  });

  it('never lets keys such as __proto__ reach Object.prototype', () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const polluting = [
      '{"__proto__":{"polluted":1},"model":{}}',
      bpeText.replace('"model":{', '"model":{"__proto__":{"polluted":1},'),
      bpeText.replace('"added_tokens":[{', '"added_tokens":[{"__proto__":{"polluted":1},'),
      bpeText.replace('"vocab":{', '"vocab":{"constructor":{"prototype":{"polluted":1}},'),
      charText.replace('"decoder":{', '"decoder":{"__proto__":{"polluted":1},'),
    ];
    for (const text of polluting) expect(attempt(text)).toBeInstanceOf(TokenizerJsonError);
    rejects(polluting[0], '', 'unknown field "__proto__"');
    rejects(polluting[1], 'model', 'unknown field "__proto__"');
    rejects(polluting[3], 'model.vocab["constructor"]', 'expected a token id');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
  });

  it('refuses repeated keys, which JSON.parse would silently collapse', () => {
    // Same id twice under one key: JSON.parse would keep one and load a different vocabulary.
    const dupVocab = bpeText.replace('"vocab":{', '"vocab":{"Ġthe":0,');
    rejects(dupVocab, 'model.vocab', 'the key "Ġthe" appears twice');
    rejects(
      bpeText.replace('"model":{', '"model":{"type":"BPE",'),
      'model',
      'the key "type" appears',
    );
    rejects(
      `${bpeText.slice(0, -1)},"added_tokens":[]}`,
      '',
      'the key "added_tokens" appears twice',
    );
    // Escaped and unescaped spellings of one key are the same key.
    rejects(charText.replace('"vocab":{', '"vocab":{"\\u0074":0,'), 'model.vocab', 'the key "t"');
  });

  it('refuses unknown and misspelt fields instead of ignoring them', () => {
    rejects(
      bpeText.replace('"added_tokens"', '"added_tokenz"'),
      '',
      'unknown field "added_tokenz"',
    );
    rejects(
      bpeText.replace('"ignore_merges"', '"ignore_mergez"'),
      'model',
      'unknown field "ignore_mergez"',
    );
    rejects(
      bpeText.replace('"special":true', '"Special":true'),
      'added_tokens[0]',
      'unknown field',
    );
    rejects(
      bpeText.replace('"use_regex":true', '"use_regex":1'),
      'pre_tokenizer.use_regex',
      'expected a boolean, got number 1',
    );
    rejects(
      bpeText.replace('"trim_offsets":true', '"trim_offsets":"yes"'),
      'pre_tokenizer.trim_offsets',
      'expected a boolean',
    );
    rejects(
      bpeText.replace('"version":"1.0"', '"version":"2.0"'),
      'version',
      'the string "2.0" is not supported',
    );
  });

  it('enforces size limits before allocating anything large', () => {
    expect(MAX_TOKENIZER_JSON_BYTES).toBe(128 * 1024 * 1024);
    expect(MAX_VOCAB_SIZE).toBe(2_097_152);
    rejects(
      bpeText,
      '',
      `the document is ${bpeText.length} characters long, more than the limit of 1000`,
      {
        maxBytes: 1000,
      },
    );
    rejects(new TextEncoder().encode(bpeText), '', 'bytes long, more than the limit of 1000', {
      maxBytes: 1000,
    });
    expect(attempt(bpeText, { maxBytes: bpeText.length })).toBeUndefined();
    rejects(bpeText, 'model.vocab', '270 entries are more than the limit of 269', {
      maxVocabSize: 269,
    });
    expect(attempt(bpeText, { maxVocabSize: 270 })).toBeUndefined();
    // One absurd id in a tiny file: refused by the limit, or as a gap, without a huge table.
    rejects(
      charText.replace('"t":', `"zz":${MAX_VOCAB_SIZE},"t":`),
      'model.vocab',
      `ids go up to ${MAX_VOCAB_SIZE}, more than the limit of ${MAX_VOCAB_SIZE} tokens`,
    );
    rejects(
      charText.replace('"t":', `"z":${MAX_VOCAB_SIZE - 1},"t":`),
      'model.vocab',
      /no token has id \d+; ids must run from 0 to 2097151 without gaps/,
    );
    expect(() => loadTokenizerJson(bpeText, { maxBytes: 0 })).toThrow(
      'maxBytes must be a positive integer (bytes), got number 0',
    );
    expect(() => loadTokenizerJson(bpeText, { maxVocabSize: 2 ** 30 })).toThrow(
      'maxVocabSize must be an integer from 1 to 16777216',
    );
  });

  it('reads UTF-8 bytes strictly, naming the first bad byte', () => {
    const bytes = new TextEncoder().encode(bpeText);
    expect(loadTokenizerJson(bytes)).toBeInstanceOf(ByteLevelBpeTokenizer);
    expect(loadTokenizerJson(bytes.buffer)).toBeInstanceOf(ByteLevelBpeTokenizer);
    const at = bpeText.indexOf('Ġ'); // two bytes in UTF-8: 0xC4 0xA0
    const latin1 = bytes.slice();
    latin1[at + 1] = 0x41; // 0xC4 followed by "A": not UTF-8
    rejects(latin1, '', `not UTF-8 text at byte ${at} (0xC4); save the file as UTF-8`);
    rejects(new Float64Array(3), '', 'expected JSON text, its UTF-8 bytes');
  });
});
