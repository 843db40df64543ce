/** The interface shared by {@link CharTokenizer} and {@link ByteLevelBpeTokenizer}. */
import type { SpecialToken } from './special-tokens.js';
import type { TokenizerConfigJson, TokenizerJson } from './tokenizer-json.js';

/** Options for `encode` and `encodeBatch`. */
export interface EncodeOptions {
  /**
   * When `true` (the default, as in Hugging Face tokenizers), special-token text found in the
   * input (e.g. `<|endoftext|>`) becomes the special token's id. When `false` it is encoded as
   * ordinary text, so untrusted input cannot inject control tokens.
   */
  readonly allowSpecial?: boolean;
}

/** Options for `decode` and `createStreamDecoder`. */
export interface DecodeOptions {
  /** Drop tokens marked `special` (e.g. `<|endoftext|>`) from the output. Default `false`. */
  readonly skipSpecial?: boolean;
}

/**
 * Incremental decoder for generated ids: emits text only at character boundaries, so each
 * returned chunk can be printed as it comes.
 */
export interface StreamDecoder {
  /**
   * Feeds one id or several and returns the text they complete (often `''` while a multi-byte
   * character is still incomplete). Throws on an invalid id.
   */
  write(ids: number | ArrayLike<number>): string;
  /**
   * Ends the stream and returns what is left: an incomplete UTF-8 sequence becomes U+FFFD,
   * exactly as `decode` would render it. The decoder can be reused afterwards.
   */
  end(): string;
}

/** A tokenizer: text ⇄ token ids. */
export interface Tokenizer {
  /** `'char'` for {@link CharTokenizer}, `'byte-level-bpe'` for {@link ByteLevelBpeTokenizer}. */
  readonly kind: 'char' | 'byte-level-bpe';
  /** Number of ids; every id is in `0..vocabSize-1`. */
  readonly vocabSize: number;
  /** Special (added) tokens, in id order. */
  readonly specialTokens: readonly SpecialToken[];
  /** Encodes text to ids. Lone surrogates are encoded as U+FFFD. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Encodes several texts. */
  encodeBatch(texts: readonly string[], options?: EncodeOptions): number[][];
  /** Decodes ids to text. Throws a `TokenizerError` naming the first invalid id. */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** Creates a {@link StreamDecoder}. */
  createStreamDecoder(options?: DecodeOptions): StreamDecoder;
  /** The id of a token given in its `tokenizer.json` vocabulary form, if any. */
  tokenToId(token: string): number | undefined;
  /** The `tokenizer.json` vocabulary form of an id's token, if the id exists. */
  idToToken(id: number): string | undefined;
  /** The Hugging Face `tokenizer.json` document for this tokenizer. */
  toTokenizerJson(): TokenizerJson;
  /** A `tokenizer_config.json` to save next to `tokenizer.json` (for transformers / transformers.js). */
  toTokenizerConfig(): TokenizerConfigJson;
  /** Same as {@link Tokenizer.toTokenizerJson}, so `JSON.stringify(tokenizer)` writes `tokenizer.json`. */
  toJSON(): TokenizerJson;
}
