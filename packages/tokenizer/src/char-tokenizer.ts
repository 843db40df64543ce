/**
 * Character-level tokenizer, as in nanoGPT's and labml's character-level experiments: one token
 * per Unicode code point.
 */

import { describeValue } from '@primer-ez/input-checks';
import { encodeEach, expectInit, readBooleanOption } from './arguments.js';
import { readCharTokenizerJson } from './char-tokenizer-json.js';
import { buildFromJson, TokenizerError, TokenizerJsonError } from './errors.js';
import { asIdList, expectIdList, invalidId, isValidId } from './ids.js';
import type { LoadTokenizerOptions } from './limits.js';
import {
  checkIdSpace,
  checkSpecialTokens,
  encodeWithSpecials,
  type SpecialToken,
  SpecialTokenSplitter,
  validateSpecialTokenContents,
} from './special-tokens.js';
import {
  addedTokensJson,
  type TokenizerConfigJson,
  type TokenizerJson,
  vocabRecord,
} from './tokenizer-json.js';
import type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from './types.js';
import { describeChar, isSingleCodePoint, isWellFormed, preview, toWellFormed } from './unicode.js';

/** What a {@link CharTokenizer} is made of. */
export interface CharTokenizerInit {
  /**
   * The character of each id (one code point each); `undefined` at the ids of special tokens.
   * {@link trainCharTokenizer} sorts them by code point.
   */
  readonly chars: readonly (string | undefined)[];
  /** Special tokens; their ids fill the gaps of `chars`. */
  readonly specialTokens?: readonly SpecialToken[];
  /**
   * Text of the token that stands for characters outside the vocabulary (a special token or a
   * character). Without one, such characters are an error.
   */
  readonly unkToken?: string;
}

/** Options for {@link trainCharTokenizer}. */
export interface TrainCharTokenizerOptions {
  /** Special tokens, given ids after the characters in this order. None by default. */
  readonly specialTokens?: readonly string[];
  /**
   * A token for characters not seen in training (e.g. `'<unk>'`). If it is not already a
   * special token or a character it becomes the last special token. Default: none, so unseen
   * characters throw.
   */
  readonly unkToken?: string;
}

const NONE = -1;
/** Code units turned into a string at a time by `decode`. */
const CHUNK = 8192;

/**
 * A character tokenizer. Create one with {@link trainCharTokenizer} or {@link loadTokenizerJson}.
 *
 * @example
 * ```ts
 * const tok = trainCharTokenizer('hello world');
 * tok.encode('hold'); // [3, 5, 4, 1]  (vocabulary: ' ', 'd', 'e', 'h', 'l', 'o', 'r', 'w')
 * tok.decode([3, 2, 4, 4, 5]); // 'hello'
 * ```
 */
