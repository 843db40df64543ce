import {
  describeEachBackend,
  expectClose,
  expectGradientsMatchFiniteDifferences,
  expectNoLeak,
  randn,
  values,
} from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { sparseCrossEntropy } from './sparse-cross-entropy.js';

/** Per-row losses in float64: logsumexp(row) - row[target]. */
function reference(logits: tf.Tensor2D, targets: number[]): number[] {
  const [n, v] = logits.shape;
  const x = values(logits);
  return targets.slice(0, n).map((t, i) => {
    const row = x.slice(i * v, (i + 1) * v);
    const m = Math.max(...row);
    return m + Math.log(row.reduce((a, b) => a + Math.exp(b - m), 0)) - (row[t] as number);
  });
}

describeEachBackend('sparseCrossEntropy', () => {
  it('computes the worked example of the docs', () => {
    const loss = sparseCrossEntropy(tf.tensor2d([[2, 0, 0]]), tf.tensor1d([0], 'int32'));
    expect(loss.shape).toEqual([]);
    expectClose(loss, [Math.log(1 + 2 * Math.exp(-2))]);
  });

  it('matches the definition for mean, sum and per-row reductions', () => {
    const logits = randn([6, 5], 1) as tf.Tensor2D;
    const targets = [0, 4, 2, 2, 1, 3];
    const t = tf.tensor1d(targets, 'int32');
    const rows = reference(logits, targets);
    const total = rows.reduce((a, b) => a + b, 0);
    expectClose(sparseCrossEntropy(logits, t, 'none'), rows);
    expectClose(sparseCrossEntropy(logits, t, 'sum'), [total]);
    expectClose(sparseCrossEntropy(logits, t), [total / 6]);
  });

  it('is log(V) for uniform logits and stays finite for huge ones', () => {
    const uniform = sparseCrossEntropy(
      tf.zeros([4, 65]) as tf.Tensor2D,
      tf.tensor1d([0, 1, 2, 64], 'int32'),
    );
    expectClose(uniform, [Math.log(65)]);
    const huge = tf.tensor2d([
      [1e4, -1e4, 0],
      [0, 3e4, -3e4],
    ]);
    const losses = sparseCrossEntropy(huge, tf.tensor1d([1, 1], 'int32'), 'none');
    expectClose(losses, [2e4, 0], { rtol: 1e-6 });
  });

  it('has gradient (softmax - onehot)/N, matching finite differences', () => {
    const logits = tf.tensor2d([
      [0, 0],
      [Math.log(3), 0],
    ]);
    const g = tf.grad((x: tf.Tensor) =>
      sparseCrossEntropy(x as tf.Tensor2D, tf.tensor1d([1, 0], 'int32')),
    )(logits);
    expectClose(g, [0.25, -0.25, -0.125, 0.125]);
    const t = tf.tensor1d([3, 0, 3, 1], 'int32');
    for (const reduction of ['mean', 'sum'] as const) {
      expectGradientsMatchFiniteDifferences(
        (x) => sparseCrossEntropy(x as tf.Tensor2D, t, reduction) as tf.Scalar,
        [randn([4, 5], 2)],
      );
    }
    expectGradientsMatchFiniteDifferences(
      (x) =>
        tf.sum(
          tf.mul(sparseCrossEntropy(x as tf.Tensor2D, t, 'none'), tf.tensor1d([1, -2, 3, 0.5])),
        ),
      [randn([4, 5], 3)],
    );
  });

  it('leaks no tensors, forward or backward', () => {
    const logits = randn([8, 11], 4) as tf.Tensor2D;
    const t = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 10], 'int32');
    expectNoLeak(() => sparseCrossEntropy(logits, t));
    expectNoLeak(() => tf.grad((x: tf.Tensor) => sparseCrossEntropy(x as tf.Tensor2D, t))(logits));
  });

  it('names the argument, the shape received and the shape expected on bad input', () => {
    const logits = tf.zeros([3, 5]) as tf.Tensor2D;
    expect(() => sparseCrossEntropy(logits, tf.tensor1d([0, 1], 'int32'))).toThrow(
      "sparseCrossEntropy: argument 'targets' has shape [2]; expected [N] = [3] (N from logits [3,5]).",
    );
    expect(() => sparseCrossEntropy(logits, tf.tensor1d([0, 1, 2]))).toThrow(
      "argument 'targets' has dtype float32; expected int32",
    );
    expect(() =>
      sparseCrossEntropy(
        tf.zeros([3, 5, 1]) as unknown as tf.Tensor2D,
        tf.tensor1d([0, 1, 2], 'int32'),
      ),
    ).toThrow("argument 'logits' has shape [3,5,1]; expected [N,V].");
    expect(() =>
      sparseCrossEntropy(logits, tf.tensor1d([0, 1, 2], 'int32'), 'avg' as 'mean'),
    ).toThrow("argument 'reduction' is avg; expected 'mean', 'sum' or 'none'.");
  });
});
