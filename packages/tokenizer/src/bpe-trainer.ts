/**
 * Byte-level BPE training with incremental pair counts: after each merge only the words that
 * contain the merged pair are updated, and a heap yields the most frequent pair.
 */

import { describeValue, formatValue } from '@primer-ez/input-checks';
import { BYTE_ORDER } from './byte-level.js';
import { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import { TokenizerError } from './errors.js';
import { MAX_VOCAB_SIZE } from './limits.js';
import { PairHeap } from './pair-heap.js';
import { preTokenEnd } from './pretokenize.js';
import { SpecialTokenSplitter, validateSpecialTokenContents } from './special-tokens.js';
import { isWellFormed, toWellFormed } from './unicode.js';

/** Options for {@link trainByteLevelBpe}. */
export interface TrainByteLevelBpeOptions {
  /**
   * Target vocabulary size, counting the 256 byte tokens and the special tokens. Training stops
   * earlier when no pair occurs `minFrequency` times any more.
   */
  readonly vocabSize: number;
  /** Special tokens, e.g. `['<|endoftext|>']`; they get the last ids, in this order. */
  readonly specialTokens?: readonly string[];
  /** Only merge pairs that occur at least this many times. Default 1. */
  readonly minFrequency?: number;
}

const MAX_VOCAB = MAX_VOCAB_SIZE;

/**
 * Streaming BPE trainer: {@link BpeTrainer.feed} texts one at a time (each is pre-tokenised on
 * its own, so split long inputs at whitespace), then call {@link BpeTrainer.finish}.
 *
 * Ids: 0..255 are the single bytes in GPT-2's order, then one id per merge in the order learned,
 * then the special tokens.
 */
export class BpeTrainer {
  private readonly vocabSize: number;
  private readonly minFrequency: number;
  private readonly specialTokens: readonly string[];
  private readonly splitter: SpecialTokenSplitter;
  private wordCounts = new Map<string, number>();

  constructor(options: TrainByteLevelBpeOptions) {
    if (options === null || typeof options !== 'object') {
      throw new TokenizerError(
        `training options are required, e.g. { vocabSize: 4096 }, got ${describeValue(options)}`,
      );
    }
    const specials = validateSpecialTokenContents(options.specialTokens ?? [], 'specialTokens');
    const min = 256 + specials.length;
    const { vocabSize } = options;
    if (!Number.isInteger(vocabSize) || vocabSize < min || vocabSize > MAX_VOCAB) {
      throw new TokenizerError(
        `vocabSize must be an integer from ${min} (256 byte tokens + ${specials.length} special tokens) to ${MAX_VOCAB}, got ${formatValue(vocabSize)}`,
      );
    }
    const minFrequency = options.minFrequency ?? 1;
    if (!Number.isInteger(minFrequency) || minFrequency < 1) {
      throw new TokenizerError(
        `minFrequency must be an integer ≥ 1, got ${formatValue(minFrequency)}`,
      );
    }
    this.vocabSize = vocabSize;
    this.minFrequency = minFrequency;
    this.specialTokens = specials;
    this.splitter = new SpecialTokenSplitter(
      specials.map((content, id) => ({ content, id, special: true })),
    );
  }

  /** Counts the pre-tokens of `text`. Special-token text is left out of training. */
  feed(text: string): void {
    if (typeof text !== 'string') {
      throw new TokenizerError(`training texts must be strings, got ${describeValue(text)}`);
    }
    const input = isWellFormed(text) ? text : toWellFormed(text);
    const counts = this.wordCounts;
    this.splitter.split(
      input,
      (start, end) => {
        for (let s = start; s < end; ) {
          const e = preTokenEnd(input, s, end);
          const word = input.slice(s, e);
          counts.set(word, (counts.get(word) ?? 0) + 1);
          s = e;
        }
      },
      () => {},
    );
  }

  /** Learns the merges and returns the tokenizer. The trainer can not be used afterwards. */
  finish(): ByteLevelBpeTokenizer {
    const counts = this.wordCounts;
    this.wordCounts = new Map();
    const mergeTarget = this.vocabSize - 256 - this.specialTokens.length;
    const K = 256 + mergeTarget; // pair key = left * K + right

    // Words as symbol arrays.
    const byteToId = new Int32Array(256);
    BYTE_ORDER.forEach((b, i) => {
      byteToId[b] = i;
    });
    const encoder = new TextEncoder();
    const numWords = counts.size;
    const syms = new Array<Int32Array>(numWords);
    const lens = new Int32Array(numWords);
    const freq = new Float64Array(numWords);
    let w = 0;
    for (const [word, count] of counts) {
      const bytes = encoder.encode(word);
      const s = new Int32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) s[i] = byteToId[bytes[i] as number] as number;
      syms[w] = s;
      lens[w] = bytes.length;
      freq[w] = count;
      w++;
    }

    // Initial pair counts and, per pair, the words that (may) contain it.
    const pairCounts = new Map<number, number>();
    const where = new Map<number, number[]>();
    for (let w = 0; w < numWords; w++) {
      const s = syms[w] as Int32Array;
      const c = freq[w] as number;
      for (let i = 0; i + 1 < s.length; i++) {
        const key = (s[i] as number) * K + (s[i + 1] as number);
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + c);
        noteWord(where, key, w);
      }
    }
    const heap = new PairHeap();
    for (const [key, count] of pairCounts) heap.push(count, key);

    const tokens: Uint8Array[] = BYTE_ORDER.map((b) => Uint8Array.of(b));
    const merges: [number, number][] = [];
    const visited = new Int32Array(numWords).fill(-1);
    const touched = new Set<number>();
    let mergedKey = -1;
    let current = -1;
    const add = (key: number, delta: number): void => {
      if (key === mergedKey) return;
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + delta);
      if (delta > 0) {
        touched.add(key);
        noteWord(where, key, current);
      }
    };

    while (merges.length < mergeTarget && heap.size > 0) {
      const count = heap.topCount as number;
      const key = heap.topKey as number;
      heap.pop();
      const actual = pairCounts.get(key) ?? 0;
      if (actual !== count) {
        if (actual > 0) heap.push(actual, key);
        continue;
      }
      if (count < this.minFrequency) break;
      const a = Math.floor(key / K);
      const b = key - a * K;
      const z = 256 + merges.length;
      merges.push([a, b]);
      const left = tokens[a] as Uint8Array;
      const right = tokens[b] as Uint8Array;
      const joined = new Uint8Array(left.length + right.length);
      joined.set(left);
      joined.set(right, left.length);
      tokens.push(joined);

      mergedKey = key;
      pairCounts.delete(key);
      const list = where.get(key) ?? [];
      where.delete(key);
      touched.clear();
      for (const wi of list) {
        if (visited[wi] === z) continue;
        visited[wi] = z;
        current = wi;
        const s = syms[wi] as Int32Array;
        const n = lens[wi] as number;
        const c = freq[wi] as number;
        let out = 0;
        let i = 0;
        while (i < n) {
          if (i + 1 < n && s[i] === a && s[i + 1] === b) {
            if (out > 0) {
              const p = s[out - 1] as number;
              add(p * K + a, -c);
              add(p * K + z, c);
            }
            if (i + 2 < n) {
              const next = s[i + 2] as number;
              add(b * K + next, -c);
              add(z * K + next, c);
            }
            s[out++] = z;
            i += 2;
          } else {
            s[out++] = s[i++] as number;
          }
        }
        lens[wi] = out;
      }
      for (const k of touched) {
        const c = pairCounts.get(k) ?? 0;
        if (c > 0) heap.push(c, k);
      }
    }

    const specialTokens = this.specialTokens.map((content, i) => ({
      content,
      id: tokens.length + i,
      special: true,
    }));
    return new ByteLevelBpeTokenizer({ tokens, merges, specialTokens });
  }
}

