import {
  bumpPosition,
  describeEachBackend,
  expectClose,
  expectGradientsMatchFiniteDifferences,
  expectNoLeak,
  randn,
  values,
  weightedSum,
} from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { causalDepthwiseConv1d } from './causal-depthwise-conv1d.js';

/** The definition, in plain loops: y[b,t,c] = bias[c%G] + Σ_k w[k, c%G] · x[b, t-(K-1)+k, c]. */
function reference(x: tf.Tensor3D, w: tf.Tensor2D, bias?: tf.Tensor1D): number[] {
  const [B, T, C] = x.shape;
  const [K, G] = w.shape;
  const xs = values(x);
  const ws = values(w);
  const bs = bias ? values(bias) : undefined;
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        let acc = bs ? (bs[c % G] as number) : 0;
        for (let k = 0; k < K; k++) {
          const src = t - (K - 1) + k;
          if (src >= 0)
            acc += (ws[k * G + (c % G)] as number) * (xs[(b * T + src) * C + c] as number);
        }
        out.push(acc);
      }
    }
  }
  return out;
}

describeEachBackend('causalDepthwiseConv1d', () => {
  it('computes the hand-worked example of the docs (paper init, ones in)', () => {
    const kernel = tf.tensor2d([
      [1 / 6, 1 / 6],
      [1 / 6, 1 / 6],
      [0.5, 0.5],
    ]);
    const y = causalDepthwiseConv1d(tf.ones([1, 4, 2]) as tf.Tensor3D, kernel);
    expectClose(y, [0.5, 0.5, 2 / 3, 2 / 3, 5 / 6, 5 / 6, 5 / 6, 5 / 6]);
  });

  it('puts tap K-1 on the current position and tap 0 on the oldest', () => {
    // x is an impulse at t=1; kernel taps are 1, 10, 100 (oldest → current).
    const x = tf.tensor3d([0, 1, 0, 0, 0], [1, 5, 1]);
    const y = causalDepthwiseConv1d(x, tf.tensor2d([[1], [10], [100]]));
    expectClose(y, [0, 100, 10, 1, 0]);
  });

  it.each([
    ['per-channel kernels', 8, false],
    ['per-channel kernels with bias', 8, true],
    ['kernels shared across heads (labml)', 4, true],
    ['a single shared kernel', 1, false],
  ])('matches the loop definition: %s', (_, g, withBias) => {
    const x = randn([2, 6, 8], 10) as tf.Tensor3D;
    const w = randn([3, g], 11) as tf.Tensor2D;
    const bias = withBias ? (randn([g], 12) as tf.Tensor1D) : undefined;
    expectClose(causalDepthwiseConv1d(x, w, bias), reference(x, w, bias));
  });

  it('supports any number of taps, including 1 and more than T', () => {
    const x = randn([1, 3, 2], 13) as tf.Tensor3D;
    for (const k of [1, 2, 5]) {
      const w = randn([k, 2], 14 + k) as tf.Tensor2D;
      expectClose(causalDepthwiseConv1d(x, w), reference(x, w));
    }
  });

  it('is causal: changing position t+1 leaves outputs ≤ t unchanged', () => {
    const x = randn([2, 8, 4], 20) as tf.Tensor3D;
    const w = randn([3, 4], 21) as tf.Tensor2D;
    const before = values(causalDepthwiseConv1d(x, w));
    const t = 4;
    const after = values(causalDepthwiseConv1d(bumpPosition(x, 1, t + 1), w));
    for (let b = 0; b < 2; b++) {
      for (let s = 0; s < 8; s++) {
        for (let c = 0; c < 4; c++) {
          const i = (b * 8 + s) * 4 + c;
          if (s <= t) expect(after[i]).toBe(before[i]);
          else if (s === t + 1) expect(after[i]).not.toBe(before[i]);
        }
      }
    }
  });

  it.each([
    ['per-channel', 6, false],
    ['shared with bias', 3, true],
  ])('has gradients matching finite differences: %s', (_, g, withBias) => {
    const x = randn([2, 5, 6], 30);
    const w = randn([3, g], 31);
    const inputs = withBias ? [x, w, randn([g], 32)] : [x, w];
    expectGradientsMatchFiniteDifferences(
      (xi, wi, bi) =>
        weightedSum(
          causalDepthwiseConv1d(
            xi as tf.Tensor3D,
            wi as tf.Tensor2D,
            bi as tf.Tensor1D | undefined,
          ),
          33,
        ),
      inputs,
    );
  });

  it('leaks no tensors, forward or backward', () => {
    const x = randn([2, 5, 4], 40) as tf.Tensor3D;
    const w = randn([3, 4], 41) as tf.Tensor2D;
    const b = randn([4], 42) as tf.Tensor1D;
    expectNoLeak(() => causalDepthwiseConv1d(x, w, b));
    expectNoLeak(() =>
      tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
        tf.sum(causalDepthwiseConv1d(xi as tf.Tensor3D, wi as tf.Tensor2D, bi as tf.Tensor1D)),
      )([x, w, b]),
    );
  });

  it('names the argument, the shape received and the shape expected on bad input', () => {
    const x = tf.zeros([2, 5, 6]) as tf.Tensor3D;
    expect(() =>
      causalDepthwiseConv1d(tf.zeros([5, 6]) as unknown as tf.Tensor3D, tf.zeros([3, 6])),
    ).toThrow("causalDepthwiseConv1d: argument 'x' has shape [5,6]; expected [B,T,C].");
    expect(() => causalDepthwiseConv1d(x, tf.zeros([3, 4]) as tf.Tensor2D)).toThrow(
      "argument 'kernel' has shape [3,4]; expected [K, C] = [K, 6]",
    );
    expect(() => causalDepthwiseConv1d(x, tf.zeros([6, 3]) as tf.Tensor2D, tf.zeros([6]))).toThrow(
      "argument 'bias' has shape [6]; expected [G] = [3] (G from kernel [6,3]).",
    );
    expect(() => causalDepthwiseConv1d(x, tf.zeros([3, 6], 'int32') as tf.Tensor2D)).toThrow(
      "argument 'kernel' has dtype int32; expected float32",
    );
  });
});
