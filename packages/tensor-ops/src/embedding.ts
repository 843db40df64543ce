import { gather, op, reshape, scatterND, type Tensor, type Tensor2D } from '@tensorflow/tfjs-core';
import { withGradient } from './custom-grad.js';
import { assertDtype, assertShape, assertTensor } from './validate.js';

/**
 * Looks up rows of an embedding table: `out[..., :] = table[ids[...], :]`.
 *
 * Shapes: `ids` int32 of any shape `[...]`, `table` `[V, C]` → `[..., C]`. The gradient with
 * respect to `table` scatters `dy` back into `[V, C]` with `scatterND` (which sums repeated ids):
 * the same on every backend, including wasm, which lacks the `UnsortedSegmentSum` kernel that
 * `tf.gather`'s registered gradient needs. `ids` gets no gradient. Ids must lie in `[0, V)`;
 * they are not range-checked here, since that would read them back from the device on every call.
 *
 * @example
 * ```ts
 * embedding(tf.tensor1d([2, 0], 'int32'), tf.tensor2d([[0, 0], [1, 1], [2, 2]])); // [[2,2],[0,0]]
 * ```
 */
function embedding_(ids: Tensor, table: Tensor2D): Tensor {
  const opName = 'embedding';
  assertTensor(opName, 'ids', ids);
  assertTensor(opName, 'table', table);
  assertDtype(opName, 'ids', ids, ['int32']);
  assertDtype(opName, 'table', table, ['float32']);
  assertShape(opName, 'table', table, ['V', 'C']);
  const [v, c] = table.shape;
  const flatIds = reshape(ids, [-1]);

  return withGradient([table], (save) => {
    save([flatIds]);
    return {
      value: reshape(gather(table, flatIds), [...ids.shape, c]),
      gradFunc: (dy, [saved]) => {
        const rows = reshape(saved as Tensor, [-1, 1]);
        return [scatterND(rows, reshape(dy, [-1, c]), [v, c])];
      },
    };
  });
}

export const embedding = op({ embedding_ });
