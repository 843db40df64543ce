import * as tf from '@tensorflow/tfjs-core';
import type { KVCache } from './cache.js';
import { InputError } from './inputs.js';
import type { PrimerModel } from './model.js';

/** Options of a {@link Decoder}. */
export interface DecoderOptions {
  /** Sequences decoded side by side (default 1). */
  batch?: number;
  /**
   * Tokens kept when the context would pass `max_seq_len`: the last `keep` are re-encoded from
   * position 0 and decoding goes on from there. Default: three quarters of `max_seq_len`.
   */
  keep?: number;
}

/**
 * Token-by-token decoding with a key/value cache, for any length. Within `max_seq_len` each new
 * token costs one position's work and its logits equal the full forward pass over everything fed
 * so far. Past it the context slides: the last `keep` tokens are re-encoded (positions restart at
 * 0) and cached decoding continues, so the model always sees at most `max_seq_len` tokens — the
 * logits then equal the full forward pass over {@link Decoder.context}.
 */
export class Decoder {
  readonly keep: number;
  private readonly cache: KVCache;
  private rows: number[][];

  constructor(
    readonly model: PrimerModel,
    { batch = 1, keep }: DecoderOptions = {},
  ) {
    const max = model.config.max_seq_len;
    this.keep = keep ?? Math.max(1, Math.floor((3 * max) / 4));
    if (!Number.isInteger(this.keep) || this.keep < 1 || this.keep >= max) {
      throw new InputError(
        `Decoder: keep = ${keep} must be an integer in [1, max_seq_len = ${max}).`,
      );
    }
    if (!Number.isInteger(batch) || batch < 1)
      throw new InputError(`Decoder: batch = ${batch} must be a positive integer.`);
    this.cache = model.createCache(batch);
    this.rows = Array.from({ length: batch }, () => []);
  }

  /** The tokens the model currently conditions on, per sequence (at most `max_seq_len`). */
  get context(): readonly (readonly number[])[] {
    return this.rows;
  }

  /**
   * Feeds the next tokens of every sequence (`[B, Tn]`, the same count for each) and returns the
   * logits `[B, V]` for the token after the last one.
   */
  feed(ids: number[][]): tf.Tensor2D {
    const { batch } = this.cache;
    const n = ids[0]?.length ?? 0;
    if (ids.length !== batch || n === 0 || ids.some((row) => row.length !== n)) {
      throw new InputError(
        `Decoder.feed: expected ${batch} row(s) of the same positive length, got ${JSON.stringify(ids.map((r) => r.length))} tokens.`,
      );
    }
    let input = ids;
    if (this.cache.length + n > this.model.config.max_seq_len) {
      // Slide: re-encode the last tokens from position 0.
      const window = Math.min(this.model.config.max_seq_len, Math.max(this.keep, n));
      this.rows = this.rows.map((row, i) => [...row, ...ids[i]!].slice(-window));
      this.cache.reset();
      input = this.rows;
    } else {
      this.rows = this.rows.map((row, i) => [...row, ...ids[i]!]);
    }
    const logits = this.model.decode(input, this.cache);
    return tf.tidy(() => {
      const [b, t, v] = logits.shape;
      const last = tf.reshape(tf.slice(logits, [0, t - 1, 0], [b, 1, v]), [b, v]) as tf.Tensor2D;
      logits.dispose();
      return last;
    });
  }

  /** Frees the cache. */
  dispose(): void {
    this.cache.dispose();
  }
}
