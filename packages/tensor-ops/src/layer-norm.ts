import { add, mean, mul, op, rsqrt, sub, type Tensor, type Tensor1D } from '@tensorflow/tfjs-core';
import { withGradient } from './custom-grad.js';
import { sumLeading } from './matmul.js';
import { assertDtype, assertShape, assertTensor, check, formatShape } from './validate.js';

/**
 * Layer normalisation over the last axis: `(x - mean) / √(var + eps) · gamma + beta`, with the
 * biased variance, as PyTorch's `nn.LayerNorm`.
 *
 * Shapes: `x` `[..., C]`, `gamma` and `beta` `[C]` → `[..., C]`. The default `eps` is PyTorch's
 * 1e-5 (tfjs-layers uses 1e-3), so weights trained in PyTorch give the same outputs. The gradient
 * is the closed form (one pass over `x̂` and `dy`), not autodiff through mean and variance.
 *
 * @example
 * ```ts
 * layerNorm(tf.tensor2d([[1, 2, 3]]), tf.ones([3]), tf.zeros([3])); // ≈ [[-1.2247, 0, 1.2247]]
 * ```
 */
function layerNorm_(x: Tensor, gamma: Tensor1D, beta: Tensor1D, eps = 1e-5): Tensor {
  const opName = 'layerNorm';
  assertTensor(opName, 'x', x);
  assertTensor(opName, 'gamma', gamma);
  assertTensor(opName, 'beta', beta);
  assertDtype(opName, 'x', x, ['float32']);
  check(x.rank >= 1, () => `${opName}: argument 'x' must have rank ≥ 1 ([..., C]), got a scalar.`);
  const c = x.shape[x.rank - 1] as number;
  const from = `C from x ${formatShape(x.shape)}`;
  assertShape(opName, 'gamma', gamma, ['C'], [c], from);
  assertShape(opName, 'beta', beta, ['C'], [c], from);
  check(
    Number.isFinite(eps) && eps >= 0,
    () => `${opName}: argument 'eps' must be a finite number ≥ 0 (PyTorch uses 1e-5), got ${eps}.`,
  );

  return withGradient([x, gamma, beta], (save) => {
    const centered = sub(x, mean(x, -1, true));
    const rstd = rsqrt(add(mean(mul(centered, centered), -1, true), eps));
    const xhat = mul(centered, rstd);
    save([xhat, rstd, gamma]);
    return {
      value: add(mul(xhat, gamma), beta),
      gradFunc: (dy, saved) => {
        const [xh, rs, gm] = saved as [Tensor, Tensor, Tensor];
        const gdy = mul(dy, gm);
        // dx = rstd · (g - mean(g) - x̂ · mean(g · x̂)), with g = dy · gamma
        const dx = mul(
          rs,
          sub(sub(gdy, mean(gdy, -1, true)), mul(xh, mean(mul(gdy, xh), -1, true))),
        );
        return [dx, sumLeading(mul(dy, xh), c), sumLeading(dy, c)];
      },
    };
  });
}

export const layerNorm = op({ layerNorm_ });
