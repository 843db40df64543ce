/**
 * Builds a {@link ByteLevelBpeTokenizer} from tiktoken-style BPE ranks, such as the GPT-2
 * `r50k_base` ranks shipped by the `gpt-tokenizer` npm package.
 */

import { describeValue, formatValue } from '@primer-ez/input-checks';
import { applyMerges } from './bpe-merge.js';
import { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import { TokenizerError } from './errors.js';
import { MAX_VOCAB_SIZE } from './limits.js';
import { MergeTable } from './merge-table.js';
import type { SpecialToken } from './special-tokens.js';
import { preview } from './unicode.js';

/** One rank entry: the token's bytes, or its text when the bytes are valid UTF-8. */
export type RankEntry = string | readonly number[] | Uint8Array;

/** Options for {@link fromGpt2Ranks}. */
export interface FromRanksOptions {
  /** Special tokens and their ids, e.g. `{ '<|endoftext|>': 50256 }` for GPT-2. */
  readonly specialTokens?: Readonly<Record<string, number>>;
}

/**
 * Creates a byte-level BPE tokenizer from BPE ranks: `ranks[r]` is the token of rank (and id)
 * `r`, given as its text or as an array of bytes (`gpt-tokenizer`'s `bpeRanks/*` format). The
 * merge rules are recovered from the ranks: the token of rank `r` is the merge of the two
 * tokens that lower-ranked merges split it into.
 *
 * The GPT-2 pre-tokenisation split is used, so pass `r50k_base` (or `p50k_base`) ranks; other
 * encodings (`cl100k_base`, `o200k_base`) use different splits.
 *
 * @example
 * ```ts
 * import ranks from 'gpt-tokenizer/bpeRanks/r50k_base';
 * const gpt2 = fromGpt2Ranks(ranks, { specialTokens: { '<|endoftext|>': 50256 } });
 * gpt2.encode('Hello world'); // [15496, 995]
 * ```
 */
export function fromGpt2Ranks(
  ranks: ArrayLike<RankEntry | undefined>,
  options: FromRanksOptions = {},
): ByteLevelBpeTokenizer {
  if (ranks === null || typeof ranks !== 'object' || typeof ranks.length !== 'number') {
    throw new TokenizerError(
      `fromGpt2Ranks() expects an array of rank entries (strings or byte arrays), got ${describeValue(ranks)}`,
    );
  }
  if (!Number.isSafeInteger(ranks.length) || ranks.length > MAX_VOCAB_SIZE) {
    throw new TokenizerError(
      `fromGpt2Ranks() got ${ranks.length} ranks, more than the limit of ${MAX_VOCAB_SIZE} tokens`,
    );
  }
  if (options === null || typeof options !== 'object') {
    throw new TokenizerError(
      `fromGpt2Ranks() options must be an object such as { specialTokens: { '<|endoftext|>': 50256 } }, got ${describeValue(options)}`,
    );
  }
  const specials: SpecialToken[] = Object.entries(options.specialTokens ?? {}).map(
    ([content, id]) => {
      if (!Number.isInteger(id) || id < 0) {
        throw new TokenizerError(
          `specialTokens[${preview(content)}] = ${formatValue(id)} is not a valid id (an integer ≥ 0)`,
        );
      }
      return { content, id, special: true };
    },
  );
  const specialIds = new Set(specials.map((t) => t.id));
  const encoder = new TextEncoder();
  const tokens: (Uint8Array | undefined)[] = [];
  for (let rank = 0; rank < ranks.length; rank++) {
    const entry = ranks[rank];
    if (entry === undefined || entry === null) {
      if (specialIds.has(rank)) {
        tokens.push(undefined);
        continue;
      }
      throw new TokenizerError(
        `ranks[${rank}] is missing and no special token has id ${rank}; ranks must have no gaps`,
      );
    }
    if (specialIds.has(rank)) {
      throw new TokenizerError(
        `id ${rank} is both ranks[${rank}] and a special token; give the special token another id`,
      );
    }
    if (typeof entry === 'string') {
      tokens.push(encoder.encode(entry));
      continue;
    }
    const bytes = Uint8Array.from(entry as ArrayLike<number>);
    for (let i = 0; i < entry.length; i++) {
      const b = entry[i];
      if (!(Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255)) {
        throw new TokenizerError(
          `ranks[${rank}][${i}] = ${String(b)} is not a byte (an integer 0..255)`,
        );
      }
    }
    tokens.push(bytes);
  }

  const byteToId = new Int32Array(256).fill(-1);
  tokens.forEach((bytes, id) => {
    if (bytes?.length === 1) byteToId[bytes[0] as number] = id;
  });
  const missing = byteToId.indexOf(-1);
  if (missing >= 0) {
    throw new TokenizerError(
      `the ranks have no token for byte 0x${missing.toString(16).padStart(2, '0')}; byte-level BPE needs all 256 single bytes`,
    );
  }

  const table = new MergeTable(tokens.length);
  const merges: [number, number][] = [];
  let symbols = new Int32Array(64);
  tokens.forEach((bytes, rank) => {
    if (bytes === undefined || bytes.length < 2) return;
    if (symbols.length < bytes.length) symbols = new Int32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) symbols[i] = byteToId[bytes[i] as number] as number;
    const parts = applyMerges(symbols, bytes.length, table);
    if (parts !== 2) {
      throw new TokenizerError(
        `ranks[${rank}] (${bytes.length} bytes) ${parts < 2 ? 'repeats a lower-ranked token' : 'cannot be split into two lower-ranked tokens'}; these are not BPE ranks`,
      );
    }
    table.add(symbols[0] as number, symbols[1] as number, rank);
    merges.push([symbols[0] as number, symbols[1] as number]);
  });
  return new ByteLevelBpeTokenizer({ tokens, merges, specialTokens: specials });
}
