/** Loading any supported `tokenizer.json`. */

import { describeValue } from '@primer-ez/input-checks';
import { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import { CharTokenizer } from './char-tokenizer.js';
import { TokenizerJsonError } from './errors.js';
import { type LoadTokenizerOptions, resolveLoadOptions } from './limits.js';
import { parseTokenizerJsonInput } from './parse-input.js';
import { checkDocumentFields, readComponent } from './tokenizer-json.js';
import { preview } from './unicode.js';

/**
 * Loads a Hugging Face `tokenizer.json` (given as its text, its UTF-8 bytes or the parsed
 * object) and returns the matching tokenizer:
 *
 * - a {@link ByteLevelBpeTokenizer} for a BPE model with a `ByteLevel` pre-tokenizer and decoder
 *   (files written by this package, GPT-2's `tokenizer.json`, and the like);
 * - a {@link CharTokenizer} for a BPE model without merges, no pre-tokenizer and a `Fuse`
 *   decoder (as {@link CharTokenizer.toTokenizerJson} writes).
 *
 * Anything else, and any malformed field, throws a {@link TokenizerJsonError} that names the
 * field and what is wrong with it; a file is never half-understood. The input may be hostile:
 * invalid UTF-8, invalid JSON, repeated keys, unknown fields, and documents over the limits of
 * `options` ({@link LoadTokenizerOptions}: 128 MiB, 2,097,152 ids by default) are refused
 * before anything large is allocated.
 *
 * @example
 * ```ts
 * const tok = loadTokenizerJson(await (await fetch(url)).bytes(), { maxBytes: 20e6 });
 * ```
 */
export function loadTokenizerJson(
  input: string | Uint8Array | object,
  options?: LoadTokenizerOptions,
): ByteLevelBpeTokenizer | CharTokenizer {
  const limits = resolveLoadOptions(options);
  const json = parseTokenizerJsonInput(input, limits);
  checkDocumentFields(json);
  const pre = readComponent(json.pre_tokenizer, 'pre_tokenizer');
  const decoder = readComponent(json.decoder, 'decoder');
  if (pre?.type === 'ByteLevel' || (pre === null && decoder?.type === 'ByteLevel')) {
    return ByteLevelBpeTokenizer.fromTokenizerJson(json, limits);
  }
  if (pre === null && decoder?.type === 'Fuse')
    return CharTokenizer.fromTokenizerJson(json, limits);
  const model = json.model;
  const modelType =
    model !== null && typeof model === 'object' && !Array.isArray(model)
      ? name((model as { type?: unknown }).type)
      : describeValue(model);
  throw new TokenizerJsonError(
    '',
    `unsupported tokenizer (model ${modelType}, pre_tokenizer ${name(pre?.type ?? null)}, ` +
      `decoder ${name(decoder?.type ?? null)}); supported are byte-level BPE (ByteLevel pre-tokenizer and ` +
      'decoder) and character-level (BPE without merges, no pre-tokenizer, Fuse decoder)',
  );
}

/** A component's `type` for a message: the string itself, or what it is instead. */
function name(type: unknown): string {
  return typeof type === 'string' ? preview(type) : describeValue(type);
}
