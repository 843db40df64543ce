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
import { embedding } from './embedding.js';

const makeTable = () => tf.tensor2d([0, 0.5, 1, 1.5, 2, 2.5], [3, 2]);

describeEachBackend('embedding', () => {
  it('looks up rows for ids of any shape', () => {
    const table = makeTable();
    const y = embedding(tf.tensor2d([2, 0, 1, 2], [2, 2], 'int32'), table);
    expect(y.shape).toEqual([2, 2, 2]);
    expectClose(y, [2, 2.5, 0, 0.5, 1, 1.5, 2, 2.5]);
    expect(embedding(tf.scalar(1, 'int32'), table).shape).toEqual([2]);
  });

  it('sums the gradient of repeated ids into their row', () => {
    const table = makeTable();
    const ids = tf.tensor1d([1, 1, 0, 1], 'int32');
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(
        tf.mul(embedding(ids, t as tf.Tensor2D), tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8], [4, 2])),
      ),
    )(table);
    // row 1 collects rows 0, 1 and 3 of dy; row 0 collects row 2; row 2 gets nothing
    expectClose(g, [5, 6, 1 + 3 + 7, 2 + 4 + 8, 0, 0]);
  });

  it('has a table gradient matching finite differences', () => {
    const ids = tf.tensor2d([0, 3, 3, 1, 4, 0], [2, 3], 'int32');
    expectGradientsMatchFiniteDifferences(
      (t) => weightedSum(embedding(ids, t as tf.Tensor2D), 1),
      [randn([5, 3], 2)],
    );
  });

  it('leaks no tensors, forward or backward', () => {
    const table = makeTable();
    const ids = tf.tensor1d([0, 2, 2], 'int32');
    expectNoLeak(() => embedding(ids, table));
    expectNoLeak(() => tf.grad((t: tf.Tensor) => tf.sum(embedding(ids, t as tf.Tensor2D)))(table));
  });

  it('names the argument and the fix on bad input', () => {
    const table = makeTable();
    expect(() => embedding(tf.tensor1d([0, 1]), table)).toThrow(
      "embedding: argument 'ids' has dtype float32; expected int32. Cast it with tf.cast(ids, 'int32').",
    );
    expect(() =>
      embedding(tf.tensor1d([0], 'int32'), tf.zeros([3]) as unknown as tf.Tensor2D),
    ).toThrow("embedding: argument 'table' has shape [3]; expected [V,C].");
  });
});
