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
import { squaredRelu } from './squared-relu.js';

describeEachBackend('squaredRelu', () => {
  it('is relu(x)² elementwise, keeping the shape', () => {
    const y = squaredRelu(
      tf.tensor2d([
        [-2, -0.5, 0],
        [0.5, 1.5, 3],
      ]),
    );
    expect(y.shape).toEqual([2, 3]);
    expectClose(y, [0, 0, 0, 0.25, 2.25, 9]);
  });

  it('has gradient 2·relu(x)·dy', () => {
    const x = tf.tensor1d([-1, 0.5, 2]);
    const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(squaredRelu(a), tf.tensor1d([1, 2, 3]))))(x);
    expectClose(g, [0, 2, 12]);
  });

  it('matches finite differences away from the kink', () => {
    // Keep |x| > eps so no difference straddles 0, where relu² is not twice differentiable.
    const x = tf.add(tf.mul(tf.sign(randn([3, 7], 1)), 0.2), tf.mul(randn([3, 7], 2), 0.05));
    expectGradientsMatchFiniteDifferences((a) => weightedSum(squaredRelu(a), 3), [x], {
      eps: 1e-2,
    });
  });

  it('leaks no tensors, forward or backward', () => {
    const x = randn([4, 8], 4);
    expectNoLeak(() => squaredRelu(x));
    expectNoLeak(() => tf.grad((a: tf.Tensor) => tf.sum(squaredRelu(a)))(x));
  });

  it('rejects non-tensors and int tensors with a message naming the argument', () => {
    expect(() => squaredRelu([1, 2] as unknown as tf.Tensor)).toThrow(
      /squaredRelu: argument 'x' must be a tf\.Tensor, got an array of length 2/,
    );
    expect(() => squaredRelu(tf.tensor1d([1], 'int32'))).toThrow(
      /argument 'x' has dtype int32; expected float32/,
    );
  });
});
