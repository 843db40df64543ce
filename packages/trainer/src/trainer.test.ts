import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigInput, PrimerModel } from '@primer-ez/primer-layers';
import { loadCheckpoint } from '@primer-ez/primer-layers/node';
import { describeEachBackend, values } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { splitTokens } from './data.js';
import { RunDirectory, readSnapshotDir } from './node.js';
import { type TrainEvent, Trainer, TrainingError } from './trainer.js';

const config: ConfigInput = {
  vocab_size: 7,
  d_model: 8,
  n_heads: 2,
  n_layers: 1,
  d_ff: 16,
  max_seq_len: 6,
};
// A patterned stream a small model can learn.
const stream = Int32Array.from({ length: 400 }, (_, i) => [0, 1, 2, 3, 1, 4, 5, 6, 2][i % 9]!);
const data = splitTokens(stream);
const small = { batchSize: 4, warmup: 5, totalSteps: 200, evalWindows: 4 };
const scratch = mkdtempSync(join(tmpdir(), 'trainer-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const weights = (model: PrimerModel) => model.variables().flatMap((v) => values(v));

describeEachBackend('Trainer', (backend) => {
  it('keeps tf.memory().numTensors the same from step 1 to step 500', async () => {
    const model = PrimerModel.create({ ...config, dropout: 0.1 }, { seed: 1 });
    const trainer = new Trainer(model, data, {
      ...small,
      batchSize: 2,
      seqLen: 4,
      accumulate: 2,
      totalSteps: 500,
    });
    await trainer.trainStep();
    const after1 = tf.memory().numTensors;
    for (let i = 1; i < 500; i++) await trainer.trainStep();
    expect(trainer.step).toBe(500);
    expect(tf.memory().numTensors).toBe(after1);
    trainer.dispose();
    model.dispose();
  });

  it('learns: the loss falls on a patterned stream', async () => {
    const model = PrimerModel.create(config, { seed: 2 });
    const trainer = new Trainer(model, data, { ...small, lr: 1e-2 });
    const before = (await trainer.validate()).loss;
    for (let i = 0; i < 60; i++) await trainer.trainStep();
    const after = (await trainer.validate()).loss;
    expect(after).toBeLessThan(0.5 * before);
    trainer.dispose();
    model.dispose();
  });

  it('accumulating 2 micro-batches of 4 equals one batch of 8 (same windows)', async () => {
    const run = async (options: object) => {
      const model = PrimerModel.create(config, { seed: 3 });
      const trainer = new Trainer(model, data, { ...small, ...options });
      for (let i = 0; i < 3; i++) await trainer.trainStep();
      // The key convolution's bias adds q·b to every score of a query, which the softmax cancels:
      // its gradient is 0 up to rounding, and AdamW scales that rounding up to steps of ~lr, so
      // it alone depends on the order of summation (it cannot change the model's outputs).
      const w = new Map(
        [...model.params]
          .filter(([name]) => !name.endsWith('k_dconv.bias'))
          .map(([name, v]) => [name, values(v)]),
      );
      trainer.dispose();
      model.dispose();
      return w;
    };
    const one = await run({ batchSize: 8 });
    const two = await run({ batchSize: 4, accumulate: 2 });
    const worst = Math.max(
      ...[...one].flatMap(([name, w]) => w.map((x, i) => Math.abs(x - two.get(name)![i]!))),
    );
    expect(worst).toBeLessThan(1e-6);
  });

  it('stops on a non-finite loss before updating anything, saying what to do', async () => {
    const model = PrimerModel.create(config, { seed: 4 });
    const trainer = new Trainer(model, data, small);
    await trainer.trainStep();
    const w = model.params.get('blocks.0.ffn.up.weight')!;
    w.assign(tf.fill(w.shape, Number.NaN));
    const before = weights(model);
    await expect(trainer.trainStep()).rejects.toThrow(TrainingError);
    await expect(trainer.trainStep()).rejects.toThrow(
      /training loss became NaN at step 2 .* nothing was updated/,
    );
    expect(weights(model)).toEqual(before);
    expect(trainer.step).toBe(1);
    trainer.dispose();
    model.dispose();
  });

  it('runs with events, validation, metrics.jsonl and checkpoints in a run directory', async () => {
    const model = PrimerModel.create(config, { seed: 5 });
    const trainer = new Trainer(model, data, { ...small, totalSteps: 12 });
    const out = await RunDirectory.open(join(scratch, `run-${backend}`), { keep: 2 });
    const events: TrainEvent[] = [];
    await trainer.run({
      evalEvery: 4,
      checkpointEvery: 3,
      sink: out,
      onEvent: async (e) => {
        events.push(e);
        await out.log(e);
      },
    });
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'step')).toHaveLength(12);
    expect(events.filter((e) => e.type === 'eval').map((e) => e.step)).toEqual([4, 8, 12]);
    expect(types.at(-1)).toBe('done');
    const step = events.find((e) => e.type === 'step')!;
    expect(step).toMatchObject({ step: 1, totalSteps: 12 });
    if (step.type === 'step') expect(step.tokensPerSecond).toBeGreaterThan(0);
    const lines = readFileSync(join(out.dir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(15);
    expect(Object.keys(lines[0])).toEqual(
      expect.arrayContaining(['step', 'loss', 'lr', 'tokens_per_s']),
    );
    expect(lines.filter((l) => 'val_loss' in l)).toHaveLength(3);
    // keep 2 periodic plus latest and best; latest is the final step
    const latest = await out.checkpointDir('latest');
    expect(latest).toMatch(/step-000012$/);
    const kept = readdirSync(join(out.dir, 'checkpoints'));
    expect(kept.length).toBeLessThanOrEqual(3);
    expect(kept).toContain('step-000012');
    expect(readdirSync(latest!).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'trainer_state.json',
    ]);
    // each checkpoint directory is a plain model checkpoint too
    const loaded = await loadCheckpoint(latest!);
    expect(weights(loaded)).toEqual(weights(model));
    loaded.dispose();
    trainer.dispose();
    model.dispose();
  });

  it('saves an interrupt checkpoint when aborted', async () => {
    const model = PrimerModel.create(config, { seed: 6 });
    const trainer = new Trainer(model, data, small);
    const out = await RunDirectory.open(join(scratch, `abort-${backend}`));
    const controller = new AbortController();
    const events: TrainEvent[] = [];
    await trainer.run({
      steps: 50,
      sink: out,
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'step' && e.step === 3) controller.abort();
      },
    });
    expect(events.at(-1)).toEqual({ type: 'done', step: 3, reason: 'aborted' });
    expect(events.find((e) => e.type === 'checkpoint')).toMatchObject({
      kind: 'interrupt',
      step: 3,
    });
    expect((await readSnapshotDir((await out.checkpointDir())!)).state.step).toBe(3);
    trainer.dispose();
    model.dispose();
  });

  it('rejects bad options and data, naming them', () => {
    const model = PrimerModel.create(config, { seed: 7 });
    expect(() => new Trainer(model, data, { batchSize: 0 })).toThrow(
      'trainer: batchSize = 0 must be a positive integer.',
    );
    expect(() => new Trainer(model, data, { seqLen: 7 })).toThrow(
      "trainer: seqLen = 7 exceeds the model's max_seq_len 6.",
    );
    expect(() => new Trainer(model, data, { lr: -1 })).toThrow(
      'trainer: lr = -1 must be a positive number.',
    );
    expect(() => new Trainer(model, data, { optimizer: 'sgd' as 'adam' })).toThrow(
      "trainer: optimizer = \"sgd\" must be 'adamw' or 'adam'.",
    );
    const bad = {
      train: Int32Array.from([1, 2, 9, 3, 4, 5, 6, 1, 2]),
      validation: data.validation,
    };
    expect(() => new Trainer(model, bad)).toThrow(
      "the training tokens hold 9 at position 2, outside the model's vocabulary [0, 7); was the text encoded with this model's tokenizer?",
    );
    const short = { train: data.train, validation: data.validation.subarray(0, 3) };
    expect(() => new Trainer(model, short)).toThrow(
      'the validation text has 3 tokens, fewer than one window of seqLen + 1 = 7',
    );
    model.dispose();
  });
});

