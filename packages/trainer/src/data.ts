import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from './rng.js';

/** Token ids split into a training part and a validation part. */
export interface TokenSplit {
  train: Int32Array;
  validation: Int32Array;
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

/** Builds a batch from window start positions: each window is `seqLen + 1` tokens. */
export function batchAt(tokens: Int32Array, starts: readonly number[], seqLen: number): Batch {
  const b = starts.length;
  const ids = new Int32Array(b * seqLen);
  const targets = new Int32Array(b * seqLen);
  starts.forEach((s, i) => {
    ids.set(tokens.subarray(s, s + seqLen), i * seqLen);
    targets.set(tokens.subarray(s + 1, s + seqLen + 1), i * seqLen);
  });
  return {
    ids: tf.tensor2d(ids, [b, seqLen], 'int32'),
    targets: tf.tensor2d(targets, [b, seqLen], 'int32'),
  };
}

/**
 * Random training windows of `seqLen + 1` tokens, `batchSize` at a time, drawn from a seeded
 * {@link Rng} — whose state is the data position, so a resumed run draws the same batches.
 */
export class BatchSampler {
  constructor(
    readonly tokens: Int32Array,
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