export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly vocabSize: number;
  readonly specialTokens: readonly SpecialToken[];
  /** Text of the unknown-character token, if any. */
  readonly unkToken: string | undefined;

  private readonly tokens: string[];
  private readonly kinds: Uint8Array; // 0 char, 1 added, 2 special
  /** Per id: the character's code point, or -1 for special tokens. */
  private readonly units: Int32Array;
  private readonly unitBuffer = new Uint16Array(CHUNK);
  private readonly index = new Map<string, number>();
  private readonly bmp = new Int32Array(0x10000).fill(NONE);
  private readonly astral = new Map<number, number>();
  private readonly unkId: number;
  private readonly splitter: SpecialTokenSplitter;

  /** Builds a tokenizer from its parts; throws a {@link TokenizerError} if they are inconsistent. */
  constructor(init: CharTokenizerInit) {
    expectInit(init, 'new CharTokenizer()', "{ chars: ['a', 'b'] }");
    if (!Array.isArray(init.chars)) {
      throw new TokenizerError(
        `CharTokenizerInit.chars must be an array of characters, got ${describeValue(init.chars)}`,
      );
    }
    const specials = checkSpecialTokens(init.specialTokens ?? []);
    const size = checkIdSpace(init.chars, specials);
    if (size === 0) {
      throw new TokenizerError(
        'the vocabulary is empty; a character tokenizer needs at least one character or special token',
      );
    }
    this.vocabSize = size;
    this.specialTokens = specials;
    this.tokens = new Array<string>(size);
    this.kinds = new Uint8Array(size);
    this.units = new Int32Array(size).fill(NONE);
    for (const t of this.specialTokens) {
      if (this.tokens[t.id] !== undefined) {
        throw new TokenizerError(
          `special tokens ${preview(this.tokens[t.id] as string)} and ${preview(t.content)} share id ${t.id}`,
        );
      }
      if (init.chars[t.id] !== undefined) {
        throw new TokenizerError(
          `id ${t.id} is both the character ${describeChar(init.chars[t.id] as string)} and the special token ${preview(t.content)}`,
        );
      }
      if (this.index.has(t.content))
        throw new TokenizerError(`special token ${preview(t.content)} is listed twice`);
      this.tokens[t.id] = t.content;
      this.kinds[t.id] = t.special ? 2 : 1;
      this.index.set(t.content, t.id);
    }
    for (let id = 0; id < size; id++) {
      if (this.tokens[id] !== undefined) continue;
      const char = init.chars[id];
      if (typeof char !== 'string') {
        throw new TokenizerError(
          `id ${id} has no character; ids must run from 0 to ${size - 1} without gaps`,
        );
      }
      if (!isSingleCodePoint(char) || !isWellFormed(char)) {
        throw new TokenizerError(
          `chars[${id}] = ${preview(char)} must be exactly one Unicode character (code point)`,
        );
      }
      const other = this.index.get(char);
      if (other !== undefined) {
        throw new TokenizerError(
          `chars[${id}] ${describeChar(char)} repeats id ${other}; every token must be distinct`,
        );
      }
      this.tokens[id] = char;
      this.index.set(char, id);
      const cp = char.codePointAt(0) as number;
      if (cp < 0x10000) this.bmp[cp] = id;
      else this.astral.set(cp, id);
      this.units[id] = cp;
    }
    if (init.unkToken !== undefined) {
      const unk = this.index.get(init.unkToken);
      if (unk === undefined) {
        throw new TokenizerError(
          `unkToken ${preview(init.unkToken)} is neither a special token nor a character of the vocabulary; add it to specialTokens`,
        );
      }
      this.unkId = unk;
    } else {
      this.unkId = NONE;
    }
    this.unkToken = init.unkToken;
    this.splitter = new SpecialTokenSplitter(this.specialTokens);
  }

  /**
   * Encodes text: one id per character. Characters outside the vocabulary become the unknown
   * token if one is configured, else throw a {@link TokenizerError}. Lone surrogates are read as
   * U+FFFD.
   */
  encode(text: string, options?: EncodeOptions): number[] {
    return encodeWithSpecials(text, options, this.splitter, (input, start, end, out) =>
      this.encodeChars(input, start, end, out),
    );
  }

  private encodeChars(text: string, start: number, end: number, out: number[]): void {
    const bmp = this.bmp;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      let id: number;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
        const cp = text.codePointAt(i) as number;
        id = this.astral.get(cp) ?? NONE;
        if (id === NONE) id = this.unknown(text, i);
        i++;
      } else {
        id = bmp[c] as number;
        if (id === NONE) id = this.unknown(text, i);
      }
      out.push(id);
    }
  }

  private unknown(text: string, at: number): number {
    if (this.unkId !== NONE) return this.unkId;
    const char = String.fromCodePoint(text.codePointAt(at) as number);
    throw new TokenizerError(
      `character ${describeChar(char)} at index ${at} is not in the vocabulary; ` +
        'add it to the training text, or configure an unkToken (e.g. "<unk>")',
    );
  }

  /** Encodes several texts. */
  encodeBatch(texts: readonly string[], options?: EncodeOptions): number[][] {
    return encodeEach(texts, (text) => this.encode(text, options));
  }

  /** Decodes ids to text. */
  decode(input: ArrayLike<number>, options?: DecodeOptions): string {
    const ids = expectIdList(input, 'decode()');
    const skip = readBooleanOption(options, 'skipSpecial', 'decode()');
    const { tokens, kinds, units } = this;
    const size = tokens.length;
    // Characters are gathered as UTF-16 code units and turned into text in chunks.
    const chunk = this.unitBuffer;
    let n = 0;
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (!isValidId(id, size)) invalidId(id, i, size);
      const u = units[id] as number;
      if (u >= 0) {
        if (n >= CHUNK - 1) {
          text += String.fromCharCode.apply(null, chunk.subarray(0, n) as unknown as number[]);
          n = 0;
        }
        if (u > 0xffff) {
          chunk[n++] = 0xd800 + ((u - 0x10000) >> 10);
          chunk[n++] = 0xdc00 + ((u - 0x10000) & 0x3ff);
        } else {
          chunk[n++] = u;
        }
        continue;
      }
      if (skip && kinds[id] === 2) continue;
      if (n > 0)
        text += String.fromCharCode.apply(null, chunk.subarray(0, n) as unknown as number[]);
      n = 0;
      text += tokens[id] as string;
    }
    if (n > 0) text += String.fromCharCode.apply(null, chunk.subarray(0, n) as unknown as number[]);
    return text;
  }

  /** Creates a stream decoder; every character token is complete, so it never holds text back. */
  createStreamDecoder(options?: DecodeOptions): StreamDecoder {
    readBooleanOption(options, 'skipSpecial', 'createStreamDecoder()');
    return {
      write: (ids) => this.decode(asIdList(ids), options),
      end: () => '',
    };
  }

  /** The id of a token given in its `tokenizer.json` vocabulary form, if any. */
  tokenToId(token: string): number | undefined {
    return this.index.get(token);
  }

  /** The `tokenizer.json` vocabulary form of an id's token, if the id exists. */
  idToToken(id: number): string | undefined {
    return isValidId(id, this.vocabSize) ? this.tokens[id] : undefined;
  }

  /**
   * The vocabulary as a Hugging Face `tokenizer.json`: a BPE model without merges (so every
   * character is its own token), no pre-tokenizer, and a `Fuse` decoder that joins tokens
   * without spaces. `@huggingface/tokenizers` / transformers.js give the same ids and text.
   */
  toTokenizerJson(): TokenizerJson {
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: addedTokensJson(this.specialTokens),
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: { type: 'Fuse' },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: this.unkToken ?? null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab: vocabRecord(this.tokens.map((t, id) => [t, id])),
        merges: [],
      },
    };
  }

  /** A `tokenizer_config.json` to save next to `tokenizer.json` (sets `clean_up_tokenization_spaces: false`). */
  toTokenizerConfig(): TokenizerConfigJson {
    const config: TokenizerConfigJson = {
      tokenizer_class: 'PreTrainedTokenizerFast',
      clean_up_tokenization_spaces: false,
    };
    if (this.unkToken !== undefined) config.unk_token = this.unkToken;
    return config;
  }

  /** Same as `toTokenizerJson()`, so `JSON.stringify(tokenizer)` writes `tokenizer.json`. */
  toJSON(): TokenizerJson {
    return this.toTokenizerJson();
  }

  /**
   * Reads a character-level `tokenizer.json` (a BPE model with no merges whose ordinary tokens
   * are single characters, no pre-tokenizer, a `Fuse` decoder), such as
   * {@link CharTokenizer.toTokenizerJson} writes, given as text, UTF-8 bytes or a parsed object.
   * Throws a {@link TokenizerJsonError} naming the offending field otherwise.
   */
  static fromTokenizerJson(
    input: string | Uint8Array | object,
    options?: LoadTokenizerOptions,
  ): CharTokenizer {
    const init = readCharTokenizerJson(input, options);
    return buildFromJson(() => new CharTokenizer(init));
  }
}

