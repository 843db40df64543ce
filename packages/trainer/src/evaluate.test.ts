import { PrimerModel } from '@primer-ez/primer-layers';
import { describeEachBackend } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { evaluate } from './evaluate.js';

const config = { vocab_size: 9, d_model: 8, n_heads: 2, n_layers: 1, d_ff: 16, max_seq_len: 6 };
const stream = Array.from({ length: 40 }, (_, i) => (i * 5 + ((i * i) % 7)) % 9);

describeEachBackend('evaluate', () => {
  it('is the mean cross-entropy over consecutive non-overlapping windows', async () => {
    const model = PrimerModel.create(config, { seed: 1 });
    const r = await evaluate(model, stream, { batchSize: 4 });
    // windows at 0, 6, …, 30 (s + 7 ≤ 40): six windows of six tokens
    expect([r.windows, r.tokens]).toEqual([6, 36]);
    const starts = [0, 6, 12, 18, 24, 30];
    const loss = model.loss(
      starts.map((s) => stream.slice(s, s + 6)),
      starts.map((s) => stream.slice(s + 1, s + 7)),
    );
    expect(r.loss).toBeCloseTo(loss.dataSync()[0]!, 5);
    expect(r.perplexity).toBeCloseTo(Math.exp(r.loss), 10);
    expect(r.bitsPerToken).toBeCloseTo(r.loss / Math.LN2, 10);
    // batching does not change the result
    expect((await evaluate(model, stream, { batchSize: 1 })).loss).toBeCloseTo(r.loss, 5);
    expect((await evaluate(model, stream, { maxWindows: 2 })).windows).toBe(2);
    tf.dispose(loss);
    model.dispose();
  });

  it('explains streams too short to score and ids outside the vocabulary', async () => {
    const model = PrimerModel.create(config, { seed: 2 });
    await expect(evaluate(model, [1, 2, 3])).rejects.toThrow(
      'evaluate: 3 tokens are fewer than one window of seqLen + 1 = 7; score more text or use a shorter seqLen.',
    );
    await expect(evaluate(model, [...stream, 9])).rejects.toThrow(
      "evaluate: token 40 is 9, outside the model's vocabulary [0, 9).",
    );
    await expect(evaluate(model, stream, { seqLen: 7 })).rejects.toThrow(
      "seqLen 7 exceeds the model's max_seq_len 6",
    );
    const before = tf.memory().numTensors;
    await evaluate(model, stream);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
