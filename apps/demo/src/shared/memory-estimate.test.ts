import { initBrowserBackend } from '@primer-ez/backend-browser';
import { countParameters, PrimerModel, presetConfig } from '@primer-ez/primer-layers';
import '@primer-ez/tensor-ops';
import { splitTokens, Trainer } from '@primer-ez/trainer';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  estimateMemory,
  fits,
  memoryBudget,
  memoryProblem,
  parameterCount,
} from './memory-estimate.js';
import { type ModelSizes, PRESET_SIZES } from './settings.js';

const VOCAB = 83; // Moby-Dick's characters
const custom: ModelSizes = { d_model: 48, n_heads: 3, n_layers: 3, d_ff: 100, max_seq_len: 40 };

beforeAll(async () => {
  await initBrowserBackend('cpu');
});

describe('parameterCount', () => {
  it("is primer-layers' countParameters for both racers", () => {
    for (const [name, sizes] of [
      ['tiny', PRESET_SIZES.tiny],
      ['small', PRESET_SIZES.small],
      ['tiny', custom],
    ] as const) {
      for (const primer of [true, false]) {
        const preset = primer ? name : (`${name}-vanilla` as const);
        const config = presetConfig(preset, VOCAB, sizes);
        expect(parameterCount(sizes, VOCAB, primer), `${preset} ${JSON.stringify(sizes)}`).toBe(
          countParameters(config),
        );
      }
    }
  });
});

describe('estimateMemory', () => {
  it('covers the peak tf.profile measures for a real training step (Primer EZ, cpu)', async () => {
    const text = 'Call me Ishmael. Some years ago, never mind how long precisely. '.repeat(60);
    const chars = [...new Set(text)];
    const tokens = [...text].map((ch) => chars.indexOf(ch));
    for (const [sizes, batchSize, seqLen] of [
      [PRESET_SIZES.tiny, 8, 32],
      [custom, 4, 40],
    ] as const) {
      const model = PrimerModel.create(presetConfig('tiny', chars.length, sizes), { seed: 0 });
      const trainer = new Trainer(model, splitTokens(tokens), {
        batchSize,
        seqLen,
        lr: 1e-3,
        warmup: 0,
        totalSteps: 3,
        seed: 0,
      });
      await trainer.trainStep(); // the optimiser's moments exist from here on
      const profile = await tf.profile(async () => {
        await trainer.trainStep();
        return [];
      });
      const held = tf.memory().numBytes;
      const estimate = estimateMemory(sizes, batchSize, seqLen, chars.length);
      expect(estimate.total).toBeGreaterThan(Math.max(profile.peakBytes, held));
      // …without being wildly off (the check must not refuse what fits easily).
      expect(estimate.total).toBeLessThan(3 * Math.max(profile.peakBytes, held));
      trainer.dispose();
      model.dispose();
    }
  });

  it('grows with the batch and, faster, with the sequence (attention is T²)', () => {
    const a = estimateMemory(PRESET_SIZES.small, 16, 128, VOCAB);
    const b = estimateMemory(PRESET_SIZES.small, 32, 128, VOCAB);
    const c = estimateMemory(PRESET_SIZES.small, 16, 256, VOCAB);
    expect(b.activations).toBeCloseTo(2 * a.activations, -3);
    expect(c.activations).toBeGreaterThan(b.activations);
    expect(b.parameters).toBe(a.parameters);
  });
});

describe('memoryProblem', () => {
  const wasm = memoryBudget('wasm');

  it('passes the presets on every backend', () => {
    for (const device of ['wasm', 'webgl', 'cpu']) {
      const budget = memoryBudget(device, { deviceMemoryGiB: 4, maxTextureSize: 4096 });
      expect(memoryProblem(PRESET_SIZES.tiny, 16, 32, VOCAB, budget, device)).toBeUndefined();
      expect(memoryProblem(PRESET_SIZES.small, 16, 128, VOCAB, budget, device)).toBeUndefined();
    }
  });

  it('refuses batch 1024 × sequence 1024 and names the largest batch and sequence that fit', () => {
    const sizes = { ...PRESET_SIZES.tiny, max_seq_len: 1024 };
    const problem = memoryProblem(sizes, 1024, 1024, VOCAB, wasm, 'WebAssembly');
    expect(problem).toMatch(
      /^Batch size 1024 × sequence length 1024 needs about \d+ GiB per model on WebAssembly \(parameters .*, optimiser state .*, activations .*\), more than it can give: WebAssembly memory is at most 4 GiB .*\. The largest that fits: batch size (\d+) \(at sequence length 1024\), or sequence length (\d+) \(at batch size 1024\)\.$/,
    );
    const [, batch, seq] = problem!.match(/batch size (\d+) \(at.*sequence length (\d+) \(at/)!;
    expect(fits(estimateMemory(sizes, Number(batch), 1024, VOCAB), wasm)).toBe(true);
    expect(fits(estimateMemory(sizes, Number(batch) + 1, 1024, VOCAB), wasm)).toBe(false);
    expect(fits(estimateMemory(sizes, 1024, Number(seq), VOCAB), wasm)).toBe(true);
    expect(fits(estimateMemory(sizes, 1024, Number(seq) + 1, VOCAB), wasm)).toBe(false);
  });

  it('on WebGL also checks the largest tensor against the texture size', () => {
    const budget = memoryBudget('webgl', { maxTextureSize: 1024 });
    const sizes = { ...PRESET_SIZES.tiny, max_seq_len: 512 };
    expect(memoryProblem(sizes, 8, 512, VOCAB, budget, 'WebGL')).toMatch(
      /one tensor of .* more than a WebGL texture holds \(16 MiB\)/,
    );
  });

  it("takes a quarter of the device's memory per model when that is less", () => {
    expect(memoryBudget('wasm', { deviceMemoryGiB: 2 }).bytes).toBe(512 * 1024 ** 2);
    expect(memoryBudget('wasm', { deviceMemoryGiB: 8 }).bytes).toBe(2 * 1024 ** 3);
    expect(memoryBudget('wasm', { deviceMemoryGiB: 8 }).why).toMatch(/reports 8 GiB/);
  });
});
