// The one definition of a batch's summed next-token loss, shared by evaluation, validation and
// every replica.
import type { PrimerModel } from '@primer-ez/primer-layers';
import { sparseCrossEntropy } from '@primer-ez/tensor-ops';
import * as tf from '@tensorflow/tfjs-core';

/** The summed next-token cross-entropy of a batch of windows `[B, T]`, as a scalar tensor. */
export function batchCrossEntropy(
  model: PrimerModel,
  ids: tf.Tensor2D,
  targets: tf.Tensor2D,
): tf.Scalar {
  return tf.tidy(() => {
    const logits = model.forward(ids, { checkIds: false }); // [B, T, V]
    const [b, t] = ids.shape;
    return sparseCrossEntropy(
      tf.reshape(logits, [b * t, model.config.vocab_size]) as tf.Tensor2D,
      tf.reshape(targets, [b * t]) as tf.Tensor1D,
      'sum',
    ) as tf.Scalar;
  });
}
