// The training loop's hooks: validation before the first step, pause (an abort that saves nothing
// and lets a later run go on), the step's own time, and why the loop returned.
import { type ConfigInput, PrimerModel } from '@primer-ez/primer-layers';
import { values } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { splitTokens } from './data.js';
import type { TrainerSnapshot } from './state.js';
import { type TrainEvent, Trainer } from './trainer.js';

const config: ConfigInput = {
  vocab_size: 7,
  d_model: 8,
  n_heads: 2,
  n_layers: 1,
  d_ff: 16,
  max_seq_len: 6,
};
const stream = Int32Array.from({ length: 400 }, (_, i) => [0, 1, 2, 3, 1, 4, 5, 6, 2][i % 9]!);
const data = splitTokens(stream);
const options = { batchSize: 4, warmup: 2, totalSteps: 8, evalWindows: 4 };
const weights = (model: PrimerModel) => model.variables().flatMap((v) => values(v));

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Trainer.run hooks (cpu)', () => {
  it('validates at the start without a checkpoint, and times each step', async () => {
    const model = PrimerModel.create(config, { seed: 1 });
    const trainer = new Trainer(model, data, options);
    const events: TrainEvent[] = [];
    const kinds: string[] = [];
    const sink = {
      save: async (_: TrainerSnapshot, kind: string) => {
        kinds.push(kind);
        return kind;
      },
    };
    const end = await trainer.run({
      evalAtStart: true,
      evalEvery: 4,
      checkpointEvery: 4,
      sink,
      onEvent: (e) => void events.push(e),
    });
    expect(end).toBe('finished');
    expect(events.filter((e) => e.type === 'eval').map((e) => e.step)).toEqual([0, 4, 8]);
    // One checkpoint per validation after the first: best (or periodic), then best (or final).
    expect(kinds).toHaveLength(2);
    for (const e of events) if (e.type === 'step') expect(e.stepMs).toBeGreaterThan(0);
    trainer.dispose();
    model.dispose();
  });

  it("onAbort 'pause' saves nothing, and a second run goes on as one run would have", async () => {
    const straight = PrimerModel.create(config, { seed: 2 });
    const a = new Trainer(straight, data, options);
    await a.run();

    const paused = PrimerModel.create(config, { seed: 2 });
    const b = new Trainer(paused, data, options);
    const controller = new AbortController();
    let saves = 0;
    const first = await b.run({
      signal: controller.signal,
      onAbort: 'pause',
      sink: { save: async () => `${++saves}` },
      onEvent: (e) => {
        if (e.type === 'step' && e.step === 3) controller.abort();
      },
    });
    expect(first).toBe('aborted');
    expect(saves).toBe(0);
    expect(b.step).toBe(3);
    expect(await b.run()).toBe('finished');
    expect(weights(paused)).toEqual(weights(straight));
    for (const t of [a, b]) t.dispose();
    straight.dispose();
    paused.dispose();
  });

  it('rejects more workers than windows, naming the option', () => {
    const model = PrimerModel.create(config, { seed: 3 });
    expect(() => new Trainer(model, data, { ...options, workers: 5 })).toThrow(
      'trainer: workers = 5 exceeds batchSize 4: each worker needs at least one window.',
    );
    model.dispose();
  });
});
