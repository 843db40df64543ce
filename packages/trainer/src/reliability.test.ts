import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigInput, PrimerModel } from '@primer-ez/primer-layers';
import { values } from '@primer-ez/test-utils';
import { trainCharTokenizer } from '@primer-ez/tokenizer';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitTokens } from './data.js';
import { evaluate } from './evaluate.js';
import { RunDirectory, readSnapshotDir } from './node.js';
import { clipByGlobalNorm } from './optim.js';
import { generate, generateText, MAX_NEW_TOKENS } from './sample.js';
import { type TrainEvent, Trainer, TrainingError, validateTrainerState } from './trainer.js';

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
const small = { batchSize: 4, warmup: 5, totalSteps: 200, evalWindows: 4 };
const scratch = mkdtempSync(join(tmpdir(), 'trainer-reliability-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const weights = (model: PrimerModel) => model.variables().flatMap((v) => values(v));
const moments = (trainer: Trainer) =>
  [...trainer.optimizer.moments()].flatMap(([, t]) => values(t));

/** Sets one parameter to NaN, returning a function that puts the original values back. */
function poison(model: PrimerModel, name = 'blocks.0.ffn.up.weight'): () => void {
  const w = model.params.get(name)!;
  const saved = tf.clone(w);
  w.assign(tf.fill(w.shape, Number.NaN));
  return () => {
    w.assign(saved);
    saved.dispose();
  };
}

describe('non-finite losses and gradients (cpu)', () => {
  it("nonFinite: 'skip' leaves weights and moments untouched, then trains on", async () => {
    const model = PrimerModel.create(config, { seed: 4 });
    const trainer = new Trainer(model, data, { ...small, nonFinite: 'skip' });
    await trainer.trainStep();
    const heal = poison(model);
    const [w, m] = [weights(model), moments(trainer)];
    const skipped = await trainer.trainStep();
    expect(skipped).toMatchObject({ step: 2, skipped: true });
    expect(Number.isNaN(skipped.loss)).toBe(true);
    expect(weights(model)).toEqual(w);
    expect(moments(trainer)).toEqual(m);
    expect(trainer.step).toBe(2);
    heal();
    const before = weights(model);
    const next = await trainer.trainStep();
    expect(next).toMatchObject({ step: 3, skipped: false });
    expect(weights(model)).not.toEqual(before);
    trainer.dispose();
    model.dispose();
  });

  it('stops after maxSkips non-finite steps in a row, naming the limit', async () => {
    const model = PrimerModel.create(config, { seed: 4 });
    const trainer = new Trainer(model, data, { ...small, nonFinite: 'skip', maxSkips: 2 });
    poison(model);
    expect((await trainer.trainStep()).skipped).toBe(true);
    expect((await trainer.trainStep()).skipped).toBe(true);
    await expect(trainer.trainStep()).rejects.toThrow(
      /training loss became NaN at step 3 .*after 2 skipped steps in a row \(maxSkips 2\)/,
    );
    trainer.dispose();
    model.dispose();
  });

  it('run() logs skipped steps and keeps tf.memory() flat while skipping', async () => {
    const model = PrimerModel.create(config, { seed: 5 });
    const trainer = new Trainer(model, data, { ...small, nonFinite: 'skip', maxSkips: 100 });
    await trainer.trainStep();
    const heal = poison(model);
    const tensors = tf.memory().numTensors;
    const events: TrainEvent[] = [];
    await trainer.run({ steps: 6, onEvent: (e) => void events.push(e) });
    const steps = events.filter((e) => e.type === 'step');
    expect(steps.map((e) => e.skipped)).toEqual([true, true, true, true, true]);
    expect(tf.memory().numTensors).toBe(tensors);
    heal();
    trainer.dispose();
    model.dispose();
  });

  it('never saves a state holding NaN: the previous checkpoint stays', async () => {
    const model = PrimerModel.create(config, { seed: 6 });
    const trainer = new Trainer(model, data, small);
    const out = await RunDirectory.open(join(scratch, 'nan-save'));
    await trainer.run({ steps: 2, checkpointEvery: 1, sink: out });
    const good = await out.checkpointDir();
    poison(model, 'embed.weight');
    await expect(trainer.run({ steps: 4, checkpointEvery: 1, sink: out })).rejects.toThrow(
      /training loss became NaN at step 3/,
    );
    await expect(trainer.snapshot()).rejects.toThrow(
      "parameter 'embed.weight' holds NaN or Inf at step 2; refusing to save this state",
    );
    expect(await out.checkpointDir()).toBe(good);
    expect((await readSnapshotDir(good!)).state.step).toBe(2);
    trainer.dispose();
    model.dispose();
  });
});

describe('options and saved state are checked at the boundary', () => {
  it('rejects bad and unknown options, naming them', () => {
    const model = PrimerModel.create(config, { seed: 7 });
    expect(() => new Trainer(model, data, { beta2: 1 })).toThrow(
      'trainer: beta2 = 1 must be in [0, 1).',
    );
    expect(() => new Trainer(model, data, { eps: 0 })).toThrow(
      'trainer: eps = 0 must be a positive number.',
    );
    expect(() => new Trainer(model, data, { nonFinite: 'ignore' as 'skip' })).toThrow(
      `trainer: nonFinite = "ignore" must be 'stop' or 'skip'.`,
    );
    expect(() => new Trainer(model, data, { learningRate: 1 } as object)).toThrow(
      /trainer: unknown option\(s\) learningRate; the options are batchSize, lr, /,
    );
    expect(() => new Trainer(model, data, JSON.parse('{"__proto__": {"x": 1}}'))).toThrow(
      /unknown option\(s\) __proto__/,
    );
    model.dispose();
  });

  it('validates trainer_state.json field by field', () => {
    const good = {
      format: 'primer-ez-trainer-state',
      version: 1,
      step: 3,
      rng: [1, 2, 3, 4],
      bestValLoss: null,
      tokensSeen: 12,
      elapsedMs: 5,
      options: {},
    };
    expect(validateTrainerState(good)).toBe(good);
    const cases: [object | null, RegExp][] = [
      [null, /not a JSON object/],
      [{ ...good, version: 2 }, /version 2 is not a primer-ez trainer state/],
      [{ ...good, step: -1 }, /step = -1 is not an integer ≥ 0; the checkpoint is damaged/],
      [{ ...good, step: 1.5 }, /step = 1.5 is not an integer/],
      [{ ...good, tokensSeen: '12' }, /tokensSeen = "12" is not an integer/],
      [{ ...good, bestValLoss: 'x' }, /bestValLoss = "x" is neither null nor a number/],
      [{ ...good, rng: [1, 2, 3] }, /rng = \[1,2,3\] is not a generator state/],
      [{ ...good, rng: [1, 2, 3, 2 ** 32] }, /rng = .* is not a generator state/],
      [{ ...good, elapsedMs: -5 }, /elapsedMs = -5 is not a duration/],
      [{ ...good, options: [] }, /options = \[\] is not an object/],
    ];
    for (const [state, message] of cases) {
      expect(() => validateTrainerState(state)).toThrow(TrainingError);
      expect(() => validateTrainerState(state)).toThrow(message);
    }
  });
});

describe('RunDirectory recovers from a save killed at any point', () => {
  /** A run directory with checkpoints at steps 1 and 2 (latest → 2). */
  async function run(name: string): Promise<string> {
    const model = PrimerModel.create(config, { seed: 8 });
    const trainer = new Trainer(model, data, small);
    const dir = join(scratch, name);
    await trainer.run({ steps: 2, checkpointEvery: 1, sink: await RunDirectory.open(dir) });
    trainer.dispose();
    model.dispose();
    return dir;
  }
  const ckpt = (dir: string, step: number) => join(dir, 'checkpoints', `step-00000${step}`);

  it('removes temporary directories and files left by a killed save', async () => {
    const dir = await run('leftovers');
    mkdirSync(`${ckpt(dir, 3)}.tmp-0a1b2c3d`);
    writeFileSync(join(`${ckpt(dir, 3)}.tmp-0a1b2c3d`, 'model.safetensors'), 'half');
    writeFileSync(join(dir, 'latest.json.0123456789ab.tmp'), '{"checkp');
    const out = await RunDirectory.open(dir);
    expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(['step-000001', 'step-000002']);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await out.checkpointDir()).toBe(ckpt(dir, 2));
  });

  it('moves back a checkpoint set aside for a replacement that never landed', async () => {
    const dir = await run('set-aside');
    renameSync(ckpt(dir, 2), `${ckpt(dir, 2)}.old-deadbeef`);
    const out = await RunDirectory.open(dir);
    expect(await out.checkpointDir()).toBe(ckpt(dir, 2));
    expect((await readSnapshotDir(ckpt(dir, 2))).state.step).toBe(2);
    expect(readdirSync(join(dir, 'checkpoints')).sort()).toEqual(['step-000001', 'step-000002']);
  });

  it('falls back to the newest complete checkpoint when latest.json is unusable', async () => {
    for (const [name, pointer] of [
      ['pointer-missing-dir', '{"checkpoint": "checkpoints/step-000009", "step": 9}'],
      ['pointer-truncated', '{"checkpoint": "checkpoints/st'],
      ['pointer-hostile', '{"checkpoint": "../../../etc", "step": 2}'],
    ] as const) {
      const dir = await run(name);
      writeFileSync(join(dir, 'latest.json'), pointer);
      expect(await (await RunDirectory.open(dir)).checkpointDir()).toBe(ckpt(dir, 2));
    }
    const dir = await run('incomplete-newest');
    rmSync(join(ckpt(dir, 2), 'optimizer.safetensors'));
    expect(await (await RunDirectory.open(dir)).checkpointDir()).toBe(ckpt(dir, 1));
  });
});

describe('abort signals fire during long loops (timers are not starved)', () => {
  it('AbortSignal.timeout stops a huge generation; beyond MAX_NEW_TOKENS is refused', async () => {
    const tokenizer = trainCharTokenizer('abcdefg');
    const model = PrimerModel.create(config, { seed: 9 });
    const result = await generateText(model, tokenizer, 'ab', {
      maxNewTokens: MAX_NEW_TOKENS,
      signal: AbortSignal.timeout(300),
      seed: 1,
    });
    expect(result.stoppedBy).toBe('abort');
    expect(result.tokens.length).toBeGreaterThan(0);
    expect(result.tokens.length).toBeLessThan(MAX_NEW_TOKENS);
    await expect(
      generateText(model, tokenizer, 'ab', { maxNewTokens: MAX_NEW_TOKENS + 1 }),
    ).rejects.toThrow(
      `maxNewTokens = ${MAX_NEW_TOKENS + 1} must be an integer in [0, ${MAX_NEW_TOKENS}]; for longer texts, generate again`,
    );
    model.dispose();
  });

  it('AbortSignal.timeout stops Trainer.run even when no event handler does I/O', async () => {
    const model = PrimerModel.create(config, { seed: 10 });
    const trainer = new Trainer(model, data, { ...small, totalSteps: 1_000_000 });
    const events: TrainEvent[] = [];
    await trainer.run({ signal: AbortSignal.timeout(300), onEvent: (e) => void events.push(e) });
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'aborted' });
    expect(trainer.step).toBeGreaterThan(0);
    trainer.dispose();
    model.dispose();
  });
});

