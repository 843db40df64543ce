import { describeEachBackend, expectClose, values } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { CASES, checkpointFiles } from '../test/fixtures.js';
import { type ConfigInput, Decoder, deserializeCheckpoint, PrimerModel } from './index.js';

const base = { vocab_size: 17, d_model: 16, n_heads: 2, n_layers: 2, d_ff: 32, max_seq_len: 10 };
const VARIANTS: Record<string, ConfigInput> = {
  per_channel: base,
  shared: { ...base, dconv: 'shared' },
  vanilla: { ...base, attention: 'mha', ffn_activation: 'relu' },
  'sinusoidal, tied, 4 taps': {
    ...base,
    positional: 'sinusoidal',
    tie_embeddings: true,
    dconv_kernel: 4,
  },
  '1 tap': { ...base, dconv_kernel: 1 },
};

/** Seeded random token rows. */
function randomIds(b: number, t: number, v: number, seed: number): number[][] {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % v;
  };
  return Array.from({ length: b }, () => Array.from({ length: t }, next));
}

/** Cached decoding of `rows` in chunks of the given sizes, concatenated to `[B, T, V]`. */
function decodeInChunks(model: PrimerModel, rows: number[][], chunks: number[]): number[] {
  const cache = model.createCache(rows.length);
  const parts: tf.Tensor3D[] = [];
  let at = 0;
  for (const n of chunks) {
    parts.push(
      model.decode(
        rows.map((r) => r.slice(at, at + n)),
        cache,
      ),
    );
    at += n;
  }
  expect(cache.length).toBe(at);
  const all = values(tf.concat(parts, 1));
  tf.dispose(parts);
  cache.dispose();
  return all;
}

describeEachBackend('KV-cache decoding', () => {
  const models: [string, () => PrimerModel][] = [
    ...Object.entries(VARIANTS).map(
      ([name, c]) =>
        [name, () => PrimerModel.create(c, { seed: 11 })] as [string, () => PrimerModel],
    ),
    ...CASES.map(
      (name) =>
        [`fixture ${name}`, () => deserializeCheckpoint(checkpointFiles(name))] as [
          string,
          () => PrimerModel,
        ],
    ),
  ];

  it.each(models)(
    '%s: step-by-step and chunked decoding equal the full forward at every position',
    (_, make) => {
      const model = make();
      const t = model.config.max_seq_len;
      for (const seed of [1, 2]) {
        const rows = randomIds(2, t, model.config.vocab_size, seed);
        const full = values(model.forward(rows));
        expectClose(decodeInChunks(model, rows, Array(t).fill(1)), full, { atol: 1e-5, rtol: 0 });
        const chunks = [3, 1, t - 6, 2];
        expectClose(decodeInChunks(model, rows, chunks), full, { atol: 1e-5, rtol: 0 });
      }
      model.dispose();
    },
  );

  it('leaks no tensors while decoding, and frees the cache on dispose', () => {
    const model = PrimerModel.create(VARIANTS.per_channel!, { seed: 12 });
    const before = tf.memory().numTensors;
    const cache = model.createCache(1);
    tf.dispose(model.decode([[1, 2]], cache));
    const cached = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) {
      tf.dispose(model.decode([[i]], cache));
      expect(tf.memory().numTensors).toBe(cached);
    }
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('refuses to decode past max_seq_len, pointing at the Decoder', () => {
    const model = PrimerModel.create(VARIANTS.vanilla!, { seed: 13 });
    const cache = model.createCache(1);
    tf.dispose(model.decode([randomIds(1, 8, 17, 3)[0]!], cache));
    expect(() => model.decode([[1, 2, 3]], cache)).toThrow(
      'decode: 8 cached + 3 new positions exceed max_seq_len 10; use a Decoder, which slides a window.',
    );
    expect(() => model.decode([[1], [2]], cache)).toThrow(
      'decode: ids have batch 2 but the cache was made for 1.',
    );
    cache.dispose();
    model.dispose();
  });

  it.each(Object.keys(VARIANTS))(
    '%s: a Decoder slides a window past max_seq_len, matching the full forward of its context',
    (name) => {
      const model = PrimerModel.create(VARIANTS[name]!, { seed: 14 });
      const decoder = new Decoder(model, { batch: 2, keep: 6 });
      const stream = randomIds(2, 27, 17, 4);
      const lengths: number[] = [];
      const feeds = [[0, 3], ...Array.from({ length: 24 }, (_, i) => [3 + i, 4 + i])] as [
        number,
        number,
      ][];
      for (const [from, to] of feeds) {
        const logits = decoder.feed(stream.map((r) => r.slice(from, to)));
        const context = decoder.context.map((r) => [...r]);
        lengths.push(context[0]!.length);
        expect(context[0]).toEqual(stream[0]!.slice(to - context[0]!.length, to));
        const full = model.forward(context);
        const [b, t, v] = full.shape;
        expectClose(logits, tf.reshape(tf.slice(full, [0, t - 1, 0], [b, 1, v]), [b, v]), {
          atol: 1e-5,
          rtol: 0,
        });
        tf.dispose([logits, full]);
      }
      // Grows to max_seq_len, drops to `keep` when the next token would pass it, and grows again.
      expect(lengths.slice(0, 10)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 6, 7]);
      expect(Math.max(...lengths)).toBe(10);
      decoder.dispose();
      model.dispose();
    },
  );

  it('leaks no tensors while a Decoder feeds, past max_seq_len too', () => {
    const model = PrimerModel.create(VARIANTS.shared!, { seed: 16 });
    const decoder = new Decoder(model, { keep: 4 });
    tf.dispose(decoder.feed([[1, 2, 3]]));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 12; i++) {
      tf.dispose(decoder.feed([[i % 17]]));
      // the cache holds the same number of tensors at every length
      expect(tf.memory().numTensors).toBe(before);
    }
    decoder.dispose();
    model.dispose();
  });

  it('rejects a bad keep or mismatched rows', () => {
    const model = PrimerModel.create(VARIANTS.per_channel!, { seed: 15 });
    expect(() => new Decoder(model, { keep: 10 })).toThrow(
      'Decoder: keep = 10 must be an integer in [1, max_seq_len = 10).',
    );
    const decoder = new Decoder(model, { batch: 2 });
    expect(() => decoder.feed([[1, 2]])).toThrow(
      'Decoder.feed: expected 2 row(s) of the same positive length',
    );
    expect(decoder.keep).toBe(7);
    decoder.dispose();
    model.dispose();
  });
});
