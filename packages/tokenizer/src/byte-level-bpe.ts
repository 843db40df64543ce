/**
 * Byte-level BPE (GPT-2 style): text → UTF-8 bytes → GPT-2 pre-tokens → BPE merges. Every string
 * can be encoded, and `decode(encode(s)) === s` for all well-formed strings.
 */

import { describeValue, formatValue } from '@primer-ez/input-checks';
import { encodeEach, expectInit, readBooleanOption } from './arguments.js';
import { applyMerges } from './bpe-merge.js';
import { ADDED, ByteDecoder, SPECIAL } from './byte-decoder.js';
import { BYTE_TO_CHAR, bytesToTokenString } from './byte-level.js';
import { readByteLevelBpeJson } from './byte-level-bpe-json.js';
import { buildFromJson, TokenizerError, TokenizerJsonError } from './errors.js';
import { isValidId } from './ids.js';
import type { LoadTokenizerOptions } from './limits.js';
import { MergeTable } from './merge-table.js';
import { preTokenEnd } from './pretokenize.js';
import {
  checkIdSpace,
  checkSpecialTokens,
  encodeWithSpecials,
  type SpecialToken,
  SpecialTokenSplitter,
} from './special-tokens.js';
import {
  addedTokensJson,
  type TokenizerConfigJson,
  type TokenizerJson,
  vocabRecord,
} from './tokenizer-json.js';
import type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from './types.js';
import { preview } from './unicode.js';

/** What a {@link ByteLevelBpeTokenizer} is made of. */
export interface ByteLevelBpeInit {
  /**
   * The bytes of each ordinary token, indexed by id; `undefined` at the ids of special tokens.
   * All 256 single bytes must be present.
   */
  readonly tokens: readonly (Uint8Array | undefined)[];
  /**
   * Merge rules in priority order (first = applied first), as `[leftId, rightId]`. The
   * concatenation of the two tokens must itself be a token.
   */
  readonly merges: readonly (readonly [number, number])[];
  /** Special (added) tokens; their ids fill the gaps of `tokens`. */
  readonly specialTokens?: readonly SpecialToken[];
  /**
   * Hugging Face's `ignore_merges`: a pre-token that is itself in the vocabulary becomes that
   * token without running the merges. Default `false`.
   */
  readonly ignoreMerges?: boolean;
}

/** Pre-tokens longer than this (in UTF-16 units) are not cached. */
const MAX_CACHED_PIECE = 128;
/** The pre-token cache is emptied when it reaches this many entries. */
const CACHE_CAPACITY = 200_000;

const BYTE_LEVEL_COMPONENT = { add_prefix_space: false, trim_offsets: true, use_regex: true };

/**
 * A GPT-2-style byte-level BPE tokenizer. Create one with {@link trainByteLevelBpe},
 * {@link fromGpt2Ranks} or {@link loadTokenizerJson}.
 *
 * @example
 * ```ts
 * const tok = trainByteLevelBpe(text, { vocabSize: 4096, specialTokens: ['<|endoftext|>'] });
 * const ids = tok.encode('Call me Ishmael.<|endoftext|>');
 * tok.decode(ids); // 'Call me Ishmael.<|endoftext|>'
 * ```
 */
export class ByteLevelBpeTokenizer implements Tokenizer {
  readonly kind = 'byte-level-bpe' as const;
  readonly vocabSize: number;
  readonly specialTokens: readonly SpecialToken[];
  /** Number of merge rules. */
  readonly mergeCount: number;

  private readonly tokenStrings: string[];
  private readonly tokenIndex = new Map<string, number>();
  private readonly ordinaryIndex = new Map<string, number>();
  private readonly byteToId = new Int32Array(256);
  private readonly table: MergeTable;
  private readonly splitter: SpecialTokenSplitter;
  private readonly decoder: ByteDecoder;
  private readonly ignoreMerges: boolean;
  private readonly utf8 = new TextEncoder();
  private cache = new Map<string, number | number[]>();
  private byteScratch = new Uint8Array(256);
  private symbolScratch = new Int32Array(256);

