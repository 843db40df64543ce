/**
 * `@primer-ez/tokenizer/gpt2`: GPT-2's byte-level machinery, for building a tokenizer from
 * GPT-2-style files. `fromGpt2Ranks` makes a {@link ByteLevelBpeTokenizer} from tiktoken-style
 * ranks (such as `gpt-tokenizer/bpeRanks/r50k_base`); the byte ↔ character table and the GPT-2
 * pre-tokeniser are the pieces it is built from. Everyday use (train, load, encode, decode) needs
 * only the main entry.
 *
 * @packageDocumentation
 */
export { BYTE_TO_CHAR, bytesToTokenString, tokenStringToBytes } from './byte-level.js';
export { type FromRanksOptions, fromGpt2Ranks, type RankEntry } from './gpt2-ranks.js';
export { GPT2_SPLIT_PATTERN, preTokenize } from './pretokenize.js';
