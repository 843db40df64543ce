// Training and inference throughput, achieved GFLOP/s against the same backend's 2-D matMul
// roofline, peak RSS, and generation speed with the key/value cache versus full recompute; then,
// when python3-torch is installed, the PyTorch reference with the same config and batch.
// One invocation; each backend is measured in a process of its own (so one backend's memory and
// kernels cannot slow another's), then everything is printed as Markdown and written as JSON.
// Usage: pnpm bench [-- --backends wasm,cpu --steps 4 --json path/to/results.json]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const steps = Number(arg('steps', 4));
const worker = arg('worker', undefined);
const vocab = 65;
const BATCH = 32;

if (worker !== undefined) {
  console.log(JSON.stringify(await measure(worker)));
  process.exit(0);
}

const backends = arg('backends', 'wasm,cpu').split(',');
const results = { date: new Date().toISOString(), machine: machine(), steps, backends: [] };
for (const backend of backends) {
  process.stderr.write(`measuring ${backend}…\n`);
  const run = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), '--worker', backend, '--steps', String(steps)],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const line = run.stdout.trim().split('\n').at(-1);
  if (run.status !== 0 || !line?.startsWith('{')) {
    console.log(
      `${backend}: not measured (exit ${run.status}): ${run.stderr.trim().split('\n').at(-1)}`,
    );
    continue;
  }
  results.backends.push(JSON.parse(line));
}
results.pytorch = pytorch();
report(results);
const out = arg('json', fileURLToPath(new URL('last-run.json', import.meta.url)));
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nJSON: ${out}`);

/** Everything measured on one backend, in this process. */
async function measure(backend) {
  await import('@tensorflow/tfjs-backend-cpu');
  await import('@tensorflow/tfjs-backend-wasm');
  await import('@primer-ez/tensor-ops');
  const tf = await import('@tensorflow/tfjs-core');
  const { Decoder, PrimerModel, presetConfig } = await import('@primer-ez/primer-layers');
  const { splitTokens, Trainer } = await import('@primer-ez/trainer');
  await tf.setBackend(backend);
  await tf.ready();
  const tokens = Int32Array.from({ length: 200_000 }, (_, i) => (i * 7 + ((i * i) % 13)) % vocab);
  const data = splitTokens(tokens);
  const best = async (times, fn) => {
    let fastest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < times; i++) {
      const t0 = performance.now();
      await fn();
      fastest = Math.min(fastest, performance.now() - t0);
    }
    return fastest;
  };
  const matMulGflops = async () => {
    const a = tf.randomNormal([512, 512], 0, 1, 'float32', 1);
    const b = tf.randomNormal([512, 512], 0, 1, 'float32', 2);
    const run = () => {
      const c = tf.matMul(a, b);
      c.dataSync();
      c.dispose();
    };
    run();
    const ms = await best(8, run);
    tf.dispose([a, b]);
    return (2 * 512 ** 3) / ms / 1e6;
  };
  const models = [];
  for (const name of ['small', 'small-vanilla']) {
    const model = PrimerModel.create(presetConfig(name, vocab), { seed: 1 });
    const c = model.config;
    const embeddings =
      c.vocab_size * c.d_model + (c.positional === 'learned' ? c.max_seq_len * c.d_model : 0);
    // Training FLOPs per token: 6 × non-embedding parameters + 12·L·T·C (dense attention);
    // a forward pass is a third of that.
    const flopsPerToken =
      6 * (model.parameterCount - embeddings) + 12 * c.n_layers * c.max_seq_len * c.d_model;
    const trainer = new Trainer(model, data, {
      batchSize: BATCH,
      totalSteps: 1000,
      evalWindows: 1,
    });
    await trainer.run({ steps: 1 }); // warm-up
    const roofBefore = await matMulGflops();
    let stepMs = Number.POSITIVE_INFINITY;
    await trainer.run({
      steps: 1 + steps,
      onEvent: (e) => {
        if (e.type === 'step') stepMs = Math.min(stepMs, e.stepMs);
      },
    });
    const roof = Math.max(roofBefore, await matMulGflops());
    const ids = tf.tensor2d(
      Array.from({ length: BATCH * c.max_seq_len }, (_, i) => (i * 5) % vocab),
      [BATCH, c.max_seq_len],
      'int32',
    );
    const forward = async () => {
      const logits = model.forward(ids, { checkIds: false });
      await logits.data();
      logits.dispose();
    };
    await forward();
    const forwardMs = await best(steps, forward);
    ids.dispose();
    const tokensPerSecond = (BATCH * c.max_seq_len) / (stepMs / 1000);
    const inferenceTokensPerSecond = (BATCH * c.max_seq_len) / (forwardMs / 1000);
    models.push({
      model: name,
      tokensPerSecond,
      gflops: (tokensPerSecond * flopsPerToken) / 1e9,
      inferenceTokensPerSecond,
      inferenceGflops: (inferenceTokensPerSecond * flopsPerToken) / 3 / 1e9,
      roofGflops: roof,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    });
    trainer.dispose();
    model.dispose();
  }

  const model = PrimerModel.create(presetConfig('small', vocab, { max_seq_len: 512 }), { seed: 2 });
  const prompt = Array.from({ length: 256 }, (_, i) => (i * 11) % vocab);
  const cachedAt = async (position) => {
    const decoder = new Decoder(model);
    tf.dispose(decoder.feed([prompt.slice(0, position)]));
    let i = 0;
    const ms = await best(5, () => {
      const logits = decoder.feed([[i++ % vocab]]);
      logits.dataSync();
      logits.dispose();
    });
    decoder.dispose();
    return ms;
  };
  const recompute = () =>
    best(3, () => {
      const logits = model.forward([prompt], { checkIds: false });
      const last = tf.slice(logits, [0, 255, 0], [1, 1, vocab]);
      last.dataSync();
      tf.dispose([logits, last]);
    });
  const generation = {
    cachedMsAt10: await cachedAt(10),
    cachedMsAt250: await cachedAt(250),
    recomputeMsAt256: await recompute(),
  };
  model.dispose();
  return { backend, models, generation };
}

/** The PyTorch reference (interop/pytorch) on the CPU with 2 threads, when torch is installed. */
function pytorch() {
  const python = process.env.PYTHON ?? '/usr/bin/python3';
  const interop = fileURLToPath(new URL('../../../interop/pytorch/', import.meta.url));
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0)
    return { notRun: `${python} cannot import torch (apt-get install -y python3-torch)` };
  const run = spawnSync(python, ['bench_train.py', '--threads', '2', '--steps', String(steps)], {
    cwd: interop,
    encoding: 'utf8',
  });
  if (run.status !== 0) return { notRun: run.stderr.trim().split('\n').at(-1) };
  return {
    models: run.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  };
}

function report({ backends: measured, pytorch: torch }) {
  const pct = (a, b) => `${((100 * a) / b).toFixed(0)}%`;
  console.log(`## Training and inference (small preset, batch ${BATCH} × 128 tokens, AdamW)\n`);
  console.log(
    '| backend | model | train tokens/s | train GFLOP/s | 2-D matMul GFLOP/s (same process) | train / matMul | inference tokens/s | inference / matMul | peak RSS MB |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const { backend, models } of measured)
    for (const m of models)
      console.log(
        `| ${backend} | ${m.model} | ${m.tokensPerSecond.toFixed(0)} | ${m.gflops.toFixed(2)} | ${m.roofGflops.toFixed(2)} | ${pct(m.gflops, m.roofGflops)} | ${m.inferenceTokensPerSecond.toFixed(0)} | ${pct(m.inferenceGflops, m.roofGflops)} | ${m.peakRssMb.toFixed(0)} |`,
      );
  console.log('\n## Generation (small preset with max_seq_len 512, batch 1)\n');
  console.log(
    '| backend | ms/token with KV cache at position 10 | at position 250 | full recompute at context 256 | cache speed-up | position 250 / 10 |',
  );
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const { backend, generation: g } of measured)
    console.log(
      `| ${backend} | ${g.cachedMsAt10.toFixed(2)} | ${g.cachedMsAt250.toFixed(2)} | ${g.recomputeMsAt256.toFixed(2)} | ${(g.recomputeMsAt256 / g.cachedMsAt250).toFixed(1)}× | ${(g.cachedMsAt250 / g.cachedMsAt10).toFixed(2)}× |`,
    );
  if (torch.notRun) {
    console.log(`\nPyTorch side by side: not run (${torch.notRun}).`);
    return;
  }
  console.log(
    `\n## PyTorch ${torch.models[0]?.torch ?? ''} on the CPU (2 threads), same config and batch\n`,
  );
  console.log(
    '| model | PyTorch train tokens/s | ours (best backend) | ours / PyTorch | PyTorch inference tokens/s | ours (best backend) | ours / PyTorch |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const t of torch.models) {
    const ours = measured.flatMap((b) => b.models).filter((m) => m.model === t.model);
    const train = Math.max(...ours.map((m) => m.tokensPerSecond));
    const infer = Math.max(...ours.map((m) => m.inferenceTokensPerSecond));
    console.log(
      `| ${t.model} | ${t.tokens_per_s.toFixed(0)} | ${train.toFixed(0)} | ${(train / t.tokens_per_s).toFixed(2)} | ${t.inference_tokens_per_s.toFixed(0)} | ${infer.toFixed(0)} | ${(infer / t.inference_tokens_per_s).toFixed(2)} |`,
    );
  }
}

function machine() {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node.js ${process.version}`;
}
