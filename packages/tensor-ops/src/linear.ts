import {
  fused,
  op,
  reshape,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  transpose,
} from '@tensorflow/tfjs-core';
import { withGradient } from './custom-grad.js';
import { matMul2d, needsPlainMatMul, sumLeading } from './matmul.js';
import { assertDtype, assertShape, assertTensor, check, formatShape } from './validate.js';

/**
 * A dense layer, `x·weight + bias`, over the last axis of `x`.
 *
 * Shapes: `x` `[..., Cin]`, `weight` `[Cin, Cout]` (input-major, as tfjs and Keras store it; a
 * PyTorch `nn.Linear.weight` is its transpose), `bias` `[Cout]` → `[..., Cout]`. Computed as a
 * single 2-D product on `[N, Cin]` with `N` the product of the leading dimensions. The gradients
 * are explicit 2-D products too, transposed explicitly on backends whose flagged `matMul` is slow
 * (wasm), so training runs at plain-matMul speed everywhere.
 *
 * @example
 * ```ts
 * const y = linear(tf.ones([2, 5, 3]), tf.ones([3, 4]), tf.zeros([4])); // [2, 5, 4], all 3
 * ```
 */
function linear_(x: Tensor, weight: Tensor2D, bias?: Tensor1D): Tensor {
  const opName = 'linear';
  assertTensor(opName, 'x', x);
  assertTensor(opName, 'weight', weight);
  assertDtype(opName, 'x', x, ['float32']);
  assertDtype(opName, 'weight', weight, ['float32']);
  check(
    x.rank >= 1,
    () => `${opName}: argument 'x' must have rank ≥ 1 ([..., Cin]), got a scalar.`,
  );
  const cin = x.shape[x.rank - 1] as number;
  assertShape(
    opName,
    'weight',
    weight,
    ['Cin', 'Cout'],
    [cin],
    `Cin from x ${formatShape(x.shape)}`,
  );
  const cout = weight.shape[1];
  const lead = x.shape.slice(0, -1);
  if (bias !== undefined) {
    assertTensor(opName, 'bias', bias);
    assertShape(
      opName,
      'bias',
      bias,
      ['Cout'],
      [cout],
      `Cout from weight ${formatShape(weight.shape)}`,
    );
  }

  const inputs = bias === undefined ? [x, weight] : [x, weight, bias];
  return withGradient(inputs, (save) => {
    const a2 = reshape(x, [-1, cin]) as Tensor2D;
    save([a2, weight]);
    const y = bias === undefined ? matMul2d(a2, weight) : fused.matMul({ a: a2, b: weight, bias });
    return {
      value: reshape(y, [...lead, cout]),
      gradFunc: (dy, saved) => {
        const [sa, sw] = saved as [Tensor2D, Tensor2D];
        const dy2 = reshape(dy, [-1, cout]) as Tensor2D;
        const dx = reshape(matMul2d(dy2, sw, false, true), x.shape);
        // On wasm the transposed operand is copied: transpose the narrower of x and dy.
        const dw =
          needsPlainMatMul() && cin > cout
            ? transpose(matMul2d(dy2, sa, true, false))
            : matMul2d(sa, dy2, true, false);
        return bias === undefined ? [dx, dw] : [dx, dw, sumLeading(dy2, cout)];
      },
    };
  });
}

export const linear = op({ linear_ });