  /** Builds a tokenizer from its parts; throws a {@link TokenizerError} if they are inconsistent. */
  constructor(init: ByteLevelBpeInit) {
    expectInit(init, 'new ByteLevelBpeTokenizer()', '{ tokens, merges, specialTokens }');
    for (const field of ['tokens', 'merges'] as const) {
      if (!Array.isArray(init[field])) {
        throw new TokenizerError(
          `ByteLevelBpeInit.${field} must be an array, got ${describeValue(init[field])}`,
        );
      }
    }
    const specials = checkSpecialTokens(init.specialTokens ?? []);
    const size = checkIdSpace(init.tokens, specials);
    this.vocabSize = size;
    this.specialTokens = specials;
    this.ignoreMerges = readBooleanOption(init, 'ignoreMerges', 'ByteLevelBpeInit');

    const bytes = new Array<Uint8Array | undefined>(size);
    const kinds = new Uint8Array(size);
    const contents = new Array<string | undefined>(size);
    this.tokenStrings = new Array<string>(size);
    for (const t of this.specialTokens) {
      if (contents[t.id] !== undefined) {
        throw new TokenizerError(
          `special tokens ${preview(contents[t.id] as string)} and ${preview(t.content)} share id ${t.id}`,
        );
      }
      if (this.tokenIndex.has(t.content))
        throw new TokenizerError(`special token ${preview(t.content)} is listed twice`);
      if (init.tokens[t.id] !== undefined) {
        throw new TokenizerError(
          `id ${t.id} is both an ordinary token and the special token ${preview(t.content)}`,
        );
      }
      kinds[t.id] = t.special ? SPECIAL : ADDED;
      contents[t.id] = t.content;
      this.tokenStrings[t.id] = t.content;
      this.tokenIndex.set(t.content, t.id);
    }
    for (let id = 0; id < size; id++) {
      if (contents[id] !== undefined) continue;
      const tokenBytes = init.tokens[id];
      if (!(tokenBytes instanceof Uint8Array) || tokenBytes.length === 0) {
        throw new TokenizerError(
          `token id ${id} has ${tokenBytes === undefined ? 'no token' : 'no bytes'}; ids must run from 0 to ${size - 1} without gaps`,
        );
      }
      const text = bytesToTokenString(tokenBytes);
      const other = this.tokenIndex.get(text);
      if (other !== undefined) {
        throw new TokenizerError(
          `token id ${id} (${preview(text)}) repeats token id ${other}; every token must be distinct`,
        );
      }
      bytes[id] = tokenBytes;
      this.tokenStrings[id] = text;
      this.tokenIndex.set(text, id);
      this.ordinaryIndex.set(text, id);
    }
    for (let b = 0; b < 256; b++) {
      const id = this.ordinaryIndex.get(BYTE_TO_CHAR[b] as string);
      if (id === undefined) {
        throw new TokenizerError(
          `the vocabulary has no token for byte 0x${b.toString(16).padStart(2, '0')}; byte-level BPE needs all 256 single-byte tokens`,
        );
      }
      this.byteToId[b] = id;
    }

    this.table = new MergeTable(init.merges.length);
    init.merges.forEach((pair: unknown, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) {
        throw new TokenizerError(
          `merges[${i}] must be a pair of ids [left, right], got ${describeValue(pair)}`,
        );
      }
      const [left, right] = pair as [number, number];
      for (const id of [left, right]) {
        if (!(Number.isInteger(id) && id >= 0 && id < size) || contents[id] !== undefined) {
          throw new TokenizerError(
            `merges[${i}] refers to id ${formatValue(id)}, which is not an ordinary token`,
          );
        }
      }
      const joined = `${this.tokenStrings[left]}${this.tokenStrings[right]}`;
      const result = this.ordinaryIndex.get(joined);
      if (result === undefined) {
        throw new TokenizerError(
          `merges[${i}] joins ids ${left} and ${right} into ${preview(joined)}, which is not in the vocabulary`,
        );
      }
      if (!this.table.add(left, right, result)) {
        throw new TokenizerError(
          `merges[${i}] (ids ${left} and ${right}) repeats merges[${this.table.rank(left, right)}]`,
        );
      }
    });
    this.mergeCount = this.table.size;
    this.splitter = new SpecialTokenSplitter(this.specialTokens);
    this.decoder = new ByteDecoder(bytes, kinds, contents);
  }

  /** Encodes text to ids. Lone surrogates are encoded as U+FFFD. */
  encode(text: string, options?: EncodeOptions): number[] {
    return encodeWithSpecials(text, options, this.splitter, (input, start, end, out) =>
      this.encodeOrdinary(input, start, end, out),
    );
  }

  /** Encodes several texts. */
  encodeBatch(texts: readonly string[], options?: EncodeOptions): number[][] {
    return encodeEach(texts, (text) => this.encode(text, options));
  }

  private encodeOrdinary(text: string, start: number, end: number, out: number[]): void {
    const cache = this.cache;
    for (let s = start; s < end; ) {
      const e = preTokenEnd(text, s, end);
      const piece = text.slice(s, e);
      s = e;
      let ids = cache.get(piece);
      if (ids === undefined) ids = this.encodePiece(piece);
      if (typeof ids === 'number') {
        out.push(ids);
      } else {
        for (let i = 0; i < ids.length; i++) out.push(ids[i] as number);
      }
    }
  }

  private encodePiece(piece: string): number | number[] {
    if (this.byteScratch.length < piece.length * 3) {
      this.byteScratch = new Uint8Array(piece.length * 3);
      this.symbolScratch = new Int32Array(piece.length * 3);
    }
    const bytes = this.byteScratch;
    const n = this.utf8.encodeInto(piece, bytes).written;
    let result: number | number[] | undefined;
    if (this.ignoreMerges)
      result = this.ordinaryIndex.get(bytesToTokenString(bytes.subarray(0, n)));
    if (result === undefined) {
      const symbols = this.symbolScratch;
      const byteToId = this.byteToId;
      for (let i = 0; i < n; i++) symbols[i] = byteToId[bytes[i] as number] as number;
      const length = applyMerges(symbols, n, this.table);
      result = length === 1 ? (symbols[0] as number) : Array.from(symbols.subarray(0, length));
    }
    if (piece.length <= MAX_CACHED_PIECE) {
      if (this.cache.size >= CACHE_CAPACITY) this.cache = new Map();
      this.cache.set(piece, result);
    }
    return result;
  }

  /**
   * Empties the cache of encoded pre-tokens (it is also emptied automatically when it reaches
   * 200,000 entries). Encoding results never depend on the cache.
   */
  clearCache(): void {
    this.cache = new Map();
  }

  /** Decodes ids to text; invalid UTF-8 (e.g. half of a character) becomes U+FFFD. */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string {
    return this.decoder.decode(ids, readBooleanOption(options, 'skipSpecial', 'decode()'));
  }

  /** Creates a decoder for ids that arrive one by one. */
  createStreamDecoder(options?: DecodeOptions): StreamDecoder {
    return this.decoder.stream(readBooleanOption(options, 'skipSpecial', 'createStreamDecoder()'));
  }

  /** The id of a token given in its `tokenizer.json` vocabulary form, if any. */
  tokenToId(token: string): number | undefined {
    return this.tokenIndex.get(token);
  }

  /** The `tokenizer.json` vocabulary form of an id's token, if the id exists. */
  idToToken(id: number): string | undefined {
    return isValidId(id, this.vocabSize) ? this.tokenStrings[id] : undefined;
  }

  /** The merge rules in priority order, as pairs of tokens in their vocabulary form. */
  merges(): [string, string][] {
    const out: [string, string][] = [];
    for (let r = 0; r < this.table.size; r++) {
      out.push([
        this.tokenStrings[this.table.left(r)] as string,
        this.tokenStrings[this.table.right(r)] as string,
      ]);
    }
    return out;
  }

  /** The Hugging Face `tokenizer.json` document (ByteLevel pre-tokenizer and decoder, BPE model). */
  toTokenizerJson(): TokenizerJson {
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: addedTokensJson(this.specialTokens),
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', ...BYTE_LEVEL_COMPONENT },
      post_processor: { type: 'ByteLevel', ...BYTE_LEVEL_COMPONENT, trim_offsets: false },
      decoder: { type: 'ByteLevel', ...BYTE_LEVEL_COMPONENT },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: this.ignoreMerges,
        vocab: vocabRecord(this.tokenStrings.map((t, id) => [t, id])),
        merges: this.merges().map(([a, b]) => `${a} ${b}`),
      },
    };
  }

  /** A `tokenizer_config.json` to save next to `tokenizer.json` (sets `clean_up_tokenization_spaces: false`). */
  toTokenizerConfig(): TokenizerConfigJson {
    return { tokenizer_class: 'PreTrainedTokenizerFast', clean_up_tokenization_spaces: false };
  }

  /** Same as `toTokenizerJson()`, so `JSON.stringify(tokenizer)` writes `tokenizer.json`. */
  toJSON(): TokenizerJson {
    return this.toTokenizerJson();
  }

  /**
   * Reads a byte-level BPE `tokenizer.json` (ours, GPT-2's, or any with a ByteLevel
   * pre-tokenizer and decoder and a BPE model), given as text, UTF-8 bytes or a parsed object.
   * Throws a {@link TokenizerJsonError} naming the offending field when the document is
   * malformed, too large (see {@link LoadTokenizerOptions}) or uses an unsupported option.
   */
  static fromTokenizerJson(
    input: string | Uint8Array | object,
    options?: LoadTokenizerOptions,
  ): ByteLevelBpeTokenizer {
    const init = readByteLevelBpeJson(input, options);
    return buildFromJson(() => new ByteLevelBpeTokenizer(init));
  }
}
