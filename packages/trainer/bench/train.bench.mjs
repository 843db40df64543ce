// Training and inference throughput, achieved GFLOP/s against the same backend's 2-D matMul
// roofline, peak RSS, generation speed with the key/value cache versus full recompute, training
// throughput with 1, 2, … data-parallel workers (threads) up to the cores and its scaling; then,
// when python3-torch is installed, the PyTorch reference with the same config and batch, and the
// BLAS its process loaded.
// One invocation; each backend is measured in a process of its own (so one backend's memory and
// kernels cannot slow another's), then everything is printed as Markdown and written as JSON.
// Usage: pnpm bench [-- --backends wasm,cpu --steps 4 --workers 1,2 --json path/to/results.json]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const steps = Number(arg('steps', 4));
const worker = arg('worker', undefined);
const workerCounts = arg(
  'workers',
  Array.from({ length: availableParallelism() }, (_, i) => i + 1).join(','),
)
  .split(',')
  .map(Number);
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
    [
      fileURLToPath(import.meta.url),
      '--worker',
      backend,
      '--steps',
      String(steps),
      '--workers',
      workerCounts.join(','),
    ],
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
  return { backend, models, generation, scaling: await scaling(backend, data, tf) };
}

/**
 * Training and inference tokens/s of `small` with 1, 2, … data-parallel workers: this thread plus
 * worker threads on the same backend (test/replica-worker.mjs), each on a share of the batch.
 * Inference is `evaluate` of one batch of ${BATCH} windows cut into a share per worker (forward and
 * loss: a little more work than the forward alone that the one-thread figure times).
 */
async function scaling(backend, data, tf) {
  const { PrimerModel, presetConfig } = await import('@primer-ez/primer-layers');
  const { evaluate, shareModel, Trainer } = await import('@primer-ez/trainer');
  const { startWorkerThreads } = await import('@primer-ez/trainer/worker-threads');
  const rows = [];
  for (const workers of workerCounts) {
    const replicas =
      workers > 1
        ? startWorkerThreads({
            count: workers - 1,
            script: new URL('../test/replica-worker.mjs', import.meta.url),
            workerData: { backend },
          })
        : undefined;
    const model = PrimerModel.create(presetConfig('small', vocab), { seed: 1 });
    const trainer = new Trainer(model, data, {
      batchSize: BATCH,
      totalSteps: 1000,
      evalWindows: 1,
      workers,
    });
    let stepMs = Number.POSITIVE_INFINITY;
    let inferenceMs = Number.POSITIVE_INFINITY;
    const seqLen = model.config.max_seq_len;
    try {
      await trainer.run({
        steps: 1 + steps,
        ...(replicas ? { replicas } : {}),
        onEvent: (e) => {
          if (e.type === 'step' && e.step > 1) stepMs = Math.min(stepMs, e.stepMs);
        },
      });
      if (replicas) await shareModel(replicas, model);
      const score = () =>
        evaluate(model, data.validation, {
          seqLen,
          batchSize: Math.ceil(BATCH / workers),
          maxWindows: BATCH,
          ...(replicas ? { replicas } : {}),
        });
      await score();
      for (let i = 0; i < steps; i++) {
        const t0 = performance.now();
        await score();
        inferenceMs = Math.min(inferenceMs, performance.now() - t0);
      }
    } finally {
      await replicas?.close();
      trainer.dispose();
      model.dispose();
    }
    rows.push({
      workers,
      tokensPerSecond: (BATCH * seqLen) / (stepMs / 1000),
      inferenceTokensPerSecond: (BATCH * seqLen) / (inferenceMs / 1000),
    });
    if (tf.memory().numTensors > 1000) throw new Error('scaling: tensors leaked');
  }
  return rows;
}

/**
 * Which BLAS a PyTorch process computes with: the build's `BLAS_INFO` (torch.__config__.show();
 * Debian's says `generic`, i.e. whatever libblas.so.3 points to) and the BLAS libraries actually
 * mapped into the process after a matrix product.
 */
function blasProbe() {
  return `
import json, re, torch
a = torch.randn(256, 256); (a @ a).sum()
info = re.search(r"BLAS_INFO=([^,\\s]+)", torch.__config__.show())
libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if re.search(r"blas|mkl", l.split()[-1], re.I)})
print(json.dumps({"torch": torch.__version__, "blasInfo": info.group(1) if info else None, "libraries": libs}))
`;
}

