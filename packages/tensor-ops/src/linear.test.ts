import {
  describeEachBackend,
  expectClose,
  expectGradientsMatchFiniteDifferences,
  expectNoLeak,
  randn,
  values,
  weightedSum,
} from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { linear } from './linear.js';

describeEachBackend('linear', () => {
  it('computes x·W + b over the last axis of any-rank input', () => {
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6], [1, 2, 3]);
    const w = tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2]);
    const y = linear(x, w, tf.tensor1d([10, 20]));
    expect(y.shape).toEqual([1, 2, 2]);
    // rows: [1,2,3]·W = [1+3, 2+3] = [4, 5]; [4,5,6]·W = [10, 11]
    expectClose(y, [14, 25, 20, 31]);
    expectClose(linear(tf.tensor1d([1, 2, 3]), w), [4, 5]);
  });

  it('matches tf.matMul on random data, with and without bias', () => {
    const x = randn([4, 3, 5], 1);
    const w = randn([5, 7], 2) as tf.Tensor2D;
    const b = randn([7], 3) as tf.Tensor1D;
    const flat = tf.matMul(tf.reshape(x, [12, 5]), w);
    expectClose(linear(x, w), tf.reshape(flat, [4, 3, 7]));
    expectClose(linear(x, w, b), tf.reshape(tf.add(flat, b), [4, 3, 7]));
  });

  it('has gradients matching finite differences (x, W, b)', () => {
    expectGradientsMatchFiniteDifferences(
      (x, w, b) => weightedSum(linear(x as tf.Tensor, w as tf.Tensor2D, b as tf.Tensor1D), 4),
      [randn([2, 3, 4], 5), randn([4, 3], 6), randn([3], 7)],
    );
    expectGradientsMatchFiniteDifferences(
      (x, w) => weightedSum(linear(x as tf.Tensor, w as tf.Tensor2D), 8),
      [randn([5, 4], 9), randn([4, 2], 10)],
    );
  });

  it('gives exact closed-form gradients: dW = xᵀ·dy, dx = dy·Wᵀ, db = Σ dy', () => {
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const w = tf.tensor2d([1, -1, 2, 0.5], [2, 2]);
    const b = tf.tensor1d([0, 0]);
    const [dx, dw, db] = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(linear(xi, wi as tf.Tensor2D, bi as tf.Tensor1D)),
    )([x, w, b]);
    expectClose(dx as tf.Tensor, [0, 2.5, 0, 2.5]);
    expectClose(dw as tf.Tensor, [4, 4, 6, 6]);
    expectClose(db as tf.Tensor, [2, 2]);
  });

  it('leaks no tensors, forward or backward', () => {
    const x = randn([3, 4], 11);
    const w = randn([4, 5], 12) as tf.Tensor2D;
    const b = randn([5], 13) as tf.Tensor1D;
    expectNoLeak(() => linear(x, w, b));
    expectNoLeak(() =>
      tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(linear(xi, wi as tf.Tensor2D, bi as tf.Tensor1D)),
      )([x, w, b]),
    );
  });

  it('names the argument, the shape received and the shape expected on bad input', () => {
    const x = tf.zeros([2, 4]);
    expect(() => linear(x, tf.zeros([3, 5]) as tf.Tensor2D)).toThrow(
      "linear: argument 'weight' has shape [3,5]; expected [Cin,Cout] = [4,Cout] (Cin from x [2,4]).",
    );
    expect(() => linear(x, tf.zeros([4, 5]) as tf.Tensor2D, tf.zeros([4]) as tf.Tensor1D)).toThrow(
      "argument 'bias' has shape [4]; expected [Cout] = [5]",
    );
    expect(() => linear(tf.scalar(1), tf.zeros([1, 1]) as tf.Tensor2D)).toThrow(/rank ≥ 1/);
    expect(values(linear(x, tf.zeros([4, 5]) as tf.Tensor2D))).toHaveLength(10);
  });
});
