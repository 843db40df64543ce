import {
  add,
  div,
  exp,
  gather,
  log,
  max,
  mean,
  mul,
  op,
  range,
  reshape,
  scalar,
  sub,
  sum,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  tensorScatterUpdate,
} from '@tensorflow/tfjs-core';
import { withGradient } from './custom-grad.js';
import { assertDtype, assertShape, assertTensor, check, formatShape } from './validate.js';

/** How {@link sparseCrossEntropy} reduces the per-row losses. */
export type Reduction = 'mean' | 'sum' | 'none';

/**
 * Cross-entropy of softmax(logits) against integer class indices, as PyTorch's
 * `F.cross_entropy(logits, targets)`: `loss[i] = logsumexp(logits[i]) - logits[i, targets[i]]`.
 *
 * Shapes: `logits` `[N, V]` float32, `targets` `[N]` int32 with values in `[0, V)` → a scalar
 * (`reduction` 'mean', the default, or 'sum') or `[N]` ('none'). The log-sum-exp subtracts the row
 * maximum, so huge logits stay finite. The target logits are picked with a flat `gather`, and the
 * gradient `softmax(logits) - onehot(targets)` is formed by `tensorScatterUpdate` on the softmax:
 * no one-hot `[N, V]` tensor is ever built. Targets are not range-checked (that would read them
 * back from the device on every call); out-of-range targets give undefined results.
 *
 * @example
 * ```ts
 * sparseCrossEntropy(tf.tensor2d([[2, 0, 0]]), tf.tensor1d([0], 'int32')); // ≈ 0.2395
 * ```
 */
function sparseCrossEntropy_(
  logits: Tensor2D,
  targets: Tensor1D,
  reduction: Reduction = 'mean',
): Tensor {
  const opName = 'sparseCrossEntropy';
  assertTensor(opName, 'logits', logits);
  assertTensor(opName, 'targets', targets);
  assertDtype(opName, 'logits', logits, ['float32']);
  assertDtype(opName, 'targets', targets, ['int32']);
  assertShape(opName, 'logits', logits, ['N', 'V']);
  const [n, v] = logits.shape;
  assertShape(opName, 'targets', targets, ['N'], [n], `N from logits ${formatShape(logits.shape)}`);
  check(
    reduction === 'mean' || reduction === 'sum' || reduction === 'none',
    () =>
      `${opName}: argument 'reduction' is ${String(reduction)}; expected 'mean', 'sum' or 'none'.`,
  );
  // Flat positions of the target logits: i·V + targets[i].
  const picks = add(mul(range(0, n, 1, 'int32'), scalar(v, 'int32')), targets);

  return withGradient([logits], (save) => {
    const shifted = sub(logits, max(logits, -1, true));
    const expShifted = exp(shifted);
    const total = sum(expShifted, -1, true);
    const losses = sub(reshape(log(total), [n]), gather(reshape(shifted, [-1]), picks));
    save([expShifted, total, picks]);
    const value = reduction === 'none' ? losses : reduction === 'sum' ? sum(losses) : mean(losses);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [e, z, idx] = saved as [Tensor2D, Tensor2D, Tensor1D];
        const probs = div(e, z);
        const flat = reshape(probs, [-1]);
        const rows = reshape(idx, [n, 1]);
        // softmax - onehot, written in place of the target entries only.
        const picked = sub(gather(flat, idx), 1);
        const g = reshape(tensorScatterUpdate(flat, rows, picked), [n, v]);
        if (reduction === 'none') return [mul(g, reshape(dy, [n, 1]))];
        return [mul(g, reduction === 'mean' ? div(dy, n) : dy)];
      },
    };
  });
}

export const sparseCrossEntropy = op({ sparseCrossEntropy_ });
