// cpu ↔ wasm parity at model-like sizes: the same inputs give the same outputs and gradients.

import { expectClose, onBackend } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import {
  causalDepthwiseConv1d,
  causalSelfAttention,
  embedding,
  layerNorm,
  linear,
  sparseCrossEntropy,
  squaredRelu,
} from './index.js';

type Case = [shapes: number[][], f: (...xs: tf.Tensor[]) => tf.Tensor];

const ids = () =>
  tf.tensor2d(
    Array.from({ length: 64 }, (_, i) => (i * 7) % 65),
    [2, 32],
    'int32',
  );
const targets = () =>
  tf.tensor1d(
    Array.from({ length: 64 }, (_, i) => (i * 11) % 65),
    'int32',
  );

const cases: Record<string, Case> = {
  squaredRelu: [[[2, 32, 64]], (x) => squaredRelu(x!)],
  linear: [
    [[2, 32, 64], [64, 96], [96]],
    (x, w, b) => linear(x!, w as tf.Tensor2D, b as tf.Tensor1D),
  ],
  layerNorm: [
    [[2, 32, 64], [64], [64]],
    (x, g, b) => layerNorm(x!, g as tf.Tensor1D, b as tf.Tensor1D),
  ],
  embedding: [[[65, 64]], (t) => embedding(ids(), t as tf.Tensor2D)],
  'causalDepthwiseConv1d per-channel': [
    [
      [2, 32, 64],
      [3, 64],
    ],
    (x, w) => causalDepthwiseConv1d(x as tf.Tensor3D, w as tf.Tensor2D),
  ],
  'causalDepthwiseConv1d shared': [
    [[2, 32, 64], [3, 16], [16]],
    (x, w, b) => causalDepthwiseConv1d(x as tf.Tensor3D, w as tf.Tensor2D, b as tf.Tensor1D),
  ],
  causalSelfAttention: [
    [
      [2, 4, 32, 16],
      [2, 4, 32, 16],
      [2, 4, 32, 16],
    ],
    (q, k, v) => causalSelfAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D),
  ],
  'causalSelfAttention with dropout': [
    [
      [2, 4, 32, 16],
      [2, 4, 32, 16],
      [2, 4, 32, 16],
    ],
    (q, k, v) =>
      causalSelfAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, {
        dropout: 0.2,
        seed: 5,
      }),
  ],
  sparseCrossEntropy: [[[64, 65]], (l) => sparseCrossEntropy(l as tf.Tensor2D, targets())],
};

/** Output and input gradients of sum(f(xs)·w) on `backend`, as plain arrays. */
async function run(backend: 'cpu' | 'wasm', [shapes, f]: Case) {
  return onBackend(backend, () =>
    tf.tidy(() => {
      const xs = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 100 + i));
      const y = f(...xs);
      const w = tf.randomNormal(y.shape, 0, 1, 'float32', 99);
      const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w)))(xs);
      return [y, ...grads].map((t) => Array.from(t.dataSync()));
    }),
  );
}

describe('cpu ↔ wasm parity', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    await tf.ready();
  });

  it.each(Object.keys(cases))('%s: outputs and gradients agree to 1e-4', async (name) => {
    const c = cases[name]!;
    const [cpu, wasm] = [await run('cpu', c), await run('wasm', c)];
    for (const [i, expected] of cpu.entries()) {
      expectClose(wasm[i]!, expected, { atol: 1e-4, rtol: 1e-4 });
    }
  });
});
