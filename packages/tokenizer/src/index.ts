/**
 * `@primer-ez/tokenizer`: character-level and GPT-2-style byte-level BPE tokenizers, trainable,
 * fast, and compatible with Hugging Face `tokenizer.json`. Pure TypeScript, no dependencies,
 * runs in Node.js and browsers. File helpers live in `@primer-ez/tokenizer/node`.
 *
 * @packageDocumentation
 */
export {
  BpeTrainer,
  type TrainByteLevelBpeOptions,
  trainByteLevelBpe,
  trainByteLevelBpeAsync,
} from './bpe-trainer.js';
export { type ByteLevelBpeInit, ByteLevelBpeTokenizer } from './byte-level-bpe.js';
export {
  CharTokenizer,
  type CharTokenizerInit,
  type TrainCharTokenizerOptions,
  trainCharTokenizer,
} from './char-tokenizer.js';
export { TokenizerError, TokenizerJsonError } from './errors.js';
export {
  type LoadTokenizerOptions,
  MAX_TOKENIZER_JSON_BYTES,
  MAX_VOCAB_SIZE,
} from './limits.js';
export { loadTokenizerJson } from './load.js';
export type { SpecialToken } from './special-tokens.js';
export type {
  AddedTokenJson,
  BpeModelJson,
  ComponentJson,
  TokenizerConfigJson,
  TokenizerJson,
} from './tokenizer-json.js';
export type { DecodeOptions, EncodeOptions, StreamDecoder, Tokenizer } from './types.js';
export { isWellFormed, toWellFormed } from './unicode.js';
export { firstInvalidUtf8Byte } from './utf8.js';
