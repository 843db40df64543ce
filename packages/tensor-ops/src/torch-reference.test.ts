// Every op against PyTorch 1.13 (fixtures/generate.py): outputs and the gradients of sum(y·w).
import { readFileSync } from 'node:fs';
import { describeEachBackend, expectClose } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import {
  causalDepthwiseConv1d,
  causalSelfAttention,
  embedding,
  layerNorm,
  linear,
  sparseCrossEntropy,
  squaredRelu,
} from './index.js';

interface Stored {
  shape: number[];
  data: number[];
}
interface Case {
  inputs: Record<string, Stored>;
  w?: number[];
  output: Stored;
  grads: Record<string, number[]>;
  ids?: number[];
  idsShape?: number[];
  targets?: number[];
}

const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/torch-reference.json', import.meta.url), 'utf8'),
) as Record<string, Case>;

const tensorOf = (s: Stored) => tf.tensor(s.data, s.shape, 'float32');
/** PyTorch Conv1d weight [G, 1, K] → this package's [K, G] (a transpose, no flip). */
const fromConv1d = (w: tf.Tensor) => tf.transpose(tf.squeeze(w, [1])) as tf.Tensor2D;
/** PyTorch Linear weight [out, in] → [in, out]. */
const fromLinear = (w: tf.Tensor) => tf.transpose(w) as tf.Tensor2D;

type Forward = (inputs: tf.Tensor[], c: Case) => tf.Tensor;
const ops: Record<string, [names: string[], forward: Forward]> = {
  squaredRelu: [['x'], ([x]) => squaredRelu(x!)],
  linear: [['x', 'weight', 'bias'], ([x, w, b]) => linear(x!, fromLinear(w!), b as tf.Tensor1D)],
  layerNorm: [
    ['x', 'gamma', 'beta'],
    ([x, g, b]) => layerNorm(x!, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5),
  ],
  embedding: [
    ['table'],
    ([t], c) => embedding(tf.tensor(c.ids!, c.idsShape!, 'int32'), t as tf.Tensor2D),
  ],
  causalDepthwiseConv1dPerChannel: [
    ['x', 'weight', 'bias'],
    ([x, w, b]) => causalDepthwiseConv1d(x as tf.Tensor3D, fromConv1d(w!), b as tf.Tensor1D),
  ],
  causalDepthwiseConv1dShared: [
    ['x', 'weight', 'bias'],
    ([x, w, b]) => causalDepthwiseConv1d(x as tf.Tensor3D, fromConv1d(w!), b as tf.Tensor1D),
  ],
  causalSelfAttention: [
    ['q', 'k', 'v'],
    ([q, k, v]) => causalSelfAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D),
  ],
  causalSelfAttentionCached: [
    ['q', 'k', 'v'],
    ([q, k, v]) => causalSelfAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D),
  ],
  sparseCrossEntropy: [
    ['logits'],
    ([l], c) => sparseCrossEntropy(l as tf.Tensor2D, tf.tensor1d(c.targets!, 'int32')),
  ],
};

describeEachBackend('PyTorch reference', () => {
  it('covers every fixture case', () => {
    expect(
      Object.keys(fixtures)
        .filter((k) => !k.startsWith('_'))
        .sort(),
    ).toEqual(Object.keys(ops).sort());
  });

  it.each(Object.keys(ops))('%s: output and gradients match PyTorch', (name) => {
    const c = fixtures[name]!;
    const [names, forward] = ops[name]!;
    const inputs = names.map((n) => tensorOf(c.inputs[n]!));
    const y = forward(inputs, c);
    expect(y.shape).toEqual(c.output.shape);
    expectClose(y, c.output.data, { atol: 2e-5, rtol: 1e-4 });
    const loss = (...xs: tf.Tensor[]) => {
      const out = forward(xs, c);
      return (c.w ? tf.sum(tf.mul(out, tf.tensor(c.w, out.shape))) : out) as tf.Scalar;
    };
    const grads = tf.grads(loss)(inputs);
    names.forEach((n, i) => {
      expectClose(grads[i]!, c.grads[n]!, { atol: 5e-5, rtol: 1e-4 });
    });
  });
});
