import { initBackend, NODE_DEVICES } from '@primer-ez/backend-node';
import { Decoder, PrimerModel, presetConfig } from '@primer-ez/primer-layers';
import { type ReplicaPool, splitTokens, Trainer } from '@primer-ez/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { type Flags, help, PRESET_SIZES, parse } from '../args.js';
import { UsageError } from '../errors.js';
import { resolveWorkers, startReplicas, WORKERS_FLAG } from '../workers.js';

export const BENCH_FLAGS = {
  preset: {
    type: 'enum',
    values: PRESET_SIZES,
    default: 'small',
    description: 'model size',
  },
  steps: { type: 'int', min: 1, default: 3, description: 'timed training steps per backend' },
  'batch-size': { type: 'int', min: 1, default: 32, description: 'windows per step' },
  backends: {
    type: 'string',
    description: 'comma-separated devices (default: every one that initialises)',
  },
  ...WORKERS_FLAG,
  gpu: {
    type: 'boolean',
    description: 'the GPU benchmark instead (webgpu, cuda, PyTorch; see bench --gpu --help)',
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Flags;

/** `primer-ez bench`: training, forward and generation throughput on each available backend. */
export async function bench(argv: string[]): Promise<void> {
  // The GPU benchmark is its own table (bench-gpu.ts); `pnpm bench:gpu` runs it.
  if (argv.includes('--gpu')) return (await import('./bench-gpu.js')).benchGpu(argv);
  const { values: v } = parse('bench', argv, BENCH_FLAGS);
  if (v.help)
    return void process.stdout.write(
      help('primer-ez bench [flags]: throughput on each available backend', BENCH_FLAGS),
    );
  const devices = v.backends ? v.backends.split(',') : NODE_DEVICES.filter((d) => d !== 'auto');
  for (const d of devices)
    if (!NODE_DEVICES.includes(d as never))
      throw new UsageError(`bench: unknown backend ${d}; choose from ${NODE_DEVICES.join(', ')}.`);
  await import('@primer-ez/tensor-ops');
  const vocab = 65;
  const tokens = Int32Array.from({ length: 100_000 }, (_, i) => (i * 7 + ((i * i) % 13)) % vocab);
  const batch = v['batch-size'];
  process.stdout.write(
    `| backend | model | workers | train tokens/s | forward tokens/s | generate tokens/s (KV cache) |\n|---|---|---:|---:|---:|---:|\n`,
  );
  for (const device of devices) {
    let info: Awaited<ReturnType<typeof initBackend>>;
    try {
      info = await initBackend(device as never);
    } catch (error) {
      process.stdout.write(
        `| ${device} | skipped: ${(error as Error).message.split('\n')[0]} | | | | |\n`,
      );
      continue;
    }
    const workers = resolveWorkers(v.workers, info, batch);
    const replicas = startReplicas(workers, info);
    try {
      for (const arch of ['', '-vanilla']) {
        const name = `${v.preset}${arch}` as Parameters<typeof presetConfig>[0];
        const model = PrimerModel.create(presetConfig(name, vocab), { seed: 1 });
        const t = model.config.max_seq_len;
        const trainer = new Trainer(model, splitTokens(tokens), {
          batchSize: batch,
          totalSteps: 1000,
          evalWindows: 1,
          workers,
        });
        const trainMs = (await fastestStep(trainer, v.steps, replicas)) / 1000;
        const ids = tf.tensor2d(tokens.subarray(0, batch * t), [batch, t], 'int32');
        const forwardMs = await best(3, async () => {
          const logits = model.forward(ids, { checkIds: false });
          await logits.data();
          logits.dispose();
        });
        const decoder = new Decoder(model);
        tf.dispose(decoder.feed([[1]]));
        const genMs = await best(20, async () => {
          const logits = decoder.feed([[2]]);
          await logits.data();
          logits.dispose();
        });
        process.stdout.write(
          `| ${device} | ${name} | ${workers} | ${fmt((batch * t) / trainMs)} | ${fmt((batch * t) / forwardMs)} | ${fmt(1 / genMs)} |\n`,
        );
        decoder.dispose();
        ids.dispose();
        trainer.dispose();
        model.dispose();
      }
    } finally {
      await replicas?.close();
    }
  }
}

/** The fastest of `steps` training steps (ms), after one to warm up, timed by the trainer's loop. */
export async function fastestStep(
  trainer: Trainer,
  steps: number,
  replicas?: ReplicaPool,
): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  await trainer.run({
    steps: trainer.step + 1 + steps,
    ...(replicas ? { replicas } : {}),
    onEvent: (e) => {
      if (e.type === 'step' && e.step > 1) fastest = Math.min(fastest, e.stepMs);
    },
  });
  return fastest;
}

export async function best(n: number, fn: () => Promise<unknown>): Promise<number> {
  let ms = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms / 1000;
}

const fmt = (x: number) => Math.round(x).toLocaleString('en');
