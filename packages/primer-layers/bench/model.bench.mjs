// Training-step and decoding speed of the model, per backend, in one run.
// Usage: pnpm bench [-- --backends wasm,cpu --preset small]
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@primer-ez/tensor-ops';
import { Decoder, PrimerModel, presetConfig } from '@primer-ez/primer-layers';
import * as tf from '@tensorflow/tfjs-core';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const backends = arg('backends', 'wasm').split(',');
const preset = arg('preset', 'small');
const [batch, reps, vocab] = [Number(arg('batch', 32)), Number(arg('reps', 3)), 65];

const best = (fn) => {
  fn();
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
};
const rows = (b, t, seed) =>
  Array.from({ length: b }, (_, i) =>
    Array.from({ length: t }, (_, j) => (seed + i * 31 + j * 7) % vocab),
  );

console.log(
  `| backend | model | params | train step (fwd+bwd, B=${batch}, T=max) ms | tokens/s | decode 64 tokens, KV cache, ms/token | no cache (full forward), ms/token |`,
);
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const backend of backends) {
  await tf.setBackend(backend);
  await tf.ready();
  for (const name of [preset, `${preset}-vanilla`]) {
    const config = presetConfig(name, vocab);
    const model = PrimerModel.create(config, { seed: 1 });
    const t = config.max_seq_len;
    const ids = tf.tensor2d(rows(batch, t, 1), [batch, t], 'int32');
    const targets = tf.tensor2d(rows(batch, t, 2), [batch, t], 'int32');
    const step = best(() => {
      const { value, grads } = tf.variableGrads(() =>
        model.loss(ids, targets, { checkIds: false }),
      );
      value.dataSync();
      tf.dispose([value, ...Object.values(grads)]);
    });
    const prompt = rows(1, 1, 3);
    const cached =
      best(() => {
        const decoder = new Decoder(model);
        let logits = decoder.feed(prompt);
        for (let i = 0; i < 63; i++) {
          const next = tf.argMax(logits, -1).dataSync()[0];
          logits.dispose();
          logits = decoder.feed([[next]]);
        }
        logits.dispose();
        decoder.dispose();
      }) / 64;
    const uncached =
      best(() => {
        const context = [...prompt[0]];
        for (let i = 0; i < 63; i++) {
          const logits = model.forward([context.slice(-t)]);
          const last = tf.slice(logits, [0, logits.shape[1] - 1, 0], [1, 1, vocab]);
          context.push(tf.argMax(last, -1).dataSync()[0]);
          tf.dispose([logits, last]);
        }
      }) / 63;
    console.log(
      `| ${backend} | ${name} | ${model.parameterCount.toLocaleString('en')} | ${step.toFixed(0)} | ${((batch * t) / (step / 1000)).toFixed(0)} | ${cached.toFixed(2)} | ${uncached.toFixed(2)} |`,
    );
    tf.dispose([ids, targets]);
    model.dispose();
  }
}
