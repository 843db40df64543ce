import { describeValue, formatValue } from '@primer-ez/input-checks';
import * as tf from '@tensorflow/tfjs-core';
import type { PrimerConfig } from './config.js';
import type { ParamSpec } from './params.js';

/** Token ids: an int32 tensor `[B, T]` or plain rows of numbers. */
export type TokenIds = tf.Tensor2D | number[][];

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Apply dropout (when the config has any). Default false. */
  training?: boolean;
  /** Seed of this pass's dropout masks (use a new one every step). */
  seed?: number;
  /**
   * Check ids against the vocabulary (default true). Reading a tensor's ids back costs a device
   * sync; turn it off for ids you already validated (a training loop's batches).
   */
  checkIds?: boolean;
}

/** Thrown for token ids the model cannot take; the message names the value and the fix. */
export class InputError extends RangeError {
  override name = 'InputError';
}

/**
 * Validates `ids` for a model with config `c` whose input starts at position `offset`, and returns
 * them as an int32 tensor `[B, T]` (a new tensor when `ids` are arrays: the caller disposes it when
 * it is not `ids`). With `check`, every id is read back (a device sync) and checked against the
 * vocabulary.
 */
export function toIds(
  c: PrimerConfig,
  ids: TokenIds,
  offset: number,
  check: boolean,
  what = 'ids',
): tf.Tensor2D {
  const tensor = Array.isArray(ids) ? fromRows(ids, what) : checkTensor(ids, what);
  const t = tensor.shape[1];
  if (tensor.size === 0) {
    throw new InputError(
      `${what} have shape [${tensor.shape}]; pass at least one sequence of at least one token.`,
    );
  }
  if (offset + t > c.max_seq_len) {
    if (tensor !== ids) tensor.dispose();
    throw new InputError(
      offset === 0
        ? `${what} have ${t} positions but max_seq_len is ${c.max_seq_len}; pass at most ${c.max_seq_len} (crop the context, or use a Decoder, which slides a window).`
        : `decode: ${offset} cached + ${t} new positions exceed max_seq_len ${c.max_seq_len}; use a Decoder, which slides a window.`,
    );
  }
  if (check) {
    const values = tensor.dataSync();
    for (let i = 0; i < values.length; i++) {
      const id = values[i] as number;
      if (!(id >= 0 && id < c.vocab_size)) {
        if (tensor !== ids) tensor.dispose();
        const [row, col] = [Math.floor(i / t), i % t];
        throw new InputError(
          `${what}[${row}][${col}] = ${id} is outside the vocabulary [0, ${c.vocab_size}); ` +
            'encode text with the tokenizer the model was trained with.',
        );
      }
    }
  }
  return tensor;
}

/** Runs `fn` on `ids` as validated by {@link toIds}, freeing the tensor made for them after. */
export function withIds<R>(
  c: PrimerConfig,
  ids: TokenIds,
  offset: number,
  check: boolean,
  what: string,
  fn: (tokens: tf.Tensor2D) => R,
): R {
  const tokens = toIds(c, ids, offset, check, what);
  try {
    return fn(tokens);
  } finally {
    if (tokens !== ids) tokens.dispose();
  }
}

/** Checks that targets `[B, T]` match the shape of the ids they follow. */
export function checkTargets(targets: tf.Tensor2D, b: number, t: number): void {
  if (targets.shape[0] !== b || targets.shape[1] !== t) {
    throw new InputError(
      `targets have shape [${targets.shape}]; expected [${b},${t}], the shape of ids.`,
    );
  }
}

/** Plain rows of integers as an int32 tensor `[B, T]`. */
function fromRows(ids: number[][], what: string): tf.Tensor2D {
  const width = ids[0]?.length ?? 0;
  if (
    ids.length === 0 ||
    width === 0 ||
    ids.some((row) => !Array.isArray(row) || row.length !== width)
  ) {
    throw new InputError(
      `${what} must be a non-empty [B, T] array of equal-length rows of token ids.`,
    );
  }
  for (let row = 0; row < ids.length; row++)
    for (let col = 0; col < width; col++) {
      const id = ids[row]![col];
      if (!Number.isInteger(id))
        throw new InputError(
          `${what}[${row}][${col}] = ${formatValue(id)} is not an integer token id; ` +
            'encode text with the tokenizer the model was trained with.',
        );
    }
  return tf.tensor2d(ids.flat(), [ids.length, width], 'int32');
}

/** `ids` itself when it is an int32 tensor `[B, T]`. */
function checkTensor(ids: unknown, what: string): tf.Tensor2D {
  if (!(ids instanceof tf.Tensor) || ids.rank !== 2) {
    throw new InputError(
      `${what} must be an int32 tensor [B, T] or number[][]; got ${describe(ids)}.`,
    );
  }
  if (ids.dtype !== 'int32') {
    throw new InputError(
      `${what} have dtype ${ids.dtype}; expected int32 token ids (tf.cast(${what}, 'int32')).`,
    );
  }
  return ids as tf.Tensor2D;
}

/** Checks that `weights` hold exactly the parameters `specs` name, each with its shape. */
export function checkWeights(
  specs: readonly ParamSpec[],
  weights: ReadonlyMap<string, tf.Tensor>,
): void {
  const known = new Set(specs.map((s) => s.name));
  const extra = [...weights.keys()].filter((name) => !known.has(name));
  if (extra.length > 0) {
    throw new InputError(`weights: unexpected tensor(s) ${extra.join(', ')} for this config.`);
  }
  for (const spec of specs) {
    const w = weights.get(spec.name);
    if (w === undefined)
      throw new InputError(`weights: missing tensor '${spec.name}' [${spec.shape}].`);
    if (!tf.util.arraysEqual(w.shape, spec.shape)) {
      throw new InputError(
        `weights: tensor '${spec.name}' has shape [${w.shape}]; expected [${spec.shape}].`,
      );
    }
  }
}

/** A tensor by rank, dtype and shape; anything else as {@link describeValue} does. */
function describe(x: unknown): string {
  if (x instanceof tf.Tensor) return `a rank-${x.rank} ${x.dtype} tensor [${x.shape}]`;
  return describeValue(x);
}
