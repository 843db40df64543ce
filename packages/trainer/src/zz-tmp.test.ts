import { trainCharTokenizer, trainByteLevelBpe } from '@primer-ez/tokenizer';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { it } from 'vitest';
import { trainTinyModel } from '../test/tiny-model.js';
import { generateText } from './sample.js';
it('quality', async () => {
 for (const be of ['cpu', 'wasm']) {
  await tf.setBackend(be);
  const TEXT = 'the cat sat on a mat. ';
  const tok = trainCharTokenizer(TEXT, { specialTokens: ['<|endoftext|>'] });
  for (const steps of [30, 40, 60]) {
    const t0 = performance.now();
    const m = trainTinyModel(tok, TEXT, { steps });
    const ms = performance.now() - t0;
    const a = await generateText(m, tok, 'the c', { temperature: 0, maxNewTokens: 60 });
    const b = await generateText(m, tok, 'on', { temperature: 0, maxNewTokens: 60 });
    console.log('RES', be, steps, ms.toFixed(0), JSON.stringify(a.text), JSON.stringify(b.text));
    m.dispose();
  }
  const bpe = trainByteLevelBpe('the quick brown fox jumps over the lazy dog '.repeat(4), { vocabSize: 262 });
  for (const steps of [30, 40, 60]) {
    const t0 = performance.now();
    const m = trainTinyModel(bpe, 'café 🐳 olé 🐳 ', { steps });
    const ms = performance.now() - t0;
    const a = await generateText(m, bpe, 'café 🐳 ', { temperature: 0, maxNewTokens: 30 });
    console.log('RES', be, steps, ms.toFixed(0), JSON.stringify(a.text));
    m.dispose();
  }
 }
});
