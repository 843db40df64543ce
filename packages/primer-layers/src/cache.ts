import { causalDepthwiseConv1d } from '@primer-ez/tensor-ops';
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from './inputs.js';

/** Q, K and V, in that order: three tensors of one shape. */
export type Triple<T> = [T, T, T];

/** Per-layer state of incremental decoding: keys and values so far, and the conv context. */
interface LayerCache {
  /** Post-convolution keys and values so far, `[B, T, H, D]`. */
  k?: tf.Tensor4D;
  v?: tf.Tensor4D;
  /** The last K-1 pre-convolution projections of q, k and v `[B, K-1, C]` (MDHA only). */
  context?: Triple<tf.Tensor3D>;
}

/**
 * Keys, values and convolution context of every layer for the positions decoded so far, so that
 * each new token costs one position's work. Create with `PrimerModel.createCache`; dispose
 * when done.
 */
export class KVCache {
  /** Positions decoded so far. */
  length = 0;
  /** @internal */
  layers: (LayerCache | undefined)[];

  constructor(
    readonly batch: number,
    nLayers: number,
  ) {
    this.layers = new Array(nLayers).fill(undefined);
  }

  /** Frees every cached tensor and empties the cache. */
  reset(): void {
    for (const layer of this.layers) if (layer) disposeLayer(layer);
    this.layers.fill(undefined);
    this.length = 0;
  }

  dispose(): void {
    this.reset();
  }
}

/** Checks that ids of batch `b` may extend `cache`. */
export function checkBatch(cache: KVCache, b: number): void {
  if (b !== cache.batch) {
    throw new InputError(`decode: ids have batch ${b} but the cache was made for ${cache.batch}.`);
  }
}

function disposeLayer(layer: LayerCache): void {
  tf.dispose([layer.k, layer.v, ...(layer.context ?? [])].filter((x) => x !== undefined));
}

/**
 * The causal depthwise convolutions of layer `i` while decoding: `projected` `[B, Tn, C]` are the
 * new positions' Q, K and V projections, which follow the K-1 cached ones (zeros before the
 * start). Returns the convolved `[B, Tn, C]` and keeps the last K-1 projections as the new context.
 * Call inside `tf.tidy`.
 */
export function convolveCached(
  cache: KVCache,
  i: number,
  projected: Triple<tf.Tensor3D>,
  kernels: Triple<tf.Tensor2D>,
  biases: Triple<tf.Tensor1D | undefined>,
): Triple<tf.Tensor3D> {
  const [b, t, channels] = projected[0].shape;
  const taps = kernels[0].shape[0];
  const layer = cache.layers[i] ?? {};
  // [B, K-1, C] ++ [B, Tn, C] -> [B, K-1+Tn, C]
  const windows = projected.map(
    (x, j) =>
      tf.concat(
        [layer.context?.[j] ?? (tf.zeros([b, taps - 1, channels]) as tf.Tensor3D), x],
        1,
      ) as tf.Tensor3D,
  );
  const out = windows.map((w, j) =>
    t === 1
      ? convStep(w, kernels[j]!, biases[j])
      : (tf.slice(
          causalDepthwiseConv1d(w, kernels[j]!, biases[j]),
          [0, taps - 1, 0],
          [b, t, channels],
        ) as tf.Tensor3D),
  ) as Triple<tf.Tensor3D>;
  // The new context: the last K-1 pre-convolution projections, [B, K-1, C].
  tf.dispose(layer.context ?? []);
  layer.context = windows.map((w) =>
    tf.keep(tf.slice(w, [0, t, 0], [b, taps - 1, channels])),
  ) as Triple<tf.Tensor3D>;
  cache.layers[i] = layer;
  return out;
}

/**
 * Appends layer `i`'s new keys and values `[B, Tn, H, D]` to the cache and returns all of them so
 * far, `[B, T, H, D]`. Call inside `tf.tidy`.
 */
export function appendKeysValues(
  cache: KVCache,
  i: number,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
): [tf.Tensor4D, tf.Tensor4D] {
  const layer = cache.layers[i] ?? {};
  const keys = layer.k === undefined ? k : (tf.concat([layer.k, k], 1) as tf.Tensor4D);
  const values = layer.v === undefined ? v : (tf.concat([layer.v, v], 1) as tf.Tensor4D);
  tf.dispose([layer.k, layer.v].filter((x) => x !== undefined));
  layer.k = tf.keep(keys);
  layer.v = tf.keep(values);
  cache.layers[i] = layer;
  return [keys, values];
}

/**
 * One decoding step of a causal depthwise convolution: `window` `[B, K, C]` holds the K most
 * recent projections (the current one last), so the output is `Σ_k window[:, k] · kernel[k]`
 * — a few elementwise ops instead of a convolution, which matters at one token per step.
 */
function convStep(
  window: tf.Tensor3D,
  kernel: tf.Tensor2D,
  bias: tf.Tensor1D | undefined,
): tf.Tensor3D {
  const channels = window.shape[2];
  const groups = channels / kernel.shape[1];
  const perChannel = groups === 1 ? kernel : tf.tile(kernel, [1, groups]);
  const y = tf.sum(tf.mul(window, perChannel), 1, true); // [B, K, C] -> [B, 1, C]
  if (bias === undefined) return y as tf.Tensor3D;
  return tf.add(y, groups === 1 ? bias : tf.tile(bias, [groups])) as tf.Tensor3D;
}
