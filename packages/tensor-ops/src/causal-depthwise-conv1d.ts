import {
  add,
  concat,
  depthwiseConv2d,
  op,
  reshape,
  reverse,
  sum,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
  type Tensor4D,
  tile,
  transpose,
  zeros,
} from '@tensorflow/tfjs-core';
import { withGradient } from './custom-grad.js';
import { sumLeading } from './matmul.js';
import { assertDtype, assertShape, assertTensor, check, formatShape } from './validate.js';

/** `x` `[B, T, 1, C]` with `n` zero steps added before (`where` 'front') or after it along T. */
function padTime(x: Tensor4D, n: number, where: 'front' | 'back'): Tensor4D {
  if (n === 0) return x;
  const [b, , , c] = x.shape;
  const zero = zeros([b, n, 1, c]) as Tensor4D;
  return concat(where === 'front' ? [zero, x] : [x, zero], 1);
}

/**
 * `dW[k, c] = Σ_{b,t} xPadded[b, t+k, c] · dy[b, t, c]`, the gradient of a [K, 1, C, 1] filter,
 * as a 'valid' depthwise convolution of `xPadded` laid out `[1, T+K-1, B, C]` by a `[T, B, C, 1]`
 * filter made of `dy`. wasm has no backprop-filter kernel, and this form beats the cpu backend's
 * own kernel by ~4× (measured by `pnpm bench`).
 */
function filterGradient(xPadded: Tensor4D, dy: Tensor4D, taps: number): Tensor {
  const [b, t, , c] = dy.shape;
  const input = reshape(transpose(reshape(xPadded, [b, t + taps - 1, c]), [1, 0, 2]), [
    1,
    t + taps - 1,
    b,
    c,
  ]);
  const filter = reshape(transpose(reshape(dy, [b, t, c]), [1, 0, 2]), [t, b, c, 1]);
  return depthwiseConv2d(input as Tensor4D, filter as Tensor4D, 1, 'valid');
}

/**
 * Causal depthwise 1-D convolution along the sequence: the "DConv" of Primer's Multi-DConv-Head
 * Attention (So et al. 2021, {@link https://arxiv.org/abs/2109.08668 | arXiv 2109.08668}, §3),
 * applied after each of the Q, K and V projections.
 *
 * `y[b, t, c] = bias[c] + Σ_{k=0}^{K-1} kernel[k, c] · x[b, t - (K-1) + k, c]`, with `x` taken as
 * zero before the start, so output `t` sees only inputs `t-K+1 … t`.
 *
 * **Tap order**: `kernel[K-1]` multiplies the current position, `kernel[K-2]` the one before, and
 * so on — the order of PyTorch's `Conv1d` with `padding=K-1` and the last `K-1` outputs dropped.
 * A PyTorch weight `[C, 1, K]` becomes this op's `[K, C]` by a transpose (no flip).
 *
 * Shapes: `x` `[B, T, C]`; `kernel` `[K, G]` and optional `bias` `[G]` where `G` divides `C`.
 * With `G = C` every channel has its own kernel (the paper's MDHA). With `G = D = C/H` the `D`
 * kernels are shared by all heads, channel `c` using kernel `c mod D`, as in the labml.ai
 * annotated implementation.
 *
 * The forward pass and both gradients are forward depthwise convolutions, native on every
 * backend (XNNPACK on wasm, which has no depthwise backprop kernels at all).
 *
 * @example
 * ```ts
 * // The paper's initialisation: 0.5 on the current position, 0.5/3 on the two before.
 * const kernel = tf.tensor2d([[1 / 6, 1 / 6], [1 / 6, 1 / 6], [0.5, 0.5]]); // [K=3, C=2]
 * causalDepthwiseConv1d(tf.ones([1, 4, 2]) as tf.Tensor3D, kernel); // t=0: 0.5, t=1: ⅔, then 5/6
 * ```
 */
function causalDepthwiseConv1d_(x: Tensor3D, kernel: Tensor2D, bias?: Tensor1D): Tensor3D {
  const opName = 'causalDepthwiseConv1d';
  assertTensor(opName, 'x', x);
  assertTensor(opName, 'kernel', kernel);
  assertDtype(opName, 'x', x, ['float32']);
  assertDtype(opName, 'kernel', kernel, ['float32']);
  assertShape(opName, 'x', x, ['B', 'T', 'C']);
  const [b, t, c] = x.shape;
  assertShape(opName, 'kernel', kernel, ['K', 'G']);
  const [taps, g] = kernel.shape;
  check(
    taps >= 1 && g >= 1 && c % g === 0,
    () =>
      `${opName}: argument 'kernel' has shape ${formatShape(kernel.shape)}; expected [K, C] = ` +
      `[K, ${c}] (one kernel per channel) or [K, G] with G dividing C = ${c} ` +
      `(kernels shared across C/G groups), K ≥ 1.`,
  );
  if (bias !== undefined) {
    assertTensor(opName, 'bias', bias);
    assertShape(opName, 'bias', bias, ['G'], [g], `G from kernel ${formatShape(kernel.shape)}`);
  }
  const groups = c / g;
  /** `[rows, G]` → `[rows, C]`, channel c taking column c mod G. */
  const perChannel = (w: Tensor) => (groups === 1 ? w : tile(w, [1, groups]));
  /** A per-channel [.., C] gradient folded onto the G shared columns. */
  const fold = (grad: Tensor, rows: number) =>
    groups === 1 ? reshape(grad, [rows, g]) : sum(reshape(grad, [rows, groups, g]), 1);

  const inputs = bias === undefined ? [x, kernel] : [x, kernel, bias];
  return withGradient(inputs, (save) => {
    const filter = reshape(perChannel(kernel), [taps, 1, c, 1]) as Tensor4D;
    const padded = padTime(reshape(x, [b, t, 1, c]) as Tensor4D, taps - 1, 'front');
    const conv = depthwiseConv2d(padded, filter, 1, 'valid');
    save([padded, filter]);
    return {
      value: reshape(
        bias === undefined ? conv : add(conv, reshape(perChannel(reshape(bias, [1, g])), [c])),
        [b, t, c],
      ),
      gradFunc: (dy, saved) => {
        const [sp, sf] = saved as [Tensor4D, Tensor4D];
        const dy4 = reshape(dy, [b, t, 1, c]) as Tensor4D;
        // dx[t] = Σ_k dy[t + K-1-k] · w[k]: dy padded at the end, filter reversed along K.
        const dx = depthwiseConv2d(padTime(dy4, taps - 1, 'back'), reverse(sf, 0), 1, 'valid');
        const grads = [reshape(dx, [b, t, c]), fold(filterGradient(sp, dy4, taps), taps)];
        return bias === undefined ? grads : [...grads, reshape(fold(sumLeading(dy4, c), 1), [g])];
      },
    };
  }) as Tensor3D;
}

export const causalDepthwiseConv1d = op({ causalDepthwiseConv1d_ });
