/**
 * Size limits for loading `tokenizer.json` from untrusted sources, so that a small hostile file
 * cannot make the loader allocate gigabytes, and options to change them.
 */
import { describeValue } from '@primer-ez/input-checks';
import { TokenizerError } from './errors.js';

/**
 * Default limit on the number of ids (ordinary + special tokens) of a loaded tokenizer:
 * 2,097,152 (2^21), about eight times the largest vocabularies in use (Gemma's 262,144).
 * The trainers stop at the same size.
 */
export const MAX_VOCAB_SIZE = 2_097_152;

/** Largest `maxVocabSize` accepted: ids must fit the package's 24-bit id tables. */
export const VOCAB_SIZE_CEILING = 16_777_216;

/**
 * Default limit on the size of a `tokenizer.json`: 128 MiB (bytes, or UTF-16 code units for
 * text). GPT-2's file is 1.4 MB, Gemma 3's about 33 MB.
 */
export const MAX_TOKENIZER_JSON_BYTES = 128 * 1024 * 1024;

/** Options for `loadTokenizerJson` and `loadTokenizer`. */
export interface LoadTokenizerOptions {
  /**
   * Refuse documents larger than this many bytes (UTF-16 code units when given as text).
   * Default {@link MAX_TOKENIZER_JSON_BYTES}.
   */
  readonly maxBytes?: number;
  /** Refuse tokenizers with more ids than this. Default {@link MAX_VOCAB_SIZE}. */
  readonly maxVocabSize?: number;
}

/** {@link LoadTokenizerOptions} with every limit filled in. */
export interface LoadLimits {
  readonly maxBytes: number;
  readonly maxVocabSize: number;
}

/** Checks `options` and fills in the default limits. */
export function resolveLoadOptions(options: unknown): LoadLimits {
  if (options === undefined) {
    return { maxBytes: MAX_TOKENIZER_JSON_BYTES, maxVocabSize: MAX_VOCAB_SIZE };
  }
  if (options === null || typeof options !== 'object') {
    throw new TokenizerError(
      `load options must be an object such as { maxBytes: 1e8 }, got ${describeValue(options)}`,
    );
  }
  const { maxBytes = MAX_TOKENIZER_JSON_BYTES, maxVocabSize = MAX_VOCAB_SIZE } =
    options as LoadTokenizerOptions;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new TokenizerError(
      `maxBytes must be a positive integer (bytes), got ${describeValue(maxBytes)}`,
    );
  }
  if (!Number.isInteger(maxVocabSize) || maxVocabSize < 1 || maxVocabSize > VOCAB_SIZE_CEILING) {
    throw new TokenizerError(
      `maxVocabSize must be an integer from 1 to ${VOCAB_SIZE_CEILING}, got ${describeValue(maxVocabSize)}`,
    );
  }
  return { maxBytes, maxVocabSize };
}
