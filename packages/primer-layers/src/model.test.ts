import { describeEachBackend, expectClose, values } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  type ConfigInput,
  countParameters,
  InputError,
  PrimerModel,
  parameterSpecs,
  resolveConfig,
} from './index.js';

const base = { vocab_size: 13, d_model: 16, n_heads: 4, n_layers: 2, d_ff: 24, max_seq_len: 12 };
const VARIANTS: Record<string, ConfigInput> = {
  'Primer EZ (per-channel)': base,
  'Primer EZ (shared, labml)': { ...base, dconv: 'shared' },
  vanilla: { ...base, attention: 'mha', ffn_activation: 'relu' },
  'sinusoidal, tied, 5 taps with bias': {
    ...base,
    positional: 'sinusoidal',
    tie_embeddings: true,
    dconv_kernel: 5,
    dconv_bias: true,
  },
};
const ids = (b: number, t: number, seed: number) =>
  Array.from({ length: b }, (_, i) =>
    Array.from({ length: t }, (_, j) => (seed * 7 + i * 5 + j * 3 + j * j) % 13),
  );

describe('parameters', () => {
  it('counts parameters as the architecture says', () => {
    const { vocab_size: v, d_model: c, d_ff: f, max_seq_len: t } = base;
    // The three convolutions: 3 taps and a bias per channel (the default dconv_bias).
    const block = 2 * 2 * c + 4 * (c * c + c) + 3 * (3 * c + c) + (c * f + f) + (f * c + c);
    expect(countParameters(resolveConfig(base))).toBe(
      v * c + t * c + 2 * block + 2 * c + (c * v + v),
    );
    const vanillaBlock = block - 3 * (3 * c + c);
    expect(countParameters(resolveConfig(VARIANTS.vanilla!))).toBe(
      v * c + t * c + 2 * vanillaBlock + 2 * c + (c * v + v),
    );
    const shared = resolveConfig(VARIANTS['Primer EZ (shared, labml)']!);
    expect(countParameters(shared) - countParameters(resolveConfig(VARIANTS.vanilla!))).toBe(
      2 * 3 * (3 * 4 + 4),
    );
  });

  it('differs from vanilla only by the convolutions (and the activation, which has no parameters)', () => {
    const primer = parameterSpecs(resolveConfig(base)).map((s) => s.name);
    const vanilla = parameterSpecs(resolveConfig(VARIANTS.vanilla!)).map((s) => s.name);
    expect(
      primer
        .filter((n) => !vanilla.includes(n))
        .every((n) => /attn\.[qkv]_dconv\.(weight|bias)$/.test(n)),
    ).toBe(true);
    expect(vanilla.every((n) => primer.includes(n))).toBe(true);
  });
});