describe('exact resume (cpu)', () => {
  it('200 steps straight equal 100 + save + resume + 100 (≤ 1e-6)', async () => {
    await tf.setBackend('cpu');
    const options = { ...small, lr: 3e-3, accumulate: 2, gradClip: 0.5, totalSteps: 200 };
    const drop = { ...config, dropout: 0.1 };
    const straight = PrimerModel.create(drop, { seed: 8 });
    const a = new Trainer(straight, data, options);
    for (let i = 0; i < 200; i++) await a.trainStep();

    const first = PrimerModel.create(drop, { seed: 8 });
    const b = new Trainer(first, data, options);
    for (let i = 0; i < 100; i++) await b.trainStep();
    const dir = join(scratch, 'resume');
    const out = await RunDirectory.open(dir);
    const where = await out.save(await b.snapshot(), 'periodic');
    b.dispose();
    first.dispose();
    const resumed = Trainer.restore(await readSnapshotDir(where), data);
    expect(resumed.step).toBe(100);
    for (let i = 0; i < 100; i++) await resumed.trainStep();
    const x = weights(straight);
    const y = weights(resumed.model);
    expect(y.length).toBe(x.length);
    const worst = Math.max(...x.map((v, i) => Math.abs(v - y[i]!)));
    expect(worst).toBeLessThanOrEqual(1e-6);
    expect(resumed.tokensSeen).toBe(a.tokensSeen);
    a.dispose();
    resumed.dispose();
    straight.dispose();
    resumed.model.dispose();
    expect(existsSync(join(dir, 'latest.json'))).toBe(true);
  });
});
