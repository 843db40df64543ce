/** Loading any supported `tokenizer.json`. */
import { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import { CharTokenizer } from './char-tokenizer.js';
import { TokenizerJsonError } from './errors.js';
import { parseTokenizerJsonInput, readComponent } from './tokenizer-json.js';

/**
 * Loads a Hugging Face `tokenizer.json` (given as its text or as the parsed object) and returns
 * the matching tokenizer:
 *
 * - a {@link ByteLevelBpeTokenizer} for a BPE model with a `ByteLevel` pre-tokenizer and decoder
 *   (files written by this package, GPT-2's `tokenizer.json`, and the like);
 * - a {@link CharTokenizer} for a BPE model without merges, no pre-tokenizer and a `Fuse`
 *   decoder (as {@link CharTokenizer.toTokenizerJson} writes).
 *
 * Anything else, and any malformed field, throws a {@link TokenizerJsonError} that names the
 * field and what is wrong with it; a file is never half-understood.
 */
export function loadTokenizerJson(input: string | object): ByteLevelBpeTokenizer | CharTokenizer {
  const json = parseTokenizerJsonInput(input);
  const pre = readComponent(json.pre_tokenizer, 'pre_tokenizer');
  const decoder = readComponent(json.decoder, 'decoder');
  if (pre?.type === 'ByteLevel' || (pre === null && decoder?.type === 'ByteLevel')) {
    return ByteLevelBpeTokenizer.fromTokenizerJson(json);
  }
  if (pre === null && decoder?.type === 'Fuse') return CharTokenizer.fromTokenizerJson(json);
  const model = json.model as { type?: unknown } | undefined;
  throw new TokenizerJsonError(
    '',
    `unsupported tokenizer (model ${JSON.stringify(model?.type)}, pre_tokenizer ${JSON.stringify(pre?.type ?? null)}, ` +
      `decoder ${JSON.stringify(decoder?.type ?? null)}); supported are byte-level BPE (ByteLevel pre-tokenizer and ` +
      'decoder) and character-level (BPE without merges, no pre-tokenizer, Fuse decoder)',
  );
}
