// Tiny Primer EZ models for the sampling tests: random ones (near-uniform next-token
// distributions) and ones trained for a few dozen Adam steps on a repeated text, so that greedy
// generation continues the text.
import { PrimerModel, presetConfig } from '@primer-ez/primer-layers';
import type { Tokenizer } from '@primer-ez/tokenizer';
import * as tf from '@tensorflow/tfjs-core';

export interface TinyModelOptions {
  /** Context length of the model (and of the training windows). Default 16. */
  maxSeqLen?: number;
  /** Adam steps, each on every window of the text. Default 60. */
  steps?: number;
  /** Seed of the initial weights. Default 1. */
  seed?: number;
}

/** An untrained `tiny` model. */
export function randomTinyModel(vocabSize: number, maxSeqLen = 16, seed = 2): PrimerModel {
  return PrimerModel.create(presetConfig('tiny', vocabSize, { max_seq_len: maxSeqLen }), { seed });
}

type HostWeights = Map<string, { values: Float32Array; shape: number[] }>;
const trained = new Map<string, HostWeights>();

/**
 * A `tiny` model trained on every window of `text` (read as a cycle), on the active backend.
 * NOTE: training runs once per text and options, on wasm (the cpu backend takes ten times as
 * long); the weights are kept on the host and loaded on whichever backend is active.
 */
export async function trainTinyModel(
  tokenizer: Tokenizer,
  text: string,
  { maxSeqLen = 16, steps = 150, seed = 1 }: TinyModelOptions = {},
): Promise<PrimerModel> {
  const config = presetConfig('tiny', tokenizer.vocabSize, { max_seq_len: maxSeqLen });
  const key = JSON.stringify([text, tokenizer.vocabSize, maxSeqLen, steps, seed]);
  let weights = trained.get(key);
  if (weights === undefined) {
    const previous = tf.getBackend();
    await tf.setBackend('wasm');
    const model = PrimerModel.create(config, { seed });
    const period = tokenizer.encode(text);
    let ids = period;
    while (ids.length < period.length + maxSeqLen + 1) ids = ids.concat(period);
    const inputs = period.map((_, start) => ids.slice(start, start + maxSeqLen)); // [B, T]
    const targets = period.map((_, start) => ids.slice(start + 1, start + maxSeqLen + 1));
    const optimizer = tf.train.adam(1e-2);
    for (let step = 0; step < steps; step++) {
      optimizer.minimize(() => model.loss(inputs, targets), false, model.variables());
    }
    optimizer.dispose();
    weights = new Map(
      [...model.params].map(([name, v]) => [
        name,
        { values: v.dataSync() as Float32Array, shape: v.shape },
      ]),
    );
    model.dispose();
    trained.set(key, weights);
    await tf.setBackend(previous);
  }
  const tensors = new Map([...weights].map(([name, w]) => [name, tf.tensor(w.values, w.shape)]));
  const model = PrimerModel.fromWeights(config, tensors);
  tf.dispose([...tensors.values()]);
  return model;
}
