import {
  depthwiseConv2d,
  getBackend,
  matMul,
  ones,
  reshape,
  sum,
  type Tensor,
  type Tensor1D,
  type Tensor2D,
  type Tensor3D,
  type Tensor4D,
  transpose,
} from '@tensorflow/tfjs-core';

/**
 * Whether the active backend multiplies fast only in plain 2-D form.
 *
 * tfjs-backend-wasm 4.x hands a `matMul` to XNNPACK only when it has no transpose flags and no
 * batch dimension; any other product falls back to a scalar loop that is 10–50× slower (measured
 * by `pnpm bench`). Every other backend handles flags and batches natively.
 */
export function needsPlainMatMul(): boolean {
  return getBackend() === 'wasm';
}

/** `op(a)·op(b)` for 2-D tensors, using explicit transposes where the backend needs them. */
export function matMul2d(
  a: Tensor2D,
  b: Tensor2D,
  transposeA = false,
  transposeB = false,
): Tensor2D {
  if (!needsPlainMatMul()) return matMul(a, b, transposeA, transposeB);
  return matMul(transposeA ? transpose(a) : a, transposeB ? transpose(b) : b);
}

/**
 * A batched product computed as one depthwise convolution, the fast batched product on wasm.
 *
 * Takes `a` laid out `[M, R, N]` and `b` laid out `[R, N, P]` (the batch `N` is the channel axis)
 * and returns `c[m, n, p] = Σ_r a[m, r, n] · b[r, n, p]`, laid out `[M, N, P]`. As a depthwise
 * convolution: input `[1, M, R, N]`, a `1×R` filter with channel multiplier `P`, 'valid' padding.
 */
export function batchMatMulAsDepthwise(a: Tensor3D, b: Tensor3D): Tensor3D {
  const [m, r, n] = a.shape;
  const p = b.shape[2];
  const input = reshape(a, [1, m, r, n]) as Tensor4D;
  const out = depthwiseConv2d(input, reshape(b, [1, r, n, p]) as Tensor4D, 1, 'valid');
  return reshape(out, [m, n, p]);
}

/**
 * Column sums of `x` viewed as `[rows, cols]` (a sum over every leading axis). Bias and scale
 * gradients need this reduction, and `tf.sum` over leading axes is slow on both cpu and wasm: it
 * transposes first. As a product `ones[1, rows]·x` it is 5–10× faster on cpu; on wasm, whose
 * product packs `x` as weights each call, summing blocks of ≤ 64 rows over a middle axis and then
 * the block sums by a product is faster still (both measured by `pnpm bench`).
 */
export function sumLeading(x: Tensor, cols: number): Tensor1D {
  let rows = x.size / cols;
  let blocks = reshape(x, [rows, cols]);
  if (needsPlainMatMul()) {
    let block = 64;
    while (rows % block !== 0) block--;
    if (block > 1) {
      rows /= block;
      blocks = sum(reshape(x, [rows, block, cols]), 1);
    }
  }
  return reshape(matMul(ones([1, rows]), blocks), [cols]);
}
