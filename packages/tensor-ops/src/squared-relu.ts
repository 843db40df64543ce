import { mul, op, relu, square, type Tensor } from '@tensorflow/tfjs-core';
import { withGradient } from './custom-grad.js';
import { assertDtype, assertTensor } from './validate.js';

/**
 * Squared ReLU, `relu(x)²`: the feed-forward activation of Primer (So et al. 2021,
 * {@link https://arxiv.org/abs/2109.08668 | arXiv 2109.08668}, §3).
 *
 * Elementwise, any shape; the gradient `2·relu(x)·dy` is explicit and needs no registered
 * kernel gradients.
 *
 * @example
 * ```ts
 * squaredRelu(tf.tensor([-2, 0.5, 3])); // [0, 0.25, 9]
 * ```
 */
function squaredRelu_<T extends Tensor>(x: T): T {
  assertTensor('squaredRelu', 'x', x);
  assertDtype('squaredRelu', 'x', x, ['float32']);
  return withGradient([x], (save) => {
    const r = relu(x);
    save([r]);
    return {
      value: square(r),
      gradFunc: (dy, [saved]) => [mul(dy, mul(saved as Tensor, 2))],
    };
  }) as T;
}

export const squaredRelu = op({ squaredRelu_ });