describeEachBackend('PrimerModel', () => {
  it('is reproducible from its seed; the smoothing init puts 0.5 on the current tap, 0.5/3 on the others', () => {
    const [a, b, c] = [
      PrimerModel.create(base, { seed: 3 }),
      PrimerModel.create(base, { seed: 3 }),
      PrimerModel.create(base, { seed: 4 }),
    ];
    expect(values(a.params.get('blocks.1.ffn.up.weight')!)).toEqual(
      values(b.params.get('blocks.1.ffn.up.weight')!),
    );
    expect(values(a.params.get('blocks.1.ffn.up.weight')!)).not.toEqual(
      values(c.params.get('blocks.1.ffn.up.weight')!),
    );
    // Seed 0 too (tfjs's random ops read a seed of 0 as "no seed"): every parameter, every time.
    const [z1, z2] = [PrimerModel.create(base, { seed: 0 }), PrimerModel.create(base, { seed: 0 })];
    for (const [name, v] of z1.params)
      expect(values(z2.params.get(name)!), name).toEqual(values(v));
    z1.dispose();
    z2.dispose();
    const smoothing = PrimerModel.create({ ...base, dconv_init: 'smoothing' }, { seed: 3 });
    expectClose(smoothing.params.get('blocks.0.attn.q_dconv.weight')!, [
      ...Array(32).fill(0.5 / 3),
      ...Array(16).fill(0.5),
    ]);
    expect(values(smoothing.params.get('blocks.0.attn.q_dconv.bias')!).every((x) => x === 0)).toBe(
      true,
    );
    smoothing.dispose();
    expect(a.parameterCount).toBe(countParameters(a.config));
    for (const m of [a, b, c]) m.dispose();
  });

  it("dconv_init 'uniform' draws kernels and biases from U(±1/√K), seeded, per channel", () => {
    const config = { ...base, dconv_init: 'uniform', dconv_bias: true } as const;
    const [a, b] = [
      PrimerModel.create(config, { seed: 5 }),
      PrimerModel.create(config, { seed: 5 }),
    ];
    const bound = 1 / Math.sqrt(3);
    for (const name of ['blocks.0.attn.k_dconv.weight', 'blocks.1.attn.v_dconv.bias']) {
      const v = values(a.params.get(name)!);
      expect(v.length, name).toBe(name.endsWith('weight') ? 3 * 16 : 16);
      expect(v.every((x) => Math.abs(x) <= bound)).toBe(true);
      // Not the smoothing constants, not all equal, and reproducible from the seed.
      expect(new Set(v).size).toBe(v.length);
      expect(values(b.params.get(name)!)).toEqual(v);
    }
    for (const m of [a, b]) m.dispose();
  });

  it.each(Object.keys(VARIANTS))(
    '%s: logits [B, T, V], finite, for ids as arrays or int32 tensors',
    (name) => {
      const model = PrimerModel.create(VARIANTS[name]!, { seed: 1 });
      const rows = ids(2, 7, 1);
      const logits = model.forward(rows);
      expect(logits.shape).toEqual([2, 7, 13]);
      expect(values(logits).every(Number.isFinite)).toBe(true);
      const asTensor = tf.tensor2d(rows, [2, 7], 'int32');
      expectClose(model.forward(asTensor), logits, { atol: 0, rtol: 0 });
      model.dispose();
    },
  );

  it.each(Object.keys(VARIANTS))(
    '%s: is causal — changing token t+1 leaves logits ≤ t unchanged',
    (name) => {
      const model = PrimerModel.create(VARIANTS[name]!, { seed: 2 });
      const rows = ids(1, 10, 2);
      const before = values(model.forward(rows));
      for (const t of [0, 4, 8]) {
        const changed = rows.map((r) => r.map((id, j) => (j === t + 1 ? (id + 5) % 13 : id)));
        const after = values(model.forward(changed));
        const cut = (t + 1) * 13;
        expect(after.slice(0, cut)).toEqual(before.slice(0, cut));
        expect(after.slice(cut)).not.toEqual(before.slice(cut));
      }
      model.dispose();
    },
  );

  it('leaks no tensors over forward and backward passes', () => {
    const model = PrimerModel.create({ ...base, dropout: 0.1 }, { seed: 5 });
    const rows = ids(2, 8, 3);
    const targets = ids(2, 8, 4);
    const step = () => {
      const { value, grads } = tf.variableGrads(() =>
        model.loss(rows, targets, { training: true, seed: 1 }),
      );
      tf.dispose([value, ...Object.values(grads)]);
      tf.dispose(model.forward(rows));
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      step();
      expect(tf.memory().numTensors).toBe(before);
    }
    model.dispose();
  });

  it('applies dropout only when training, reproducibly from the seed', () => {
    const model = PrimerModel.create({ ...base, dropout: 0.3 }, { seed: 6 });
    const rows = ids(1, 6, 5);
    const plain = values(model.forward(rows));
    expect(values(model.forward(rows, { training: false, seed: 9 }))).toEqual(plain);
    const a = values(model.forward(rows, { training: true, seed: 9 }));
    expect(a).not.toEqual(plain);
    expect(values(model.forward(rows, { training: true, seed: 9 }))).toEqual(a);
    expect(values(model.forward(rows, { training: true, seed: 10 }))).not.toEqual(a);
    model.dispose();
  });

  it('rejects bad ids with errors that name the value and the fix', () => {
    const model = PrimerModel.create(base, { seed: 7 });
    expect(() => model.forward([[1, 2, 13]])).toThrow(InputError);
    expect(() => model.forward([[1, 2, 13]])).toThrow(
      'ids[0][2] = 13 is outside the vocabulary [0, 13); encode text with the tokenizer the model was trained with.',
    );
    expect(() => model.forward([[-1]])).toThrow('ids[0][0] = -1 is outside the vocabulary');
    expect(() => model.forward(tf.tensor2d([[1, 2]], [1, 2], 'float32'))).toThrow(
      "ids have dtype float32; expected int32 token ids (tf.cast(ids, 'int32')).",
    );
    expect(() => model.forward([Array(13).fill(1)])).toThrow(
      'ids have 13 positions but max_seq_len is 12; pass at most 12',
    );
    expect(() => model.forward([[1, 2], [3]])).toThrow('equal-length rows');
    expect(() => model.forward([[1, 2.5]])).toThrow(
      'ids[0][1] = 2.5 is not an integer token id; encode text with the tokenizer',
    );
    expect(() => model.forward([[Number.NaN]])).toThrow('ids[0][0] = NaN is not an integer');
    expect(() => model.forward([['1' as unknown as number]])).toThrow(
      'ids[0][0] = "1" is not an integer',
    );
    expect(() => model.forward(tf.zeros([1, 0], 'int32') as tf.Tensor2D)).toThrow(
      'ids have shape [1,0]; pass at least one sequence of at least one token.',
    );
    expect(() => model.forward(tf.zeros([0, 3], 'int32') as tf.Tensor2D)).toThrow(
      'ids have shape [0,3]',
    );
    expect(() => model.loss([[1, 2]], [[1, 2, 3]])).toThrow(
      'targets have shape [1,3]; expected [1,2]',
    );
    const before = tf.memory().numTensors;
    expect(() => model.forward([[1, 99]])).toThrow(InputError);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('builds from weights, validating names and shapes', () => {
    const model = PrimerModel.create(base, { seed: 8 });
    const weights = new Map([...model.params].map(([k, v]) => [k, v as tf.Tensor]));
    const copy = PrimerModel.fromWeights(base, weights);
    expectClose(copy.forward(ids(1, 5, 1)), model.forward(ids(1, 5, 1)), { atol: 0, rtol: 0 });
    const missing = new Map(weights);
    missing.delete('final_norm.bias');
    expect(() => PrimerModel.fromWeights(base, missing)).toThrow(
      "weights: missing tensor 'final_norm.bias' [16].",
    );
    const wrong = new Map(weights).set('embed.weight', tf.zeros([12, 16]));
    expect(() => PrimerModel.fromWeights(base, wrong)).toThrow(
      "tensor 'embed.weight' has shape [12,16]; expected [13,16].",
    );
    expect(() =>
      PrimerModel.fromWeights(base, new Map(weights).set('extra', tf.zeros([1]))),
    ).toThrow('weights: unexpected tensor(s) extra');
    copy.dispose();
    model.dispose();
  });
});
