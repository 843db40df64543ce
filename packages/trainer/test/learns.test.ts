// Proof it learns: the `tiny` Primer EZ, trained for a few hundred steps on a slice of Moby-Dick
// on the wasm backend, scores well below the text's unigram entropy on held-out text.
import { PrimerModel, presetConfig } from '@primer-ez/primer-layers';
import { readMobyDick } from '@primer-ez/test-utils/corpus';
import { trainCharTokenizer } from '@primer-ez/tokenizer';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-wasm';
import { splitTokens } from '../src/data.js';
import { Trainer } from '../src/trainer.js';

beforeAll(async () => {
  await tf.setBackend('wasm');
});

/** Entropy (nats per token) of the token frequencies: the loss of the best context-free model. */
function unigramEntropy(tokens: Int32Array, vocab: number): number {
  const counts = new Float64Array(vocab);
  for (const t of tokens) counts[t]! += 1;
  let h = 0;
  for (const c of counts) if (c > 0) h -= (c / tokens.length) * Math.log(c / tokens.length);
  return h;
}

it('tiny Primer EZ on Moby-Dick: validation loss falls well below the unigram entropy', async () => {
  const text = readMobyDick().slice(20_000, 220_000);
  const tokenizer = trainCharTokenizer(text);
  const tokens = Int32Array.from(tokenizer.encode(text));
  const data = splitTokens(tokens);
  const entropy = unigramEntropy(data.validation, tokenizer.vocabSize);
  const model = PrimerModel.create(presetConfig('tiny', tokenizer.vocabSize), { seed: 1 });
  const trainer = new Trainer(
    model,
    data,
    { batchSize: 16, lr: 3e-3, warmup: 20, totalSteps: 300, evalWindows: 32 },
    tokenizer,
  );
  const start = (await trainer.validate()).loss;
  await trainer.run({ steps: 300 });
  const end = (await trainer.validate()).loss;
  console.log(
    `unigram entropy ${entropy.toFixed(3)} nats/char; validation loss ${start.toFixed(3)} → ${end.toFixed(3)} after 300 steps`,
  );
  expect(start).toBeGreaterThan(entropy);
  expect(end).toBeLessThan(0.85 * entropy);
  trainer.dispose();
  model.dispose();
});