/**
 * Builds a character tokenizer from training text (a string or an iterable of strings): the
 * vocabulary is the sorted set of distinct characters (code-point order), with ids 0..V-1 in
 * that order, then the special tokens. Special-token text in the training data is skipped, and
 * lone surrogates count as U+FFFD.
 *
 * @example
 * ```ts
 * const tok = trainCharTokenizer(shakespeare); // nanoGPT's shakespeare_char: 65 characters
 * ```
 */
export function trainCharTokenizer(
  texts: string | Iterable<string>,
  options: TrainCharTokenizerOptions = {},
): CharTokenizer {
  if (options === null || typeof options !== 'object') {
    throw new TokenizerError(
      `trainCharTokenizer options must be an object such as { unkToken: '<unk>' }, got ${describeValue(options)}`,
    );
  }
  const specials = validateSpecialTokenContents(options.specialTokens ?? [], 'specialTokens');
  const splitter = new SpecialTokenSplitter(
    specials.map((content, id) => ({ content, id, special: true })),
  );
  const seen = new Set<number>();
  const collect = (text: unknown): void => {
    if (typeof text !== 'string') {
      throw new TokenizerError(`training texts must be strings, got ${describeValue(text)}`);
    }
    const input = isWellFormed(text) ? text : toWellFormed(text);
    splitter.split(
      input,
      (start, end) => {
        for (let i = start; i < end; i++) {
          const cp = input.codePointAt(i) as number;
          seen.add(cp);
          if (cp > 0xffff) i++;
        }
      },
      () => {},
    );
  };
  if (typeof texts === 'string') collect(texts);
  else if (texts !== null && typeof texts === 'object' && Symbol.iterator in texts)
    for (const t of texts) collect(t);
  else throw new TokenizerError('training input must be a string or an iterable of strings');

  const chars = [...seen].sort((a, b) => a - b).map((cp) => String.fromCodePoint(cp));
  if (chars.length === 0 && specials.length === 0 && options.unkToken === undefined) {
    throw new TokenizerError(
      'the training text has no characters, so the vocabulary would be empty; train on some text',
    );
  }
  const contents = [...specials];
  const unk = options.unkToken;
  if (unk !== undefined) {
    if (typeof unk !== 'string' || unk === '' || !isWellFormed(unk)) {
      throw new TokenizerError(
        `unkToken must be non-empty, well-formed text, got ${JSON.stringify(unk)}`,
      );
    }
    if (
      !contents.includes(unk) &&
      !(isSingleCodePoint(unk) && seen.has(unk.codePointAt(0) as number))
    )
      contents.push(unk);
  }
  const specialTokens = contents.map((content, i) => ({
    content,
    id: chars.length + i,
    special: true,
  }));
  return new CharTokenizer({
    chars,
    specialTokens,
    ...(unk === undefined ? {} : { unkToken: unk }),
  });
}
