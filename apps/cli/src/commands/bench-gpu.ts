// `primer-ez bench --gpu` (`pnpm bench:gpu`): training and inference throughput on the GPU —
// webgpu (Dawn), and cuda where tfjs-node-gpu works — for `small` and `medium` (~43 M parameters,
// a size that fills a GPU), next to PyTorch on the same GPU where it is installed, with achieved
// TFLOP/s. One table on stdout. On a software adapter (SwiftShader) the rows say so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BackendInfo, formatGpuAdapter, initBackend } from '@primer-ez/backend-node';
import {
  countParameters,
  type PrimerConfig,
  PrimerModel,
  presetConfig,
} from '@primer-ez/primer-layers';
import { splitTokens, Trainer } from '@primer-ez/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { type Flags, help, parse } from '../args.js';
import { UsageError } from '../errors.js';
import { best, fastestStep } from './bench.js';

export const BENCH_GPU_FLAGS = {
  gpu: { type: 'boolean', description: 'the GPU benchmark (this table)' },
  presets: {
    type: 'string',
    default: 'small,medium',
    description: 'comma-separated presets (tiny, small, labml, medium)',
  },
  devices: {
    type: 'string',
    default: 'webgpu,cuda',
    description: 'comma-separated GPU devices (webgpu, cuda)',
  },
  steps: {
    type: 'int',
    min: 1,
    default: 5,
    description: 'timed training steps (the fastest counts)',
  },
  'batch-size': { type: 'int', min: 1, default: 16, description: 'windows per step' },
  pytorch: {
    type: 'string',
    default: 'python3',
    description: "Python with PyTorch for the side-by-side ('none' to skip)",
  },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Flags;

const PYTORCH_BENCH = fileURLToPath(
  new URL('../../../../interop/pytorch/bench_train.py', import.meta.url),
);

/**
 * FLOPs per token of one training step (forward + backward) and of a forward pass: 6N and 2N for
 * the matrix multiplies of the N non-embedding weights (the output head included), plus the
 * attention scores and mixing, 12·L·T·C and 4·L·T·C (PaLM's appendix B, without causal savings).
 */
export function flopsPerToken(config: PrimerConfig): { train: number; infer: number } {
  const { d_model: c, max_seq_len: t, n_layers: l, vocab_size: v } = config;
  const embeddings = v * c + (config.positional === 'learned' ? t * c : 0);
  const n = countParameters(config) - embeddings + (config.tie_embeddings ? v * c : 0);
  return { train: 6 * n + 12 * l * t * c, infer: 2 * n + 4 * l * t * c };
}

interface Row {
  backend: string;
  adapter: string;
  model: string;
  params: number;
  train?: number;
  infer?: number;
  flops?: { train: number; infer: number };
  note?: string;
}

/** `primer-ez bench --gpu`. */
export async function benchGpu(argv: string[]): Promise<void> {
  const { values: v } = parse('bench', argv, BENCH_GPU_FLAGS);
  if (v.help)
    return void process.stdout.write(
      help(
        'primer-ez bench --gpu [flags]: training and inference on the GPU, one table',
        BENCH_GPU_FLAGS,
      ),
    );
  const presets = v.presets.split(',').map((p) => p.trim());
  for (const p of presets)
    if (!['tiny', 'small', 'labml', 'medium'].includes(p))
      throw new UsageError(
        `bench --gpu: unknown preset ${p}; choose from tiny, small, labml, medium.`,
      );
  const devices = v.devices.split(',').map((d) => d.trim());
  for (const d of devices)
    if (d !== 'webgpu' && d !== 'cuda')
      throw new UsageError(`bench --gpu: --devices takes webgpu and cuda, not ${d}.`);
  await import('@primer-ez/tensor-ops');
  const batch = v['batch-size'];
  const steps = v.steps;
  const vocab = 65;
  const tokens = Int32Array.from({ length: 200_000 }, (_, i) => (i * 7 + ((i * i) % 13)) % vocab);
  const rows: Row[] = [];
  for (const device of devices) {
    let info: BackendInfo;
    try {
      info = await initBackend(device as 'webgpu' | 'cuda');
    } catch (error) {
      rows.push({
        backend: device,
        adapter: '',
        model: '',
        params: 0,
        note: `not run: ${firstSentence((error as Error).message)}`,
      });
      continue;
    }
    const adapter = info.adapter
      ? formatGpuAdapter(info.adapter)
      : info.devices.join('; ') || info.accelerator;
    const label = info.adapter?.software ? `${device} (SOFTWARE)` : device;
    process.stderr.write(`bench --gpu: ${device} on ${adapter}\n`);
    for (const preset of presets) {
      const config = presetConfig(preset as 'small', vocab);
      const model = PrimerModel.create(config, { seed: 1 });
      const t = config.max_seq_len;
      const trainer = new Trainer(model, splitTokens(tokens), {
        batchSize: batch,
        totalSteps: 1000,
        evalWindows: 1,
      });
      try {
        const trainS = (await fastestStep(trainer, steps)) / 1000;
        const ids = tf.tensor2d(tokens.subarray(0, batch * t), [batch, t], 'int32');
        const forwardS = await best(Math.max(2, steps), async () => {
          const logits = model.forward(ids, { checkIds: false });
          await logits.data();
          logits.dispose();
        });
        ids.dispose();
        rows.push({
          backend: label,
          adapter,
          model: preset,
          params: model.parameterCount,
          train: (batch * t) / trainS,
          infer: (batch * t) / forwardS,
          flops: flopsPerToken(config),
        });
      } catch (error) {
        rows.push({
          backend: label,
          adapter,
          model: preset,
          params: model.parameterCount,
          note: `failed: ${(error as Error).message.split('\n')[0]}`,
        });
      } finally {
        trainer.dispose();
        model.dispose();
      }
    }
  }
  rows.push(...pytorchRows(v.pytorch, presets, batch, steps));
  process.stdout.write(table(rows));
}

/** PyTorch on the same GPU (CUDA or Apple's MPS), through interop/pytorch/bench_train.py. */
function pytorchRows(python: string, presets: string[], batch: number, steps: number): Row[] {
  const row = (note: string): Row[] => [
    { backend: 'pytorch', adapter: '', model: '', params: 0, note },
  ];
  if (python === 'none') return row('not run: --pytorch none');
  if (!existsSync(PYTORCH_BENCH))
    return row(`not run: ${PYTORCH_BENCH} is not here (a source checkout has it)`);
  const probe = spawnSync(
    python,
    [
      '-c',
      "import torch; print('cuda' if torch.cuda.is_available() else 'mps' if torch.backends.mps.is_available() else 'none')",
    ],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) return row(`not run: ${python} has no PyTorch (pip install torch)`);
  const device = probe.stdout.trim();
  if (device === 'none')
    return row('not run: PyTorch sees no GPU (torch.cuda.is_available() is False)');
  const rows: Row[] = [];
  for (const preset of presets) {
    const r = spawnSync(
      python,
      [
        PYTORCH_BENCH,
        '--device',
        device,
        '--preset',
        preset,
        '--batch',
        String(batch),
        '--steps',
        String(steps),
        '--no-vanilla',
      ],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) {
      rows.push(...row(`failed on ${preset}: ${(r.stderr || '').trim().split('\n').pop()}`));
      continue;
    }
    const result = JSON.parse(r.stdout.trim().split('\n')[0] ?? '{}');
    const config = presetConfig(preset as 'small', 65);
    rows.push({
      backend: `pytorch ${result.torch} (${device})`,
      adapter: result.gpu ?? device,
      model: preset,
      params: countParameters(config),
      train: result.tokens_per_s,
      infer: result.inference_tokens_per_s,
      flops: flopsPerToken(config),
    });
  }
  return rows;
}

function table(rows: Row[]): string {
  const fmt = (x: number) => Math.round(x).toLocaleString('en');
  const tflops = (tokensPerS: number, flops: number) =>
    ((tokensPerS * flops) / 1e12).toPrecision(3);
  const lines = [
    '| backend | adapter / GPU | model | parameters | train tokens/s | train TFLOP/s | inference tokens/s | inference TFLOP/s |',
    '|---|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    if (r.note !== undefined) {
      lines.push(
        `| ${r.backend} | ${r.adapter} | ${r.model} | ${r.params ? fmt(r.params) : ''} | ${r.note} | | | |`,
      );
      continue;
    }
    lines.push(
      `| ${r.backend} | ${r.adapter} | ${r.model} | ${fmt(r.params)} | ${fmt(r.train!)} | ${tflops(r.train!, r.flops!.train)} | ${fmt(r.infer!)} | ${tflops(r.infer!, r.flops!.infer)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The first sentence of a message (the rest is in `primer-ez info --backend …`). */
function firstSentence(text: string): string {
  const line = text.split('\n')[0] ?? '';
  const end = line.search(/\.\s/);
  return end < 0 ? line : line.slice(0, end + 1);
}