describe('bad arguments are refused at the API boundary', () => {
  it('generate and evaluate name the argument and what it must be', async () => {
    const tokenizer = trainCharTokenizer('abcdefg');
    const model = PrimerModel.create(config, { seed: 11 });
    const bad = (x: unknown) => x as never;
    expect(() => generate(bad({}), tokenizer, 'ab')).toThrow(
      'generate: model must be a PrimerModel (PrimerModel.create or loadCheckpoint); got an object.',
    );
    expect(() => generate(model, bad([1, 2]), 'ab')).toThrow(
      'generate: tokenizer must be a @primer-ez/tokenizer Tokenizer (the one the model was trained with); got an array of length 2.',
    );
    expect(() => generate(model, tokenizer, bad([1, 2]))).toThrow(
      'generate: prompt must be a string; got an array of length 2.',
    );
    await expect(evaluate(model, data.validation, { seqLen: 0 })).rejects.toThrow(
      'evaluate: seqLen = 0 must be a positive integer.',
    );
    await expect(evaluate(model, [1, 2, 3.5, 4, 5, 6, 1, 2, 3], { seqLen: 4 })).rejects.toThrow(
      'evaluate: token 2 is 3.5, not an integer token id.',
    );
    model.dispose();
  });
});

describe('no tensors outlive their owner (cpu)', () => {
  it('Trainer construction, restore and a failed restore leave tf.memory() as it was', async () => {
    const model = PrimerModel.create(config, { seed: 12 });
    const before = tf.memory().numTensors;
    const trainer = new Trainer(model, data, small);
    await trainer.trainStep();
    const snapshot = await trainer.snapshot();
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    const empty = tf.memory().numTensors;
    const restored = Trainer.restore(snapshot, data);
    expect(restored.step).toBe(1);
    restored.dispose();
    restored.model.dispose();
    expect(tf.memory().numTensors).toBe(empty);
    expect(() => Trainer.restore(snapshot, data, { batchSize: 0 })).toThrow(/batchSize = 0/);
    const broken = { ...snapshot, optimizer: snapshot.optimizer.slice(0, 100) };
    expect(() => Trainer.restore(broken, data)).toThrow();
    expect(tf.memory().numTensors).toBe(empty);
  });

  it('clipByGlobalNorm over many gradients equals the norm of their concatenation', () => {
    const grads = new Map(
      Array.from({ length: 40 }, (_, i) => [`g${i}`, tf.fill([3], i / 10)] as const),
    );
    const { grads: clipped, norm } = clipByGlobalNorm(grads, 1);
    const expected = Math.sqrt(
      Array.from({ length: 40 }, (_, i) => 3 * (i / 10) ** 2).reduce((a, b) => a + b),
    );
    expect(norm.dataSync()[0]).toBeCloseTo(expected, 4);
    tf.dispose([...grads.values(), ...clipped.values(), norm]);
  });
});