/** The BLAS's name, e.g. `OpenBLAS 0.3.21 (openmp)`, from the libraries the process loaded. */
function blasName({ blasInfo, libraries }) {
  const openblas = libraries.map((l) => l.match(/libopenblas(p?)-r([\d.]+)\.so/)).find(Boolean);
  if (openblas)
    return `OpenBLAS ${openblas[2]}${libraries.some((l) => l.includes('openmp')) ? ' (openmp)' : openblas[1] ? ' (pthreads)' : ''}`;
  if (libraries.some((l) => /mkl/i.test(l))) return 'MKL';
  if (libraries.some((l) => /blas\/libblas/.test(l))) return 'reference BLAS (netlib, unoptimised)';
  return `BLAS_INFO=${blasInfo}: ${libraries.join(', ') || 'no BLAS library loaded'}`;
}

/** The PyTorch reference (interop/pytorch) on the CPU with 2 threads, when torch is installed. */
function pytorch() {
  const python = process.env.PYTHON ?? '/usr/bin/python3';
  const interop = fileURLToPath(new URL('../../../interop/pytorch/', import.meta.url));
  const probe = spawnSync(python, ['-c', blasProbe()], { encoding: 'utf8' });
  if (probe.status !== 0)
    return {
      notRun: `${python} cannot import torch (apt-get install -y python3-torch libopenblas0-openmp)`,
    };
  const blas = JSON.parse(probe.stdout.trim().split('\n').at(-1));
  const run = spawnSync(python, ['bench_train.py', '--threads', '2', '--steps', String(steps)], {
    cwd: interop,
    encoding: 'utf8',
  });
  if (run.status !== 0) return { notRun: run.stderr.trim().split('\n').at(-1) };
  return {
    blas,
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
  console.log(
    `\n## Data-parallel training on ${availableParallelism()} cores (small preset, batch ${BATCH} × 128, AdamW; this thread plus worker threads)\n`,
  );
  console.log(
    '| backend | workers | train tokens/s | speed-up over 1 worker | scaling efficiency | inference (evaluate) tokens/s | speed-up over 1 worker |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const { backend, scaling: rows } of measured) {
    const one = rows.find((r) => r.workers === 1);
    for (const r of rows) {
      const up = one ? r.tokensPerSecond / one.tokensPerSecond : Number.NaN;
      const upInference = one
        ? r.inferenceTokensPerSecond / one.inferenceTokensPerSecond
        : Number.NaN;
      console.log(
        `| ${backend} | ${r.workers} | ${r.tokensPerSecond.toFixed(0)} | ${up.toFixed(2)}× | ${pct(up, r.workers)} | ${r.inferenceTokensPerSecond.toFixed(0)} | ${upInference.toFixed(2)}× |`,
      );
    }
  }
  if (torch.notRun) {
    console.log(`\nPyTorch side by side: not run (${torch.notRun}).`);
    return;
  }
  console.log(
    `\n## PyTorch ${torch.models[0]?.torch ?? ''} on the CPU (2 threads, ${blasName(torch.blas)}), same config and batch\n`,
  );
  console.log(
    '| model | PyTorch train tokens/s | ours (best backend) | ours / PyTorch | PyTorch inference tokens/s | ours (best backend) | ours / PyTorch |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const t of torch.models) {
    const ours = measured.flatMap((b) => b.models).filter((m) => m.model === t.model);
    // The best backend at its best worker count (the scaling runs are of `small`).
    const parallel = t.model === 'small' ? measured.flatMap((b) => b.scaling) : [];
    const train = Math.max(
      ...ours.map((m) => m.tokensPerSecond),
      ...parallel.map((r) => r.tokensPerSecond),
    );
    const infer = Math.max(
      ...ours.map((m) => m.inferenceTokensPerSecond),
      ...parallel.map((r) => r.inferenceTokensPerSecond),
    );
    console.log(
      `| ${t.model} | ${t.tokens_per_s.toFixed(0)} | ${train.toFixed(0)} | ${(train / t.tokens_per_s).toFixed(2)} | ${t.inference_tokens_per_s.toFixed(0)} | ${infer.toFixed(0)} | ${(infer / t.inference_tokens_per_s).toFixed(2)} |`,
    );
  }
}

function machine() {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node.js ${process.version}`;
}
