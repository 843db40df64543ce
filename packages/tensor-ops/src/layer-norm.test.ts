import {
  describeEachBackend,
  expectClose,
  expectGradientsMatchFiniteDifferences,
  expectNoLeak,
  randn,
  weightedSum,
} from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { layerNorm } from './layer-norm.js';

describeEachBackend('layerNorm', () => {
  it('normalises the last axis with the biased variance and eps 1e-5', () => {
    const y = layerNorm(
      tf.tensor2d([[1, 2, 3]]),
      tf.ones([3]) as tf.Tensor1D,
      tf.zeros([3]) as tf.Tensor1D,
    );
    // var = 2/3, so (x - 2) / sqrt(2/3 + 1e-5)
    const s = Math.sqrt(2 / 3 + 1e-5);
    expectClose(y, [-1 / s, 0, 1 / s]);
  });

  it('applies gamma and beta per channel', () => {
    // [1, 3] normalises to exactly [-1, 1] with eps 0.
    const y = layerNorm(tf.tensor2d([[1, 3]]), tf.tensor1d([2, 3]), tf.tensor1d([10, 20]), 0);
    expectClose(y, [8, 23]);
  });

  it('uses eps to keep constant rows finite', () => {
    const y = layerNorm(
      tf.fill([2, 4], 7),
      tf.ones([4]) as tf.Tensor1D,
      tf.fill([4], 0.5) as tf.Tensor1D,
    );
    expectClose(y, new Array(8).fill(0.5));
  });

  it('has gradients matching finite differences (x, gamma, beta)', () => {
    expectGradientsMatchFiniteDifferences(
      (x, g, b) => weightedSum(layerNorm(x as tf.Tensor, g as tf.Tensor1D, b as tf.Tensor1D), 1),
      [randn([2, 3, 6], 2), randn([6], 3), randn([6], 4)],
      { eps: 5e-3 },
    );
  });

  it('leaks no tensors, forward or backward', () => {
    const x = randn([3, 8], 5);
    const g = randn([8], 6) as tf.Tensor1D;
    const b = randn([8], 7) as tf.Tensor1D;
    expectNoLeak(() => layerNorm(x, g, b));
    expectNoLeak(() =>
      tf.grads((xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(tf.square(layerNorm(xi, gi as tf.Tensor1D, bi as tf.Tensor1D))),
      )([x, g, b]),
    );
  });

  it('names the argument, the shape received and the shape expected on bad input', () => {
    const x = tf.zeros([2, 4]);
    const ok = tf.zeros([4]) as tf.Tensor1D;
    expect(() => layerNorm(x, tf.zeros([3]) as tf.Tensor1D, ok)).toThrow(
      "layerNorm: argument 'gamma' has shape [3]; expected [C] = [4] (C from x [2,4]).",
    );
    expect(() => layerNorm(x, ok, tf.zeros([4, 1]) as unknown as tf.Tensor1D)).toThrow(
      "argument 'beta' has shape [4,1]; expected [C] = [4]",
    );
    expect(() => layerNorm(x, ok, ok, -1)).toThrow(
      "argument 'eps' must be a finite number ≥ 0 (PyTorch uses 1e-5), got -1.",
    );
  });
});