/**
 * Trains a byte-level BPE tokenizer on `texts` (one string, or any iterable of strings such as
 * an array of documents or a generator reading a file line by line).
 *
 * @example
 * ```ts
 * const tok = trainByteLevelBpe(text, { vocabSize: 4096, specialTokens: ['<|endoftext|>'] });
 * ```
 */
export function trainByteLevelBpe(
  texts: string | Iterable<string>,
  options: TrainByteLevelBpeOptions,
): ByteLevelBpeTokenizer {
  const trainer = new BpeTrainer(options);
  if (typeof texts === 'string') trainer.feed(texts);
  else for (const text of iterableOf(texts)) trainer.feed(text);
  return trainer.finish();
}

/** Like {@link trainByteLevelBpe}, for an async stream of texts (e.g. a file read in chunks of lines). */
export async function trainByteLevelBpeAsync(
  texts: AsyncIterable<string> | Iterable<string>,
  options: TrainByteLevelBpeOptions,
): Promise<ByteLevelBpeTokenizer> {
  const trainer = new BpeTrainer(options);
  for await (const text of texts) trainer.feed(text);
  return trainer.finish();
}

/** Records that word `w` contains the pair `key` (lists may hold stale entries; never duplicates in a row). */
function noteWord(where: Map<number, number[]>, key: number, w: number): void {
  const list = where.get(key);
  if (list === undefined) where.set(key, [w]);
  else if (list[list.length - 1] !== w) list.push(w);
}

function iterableOf(texts: unknown): Iterable<string> {
  if (texts === null || typeof texts !== 'object' || !(Symbol.iterator in texts)) {
    throw new TokenizerError('training input must be a string or an iterable of strings');
  }
  return texts as Iterable<string>;
}
