import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { trainByteLevelBpe } from './bpe-trainer.js';
import { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import { CharTokenizer, trainCharTokenizer } from './char-tokenizer.js';
import { TokenizerJsonError } from './errors.js';
import { loadTokenizerJson } from './load.js';

// biome-ignore lint/suspicious/noExplicitAny: tests poke at arbitrary JSON
type Json = any;

const bpe = trainByteLevelBpe('the cat sat on the mat with the hat', {
  vocabSize: 270,
  specialTokens: ['<|endoftext|>'],
});
const chars = trainCharTokenizer('the cat', {
  specialTokens: ['<|endoftext|>'],
  unkToken: '<unk>',
});
const bpeJson = (): Json => JSON.parse(JSON.stringify(bpe));
const charJson = (): Json => JSON.parse(JSON.stringify(chars));

function expectJsonError(input: unknown, path: string, message: RegExp | string): void {
  let error: unknown;
  try {
    loadTokenizerJson(input as object);
  } catch (e) {
    error = e;
  }
  expect(error, `expected an error at ${path}`).toBeInstanceOf(TokenizerJsonError);
  expect((error as TokenizerJsonError).path).toBe(path);
  if (typeof message === 'string') expect((error as Error).message).toContain(message);
  else expect((error as Error).message).toMatch(message);
}

function edit(base: Json, change: (json: Json) => void): Json {
  change(base);
  return base;
}

describe('loadTokenizerJson', () => {
  it('returns the right kind of tokenizer', () => {
    const a = loadTokenizerJson(JSON.stringify(bpe));
    expect(a).toBeInstanceOf(ByteLevelBpeTokenizer);
    expect(a.encode('the hat<|endoftext|>')).toEqual(bpe.encode('the hat<|endoftext|>'));
    const b = loadTokenizerJson(charJson());
    expect(b).toBeInstanceOf(CharTokenizer);
    expect(b.kind).toBe('char');
    expect(b.encode('cat?')).toEqual(chars.encode('cat?'));
  });

  it('loads a GPT-2-style file with the special token in the vocabulary and legacy options', () => {
    const json = edit(bpeJson(), (j) => {
      j.model.vocab['<|endoftext|>'] = bpe.vocabSize - 1;
      j.model.continuing_subword_prefix = '';
      j.model.end_of_word_suffix = '';
      j.model.fuse_unk = false;
      j.post_processor = {
        type: 'ByteLevel',
        add_prefix_space: true,
        trim_offsets: false,
        use_regex: true,
      };
      delete j.version;
    });
    expect(loadTokenizerJson(json).encode('the cat<|endoftext|>')).toEqual(
      bpe.encode('the cat<|endoftext|>'),
    );
  });

  it('explains documents that are not tokenizer.json at all', () => {
    expectJsonError('{"model": ', '', /is not valid JSON/);
    expectJsonError('[]', '', 'expected an object, got an array');
    expectJsonError(null, '', 'expected an object, got null');
    expectJsonError(
      {
        model: { type: 'WordPiece', vocab: {} },
        pre_tokenizer: { type: 'BertPreTokenizer' },
        decoder: { type: 'WordPiece' },
      },
      '',
      /unsupported tokenizer \(model "WordPiece", pre_tokenizer "BertPreTokenizer", decoder "WordPiece"\)/,
    );
    expectJsonError(
      { pre_tokenizer: 'ByteLevel' },
      'pre_tokenizer',
      'expected an object, got the string "ByteLevel"',
    );
    expectJsonError(
      edit(bpeJson(), (j) => delete j.model),
      'model',
      'expected an object, got nothing (the field is missing)',
    );
  });

  it('names the bad field of a malformed byte-level file', () => {
    const cases: [string, (j: Json) => void, string | RegExp][] = [
      ['model.type', (j) => (j.model.type = 'Unigram'), 'expected "BPE", got "Unigram"'],
      ['model.vocab', (j) => (j.model.vocab = []), 'expected an object, got an array'],
      [
        'model.vocab["t"]',
        (j) => (j.model.vocab.t = -1),
        'expected a token id (an integer ≥ 0), got number -1',
      ],
      ['model.vocab["t"]', (j) => (j.model.vocab.t = '5'), 'got the string "5"'],
      ['model.vocab["t"]', (j) => (j.model.vocab.t = 1.5), 'got number 1.5'],
      [
        'model.vocab["t"]',
        (j) => (j.model.vocab.t = j.model.vocab.h),
        /id \d+ is also used by "h"/,
      ],
      [
        'model.vocab',
        (j) => (j.model.vocab.zzz = 5000),
        /no token has id \d+; ids must run from 0 to 5000 without gaps/,
      ],
      ['model.vocab["a b"]', (j) => renameToken(j, 'Ġcat', 'a b'), /is not a byte-level token/],
      ['model.vocab', (j) => renameToken(j, 'Ā', 'ĀĀ'), 'no token for byte 0x00 ("Ā")'],
      ['model.merges', (j) => (j.model.merges = {}), 'expected an array, got an object'],
      [
        'model.merges[0]',
        (j) => (j.model.merges[0] = 'Ġc'),
        '"Ġc" must be two tokens separated by one space',
      ],
      [
        'model.merges[0]',
        (j) => (j.model.merges[0] = 'a b c'),
        'must be two tokens separated by one space',
      ],
      ['model.merges[0]', (j) => (j.model.merges[0] = ['a']), 'expected two tokens, got 1'],
      [
        'model.merges[0][1]',
        (j) => (j.model.merges[0] = ['a', 7]),
        'expected a string, got number 7',
      ],
      ['model.merges[0]', (j) => (j.model.merges[0] = 'a 中'), 'token "中" is not in model.vocab'],
      [
        'model.merges[0]',
        (j) => (j.model.merges[0] = 'q z'),
        'the merged token "qz" is not in model.vocab',
      ],
      [
        'model.merges[1]',
        (j) => (j.model.merges[1] = j.model.merges[0]),
        'repeats model.merges[0]',
      ],
      [
        'model.merges[0]',
        (j) => (j.model.merges[0] = '<|endoftext|> a'),
        'token "<|endoftext|>" is not in model.vocab',
      ],
      ['model.dropout', (j) => (j.model.dropout = 0.1), 'BPE dropout makes encoding random'],
      [
        'model.continuing_subword_prefix',
        (j) => (j.model.continuing_subword_prefix = '##'),
        'not supported',
      ],
      ['model.end_of_word_suffix', (j) => (j.model.end_of_word_suffix = '</w>'), 'not supported'],
      ['model.byte_fallback', (j) => (j.model.byte_fallback = true), 'not supported'],
      ['model.ignore_merges', (j) => (j.model.ignore_merges = 'yes'), 'expected a boolean'],
      ['normalizer', (j) => (j.normalizer = { type: 'NFC' }), 'normalizer "NFC" is not supported'],
      [
        'pre_tokenizer.add_prefix_space',
        (j) => (j.pre_tokenizer.add_prefix_space = true),
        'only add_prefix_space: false is supported',
      ],
      [
        'pre_tokenizer.use_regex',
        (j) => (j.pre_tokenizer.use_regex = false),
        'only the GPT-2 split',
      ],
      ['pre_tokenizer.type', (j) => (j.pre_tokenizer.type = 3), 'expected a string, got number 3'],
      [
        'post_processor',
        (j) => (j.post_processor = { type: 'TemplateProcessing' }),
        'adds tokens around the text',
      ],
      [
        'decoder',
        (j) => (j.decoder = { type: 'WordPiece' }),
        'expected a "ByteLevel" decoder, got "WordPiece"',
      ],
      ['truncation', (j) => (j.truncation = { max_length: 5 }), 'truncation would cut the ids'],
      ['padding', (j) => (j.padding = { length: 5 }), 'padding would add ids'],
      ['added_tokens', (j) => (j.added_tokens = {}), 'expected an array, got an object'],
      ['added_tokens[0]', (j) => (j.added_tokens[0] = '<s>'), 'expected an object'],
      ['added_tokens[0].id', (j) => delete j.added_tokens[0].id, 'expected a token id'],
      [
        'added_tokens[0].content',
        (j) => (j.added_tokens[0].content = ''),
        'expected a non-empty string',
      ],
      ['added_tokens[0].content', (j) => (j.added_tokens[0].content = 'a\ud800'), 'lone surrogate'],
      ['added_tokens[0].lstrip', (j) => (j.added_tokens[0].lstrip = true), 'true is not supported'],
      [
        'added_tokens[0].single_word',
        (j) => (j.added_tokens[0].single_word = 1),
        'expected a boolean, got number 1',
      ],
      ['added_tokens[0].special', (j) => (j.added_tokens[0].special = 'yes'), 'expected a boolean'],
      [
        'added_tokens[1]',
        (j) => j.added_tokens.push({ ...j.added_tokens[0], id: 999 }),
        'repeats added_tokens[0]',
      ],
      [
        'added_tokens[1].id',
        (j) => j.added_tokens.push({ ...j.added_tokens[0], content: 'x' }),
        /id \d+ is already used by added token/,
      ],
      [
        'added_tokens[0].id',
        (j) => (j.added_tokens[0].id = 0),
        'id 0 of "<|endoftext|>" is already the vocabulary token "!"',
      ],
      [
        'added_tokens[0]',
        (j) => {
          j.model.vocab['<|endoftext|>'] = 0;
          delete j.model.vocab['!'];
        },
        /has id \d+ here but id 0 in model.vocab/,
      ],
    ];
    for (const [path, change, message] of cases)
      expectJsonError(edit(bpeJson(), change), path, message);
  });

  it('names the bad field of a malformed character file', () => {
    const cases: [string, (j: Json) => void, string | RegExp][] = [
      ['model.vocab["ca"]', (j) => renameToken(j, 'c', 'ca'), 'is not a single character'],
      ['model.merges', (j) => (j.model.merges = ['c a']), 'a character tokenizer has no merges'],
      ['model.unk_token', (j) => (j.model.unk_token = '<nope>'), 'is not in model.vocab'],
      ['model.vocab', (j) => (j.model.vocab.z = 100), 'no token has id'],
      [
        'post_processor',
        (j) => (j.post_processor = { type: 'TemplateProcessing' }),
        'not supported by the character tokenizer',
      ],
      [
        'normalizer',
        (j) => (j.normalizer = { type: 'Lowercase' }),
        'not supported by the character tokenizer',
      ],
      ['model.type', (j) => (j.model.type = 'WordPiece'), 'expected "BPE"'],
    ];
    for (const [path, change, message] of cases)
      expectJsonError(edit(charJson(), change), path, message);
  });

  it('never crashes or half-loads on randomly corrupted files (property)', () => {
    const paths = [
      ['model'],
      ['model', 'vocab'],
      ['model', 'merges'],
      ['model', 'merges', 0],
      ['model', 'type'],
      ['model', 'unk_token'],
      ['model', 'vocab', 'Ġ'],
      ['model', 'vocab', 't'],
      ['added_tokens'],
      ['added_tokens', 0],
      ['added_tokens', 0, 'id'],
      ['added_tokens', 0, 'content'],
      ['pre_tokenizer'],
      ['decoder'],
      ['decoder', 'type'],
      ['normalizer'],
    ];
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.constantFrom(...paths),
        fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
        (useChar, path, value) => {
          const json = useChar ? charJson() : bpeJson();
          let target = json;
          for (const key of path.slice(0, -1)) target = target?.[key];
          if (target === undefined || target === null) return;
          const last = path[path.length - 1] as string;
          if (value === undefined) delete target[last];
          else target[last] = value;
          try {
            const tok = loadTokenizerJson(json);
            // If it loads, it is a working tokenizer.
            const ids = tok.encode('the cat');
            expect(tok.decode(ids)).toBe('the cat');
          } catch (error) {
            if (!(error instanceof TokenizerJsonError)) throw error;
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

/** Renames a vocabulary token (and merges that mention it). */
function renameToken(json: Json, from: string, to: string): void {
  const vocab = json.model.vocab;
  vocab[to] = vocab[from];
  delete vocab[from];
  json.model.merges = json.model.merges.map((m: string) =>
    m
      .split(' ')
      .map((t) => (t === from ? to : t))
      .join(' '),
  );
}
