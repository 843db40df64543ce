// Training throughput, achieved GFLOP/s against the same backend's 2-D matMul roofline, peak RSS,
// and generation speed with the key/value cache versus full recompute — in one run.
// Usage: pnpm bench [-- --backends wasm,cpu --steps 5]
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@primer-ez/tensor-ops';
import { Decoder, PrimerModel, presetConfig } from '@primer-ez/primer-layers';
import { splitTokens, Trainer } from '@primer-ez/trainer';
import * as tf from '@tensorflow/tfjs-core';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const backends = arg('backends', 'wasm,cpu').split(',');
const steps = Number(arg('steps', 4));
const vocab = 65;
const tokens = Int32Array.from({ length: 200_000 }, (_, i) => (i * 7 + ((i * i) % 13)) % vocab);
const data = splitTokens(tokens);

/** Non-embedding parameters ×6 plus dense attention (12·L·T·C): training FLOPs per token. */
function flopsPerToken(model) {
  const c = model.config;
  const embeddings =
    c.vocab_size * c.d_model + (c.positional === 'learned' ? c.max_seq_len * c.d_model : 0);
  return 6 * (model.parameterCount - embeddings) + 12 * c.n_layers * c.max_seq_len * c.d_model;
}

function matMulGflops() {
  const a = tf.randomNormal([512, 512], 0, 1, 'float32', 1);
  const b = tf.randomNormal([512, 512], 0, 1, 'float32', 2);
  const run = () => {
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
  };
  run();
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    run();
    best = Math.min(best, performance.now() - t0);
  }
  tf.dispose([a, b]);
  return (2 * 512 ** 3) / best / 1e6;
}

const rows = [];
console.log('## Training (small preset, batch 32 × 128 tokens, AdamW)\n');
console.log(
  '| backend | model | tokens/s | GFLOP/s | 2-D matMul GFLOP/s (same run) | ratio | peak RSS MB |',
);
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const backend of backends) {
  await tf.setBackend(backend);
  await tf.ready();
  for (const name of ['small', 'small-vanilla']) {
    const model = PrimerModel.create(presetConfig(name, vocab), { seed: 1 });
    const trainer = new Trainer(model, data, { batchSize: 32, totalSteps: 1000 });
    await trainer.trainStep(); // warm-up
    const roofBefore = matMulGflops();
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      await trainer.trainStep();
      best = Math.min(best, performance.now() - t0);
    }
    const roof = Math.max(roofBefore, matMulGflops());
    const tokensPerSecond = (32 * 128) / (best / 1000);
    const gflops = (tokensPerSecond * flopsPerToken(model)) / 1e9;
    const rss = process.resourceUsage().maxRSS / 1024;
    rows.push({ backend, model: name, tokensPerSecond, gflops, roof });
    console.log(
      `| ${backend} | ${name} | ${tokensPerSecond.toFixed(0)} | ${gflops.toFixed(2)} | ${roof.toFixed(2)} | ${((100 * gflops) / roof).toFixed(0)}% | ${rss.toFixed(0)} |`,
    );
    trainer.dispose();
    model.dispose();
  }
}

console.log('\n## Generation (small preset with max_seq_len 512, batch 1)\n');
console.log(
  '| backend | ms/token with KV cache at position 10 | at position 250 | full recompute at context 256 | cache speed-up |',
);
console.log('|---|---:|---:|---:|---:|');
for (const backend of backends) {
  await tf.setBackend(backend);
  const model = PrimerModel.create(presetConfig('small', vocab, { max_seq_len: 512 }), { seed: 2 });
  const prompt = Array.from({ length: 256 }, (_, i) => (i * 11) % vocab);
  const cachedAt = (position) => {
    const decoder = new Decoder(model);
    tf.dispose(decoder.feed([prompt.slice(0, position)]));
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const logits = decoder.feed([[i % vocab]]);
      logits.dataSync();
      logits.dispose();
      best = Math.min(best, performance.now() - t0);
    }
    decoder.dispose();
    return best;
  };
  const recompute = () => {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const logits = model.forward([prompt], { checkIds: false });
      const last = tf.slice(logits, [0, 255, 0], [1, 1, vocab]);
      last.dataSync();
      tf.dispose([logits, last]);
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  const [at10, at250, full] = [cachedAt(10), cachedAt(250), recompute()];
  console.log(
    `| ${backend} | ${at10.toFixed(2)} | ${at250.toFixed(2)} | ${full.toFixed(2)} | ${(full / at250).toFixed(1)}× |`,
  );
  model.dispose();
}

// PyTorch side by side: the interop/pytorch reference with the same config, batch and recipe on
// the CPU with 2 threads, when Debian's python3-torch is installed (never needed by CI).
const { spawnSync } = await import('node:child_process');
const { fileURLToPath } = await import('node:url');
const python = process.env.PYTHON ?? '/usr/bin/python3';
const interop = fileURLToPath(new URL('../../../interop/pytorch/', import.meta.url));
const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
if (probe.status !== 0) {
  console.log(
    `\nPyTorch side by side: not run (${python} cannot import torch; apt-get install -y python3-torch).`,
  );
} else {
  const run = spawnSync(python, ['bench_train.py', '--threads', '2', '--steps', String(steps)], {
    cwd: interop,
    encoding: 'utf8',
  });
  const torchRows = run.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  console.log(
    `\n## PyTorch ${torchRows[0]?.torch ?? ''} on the CPU (2 threads), same config and batch\n`,
  );
  console.log('| model | PyTorch tokens/s | ours (best backend) tokens/s | ours / PyTorch |');
  console.log('|---|---:|---:|---:|');
  for (const t of torchRows) {
    const ours = Math.max(...rows.filter((r) => r.model === t.model).map((r) => r.tokensPerSecond));
    console.log(
      `| ${t.model} | ${t.tokens_per_s.toFixed(0)} | ${ours.toFixed(0)} | ${(ours / t.tokens_per_s).toFixed(2)} |`,
    );
  }
}
