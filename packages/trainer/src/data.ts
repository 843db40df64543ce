import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from './rng.js';

/**
 * A stream of token ids that can be read by window: an `Int32Array` is one (in memory), and the
 * Node entry's `FileTokenSource` reads windows of a token file without loading it whole.
 */
export interface TokenSource {
  /** Number of tokens. */
  readonly length: number;
  /**
   * Tokens `[start, end)` (clamped to the stream, like `Int32Array.prototype.subarray`): a view
   * or a fresh copy, to read and not to keep or write.
   */
  subarray(start: number, end: number): Int32Array;
  /**
   * When set, every id this source returns is in `[0, idLimit)` (the source checks what it reads),
   * so consumers compare this bound with the vocabulary instead of scanning the whole stream.
   */
  readonly idLimit?: number;
}

/** Token ids split into a training part and a validation part. */
export interface TokenSplit<T extends TokenSource = Int32Array> {
  train: T;
  validation: T;
}

/** Tokens read at a time when a {@link TokenSource} is scanned whole. */
const SCAN_CHUNK = 1 << 20;

/**
 * Index and value of the first id of `tokens` outside `[0, vocab)`, or `undefined` if all are in
 * range. A source with an `idLimit` ≤ `vocab` is trusted (it checks its own reads); any other is
 * read in chunks, so a file-backed stream is never loaded whole.
 */
export function findTokenOutside(
  tokens: TokenSource,
  vocab: number,
): { index: number; id: number } | undefined {
  if (tokens.idLimit !== undefined && tokens.idLimit <= vocab) return undefined;
  for (let start = 0; start < tokens.length; start += SCAN_CHUNK) {
    const chunk = tokens.subarray(start, Math.min(tokens.length, start + SCAN_CHUNK));
    for (let i = 0; i < chunk.length; i++) {
      const id = chunk[i] as number;
      if (!(id >= 0 && id < vocab)) return { index: start + i, id };
    }
  }
  return undefined;
}

/** Thrown for data that cannot be used as asked; the message names the numbers and the fix. */
export class DataError extends RangeError {
  override name = 'DataError';
}

/**
 * Splits a token stream: the first `trainFraction` for training, the rest for validation (labml's
 * and nanoGPT's character-level experiments use 0.9).
 */
export function splitTokens(tokens: ArrayLike<number>, trainFraction = 0.9): TokenSplit {
  if (!(trainFraction > 0 && trainFraction < 1)) {
    throw new DataError(`splitTokens: trainFraction = ${trainFraction} must be in (0, 1).`);
  }
  const all = Int32Array.from(tokens);
  const cut = Math.floor(all.length * trainFraction);
  return { train: all.subarray(0, cut), validation: all.subarray(cut) };
}

/** A batch of next-token prediction windows: `targets[b][t] = ids[b][t + 1]` of the source. */
export interface Batch {
  /** `[B, T]` int32. */
  ids: tf.Tensor2D;
  /** `[B, T]` int32. */
  targets: tf.Tensor2D;
}

/**
 * Builds a batch from window start positions: each window is `seqLen + 1` tokens, read from
 * `tokens` once (one read per window for a file-backed source).
 */
export function batchAt(tokens: TokenSource, starts: readonly number[], seqLen: number): Batch {
  const { ids, targets, batch } = windowShare(tokens, starts, seqLen);
  return {
    ids: tf.tensor2d(ids, [batch, seqLen], 'int32'),
    targets: tf.tensor2d(targets, [batch, seqLen], 'int32'),
  };
}

/** The windows of `tokens` starting at `starts`, inputs and next-token targets, as one share. */
export function windowShare(
  tokens: TokenSource,
  starts: readonly number[],
  seqLen: number,
): { ids: Int32Array; targets: Int32Array; batch: number; seqLen: number } {
  const ids = new Int32Array(starts.length * seqLen);
  const targets = new Int32Array(starts.length * seqLen);
  starts.forEach((s, j) => {
    const window = tokens.subarray(s, s + seqLen + 1);
    ids.set(window.subarray(0, seqLen), j * seqLen);
    targets.set(window.subarray(1, seqLen + 1), j * seqLen);
  });
  return { ids, targets, batch: starts.length, seqLen };
}

/**
 * Random training windows of `seqLen + 1` tokens, `batchSize` at a time, drawn from a seeded
 * {@link Rng} — whose state is the data position, so a resumed run draws the same batches.
 */
export class BatchSampler {
  constructor(
    readonly tokens: TokenSource,
    readonly batchSize: number,
    readonly seqLen: number,
    readonly rng: Rng,
  ) {
    if (!(Number.isInteger(batchSize) && batchSize >= 1))
      throw new DataError(`batchSize = ${batchSize} must be a positive integer.`);
    if (!(Number.isInteger(seqLen) && seqLen >= 1))
      throw new DataError(`seqLen = ${seqLen} must be a positive integer.`);
    if (tokens.length < seqLen + 1) {
      throw new DataError(
        `the training text has ${tokens.length} tokens, fewer than one window of seqLen + 1 = ${seqLen + 1}; ` +
          'use more text or a shorter sequence length.',
      );
    }
  }

  /** The start positions of the next batch's windows. */
  nextStarts(): number[] {
    const span = this.tokens.length - this.seqLen;
    return Array.from({ length: this.batchSize }, () => this.rng.int(span));
  }

  /** The next batch (its tensors are the caller's to dispose). */
  next(): Batch {
    return batchAt(this.tokens, this.nextStarts(), this.seqLen);
  }
}

/**
 * Start positions of consecutive non-overlapping windows over a stream of `n` tokens: inputs
 * `ids[s : s+T]`, targets `ids[s+1 : s+T+1]` for `s = 0, T, 2T, …` while `s + T + 1 ≤ n`. With
 * `maxWindows`, that many of them, evenly spaced (always the same ones for the same stream).
 */
export function windowStarts(n: number, seqLen: number, maxWindows?: number): number[] {
  const count = n >= seqLen + 1 ? Math.floor((n - 1) / seqLen) : 0;
  const all = Array.from({ length: count }, (_, i) => i * seqLen);
  if (maxWindows === undefined || maxWindows >= count) return all;
  if (!(Number.isInteger(maxWindows) && maxWindows >= 1))
    throw new DataError(`maxWindows = ${maxWindows} must be a positive integer.`);
  return Array.from({ length: maxWindows }, (_, i) => all[Math.floor((i * count) / maxWindows)]!);
}
