// Data-parallel training over worker threads, on wasm in every thread (the worker entry is
// test/replica-worker.mjs, which loads this package's build): the same training as one worker
// up to summation order, the same numbers as the shares computed in turn, exact resume with the
// same worker count, validation spread over the threads, and a crashing worker stopping the run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigInput, PrimerModel } from '@primer-ez/primer-layers';
import { values } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitTokens } from './data.js';
import { ReplicaError } from './errors.js';
import { evaluate } from './evaluate.js';
import { RunDirectory, readSnapshotDir } from './node.js';
import { shareModel } from './parallel.js';
import { type TrainEvent, Trainer } from './trainer.js';
import { startWorkerThreads, type WorkerThreadPool } from './worker-threads.js';

const config: ConfigInput = {
  vocab_size: 7,
  d_model: 16,
  n_heads: 2,
  n_layers: 1,
  d_ff: 32,
  max_seq_len: 8,
};
const stream = Int32Array.from({ length: 2000 }, (_, i) => [0, 1, 2, 3, 1, 4, 5, 6, 2][i % 9]!);
const data = splitTokens(stream);
const options = {
  batchSize: 8,
  lr: 3e-3,
  warmup: 5,
  totalSteps: 40,
  evalWindows: 24,
  evalBatchSize: 4,
};
const script = new URL('../test/replica-worker.mjs', import.meta.url);
const weights = (model: PrimerModel) => model.variables().flatMap((v) => values(v));
const scratch = mkdtempSync(join(tmpdir(), 'trainer-threads-'));
let pool: WorkerThreadPool;

beforeAll(async () => {
  await tf.setBackend('wasm');
  pool = startWorkerThreads({ count: 1, script, workerData: { backend: 'wasm' } });
});
afterAll(async () => {
  await pool.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Trains a fresh model (seed 1) for `steps`, returning its weights and last validation loss. */
async function train(workers: number, steps: number, replicas?: WorkerThreadPool) {
  const model = PrimerModel.create(config, { seed: 1 });
  const trainer = new Trainer(model, data, { ...options, workers });
  const evals: number[] = [];
  await trainer.run({
    steps,
    evalEvery: 10,
    ...(replicas ? { replicas } : {}),
    onEvent: (e) => {
      if (e.type === 'eval') evals.push(e.loss);
    },
  });
  const w = weights(model);
  trainer.dispose();
  model.dispose();
  return { weights: w, loss: evals.at(-1)!, evals };
}

describe('data-parallel training on worker threads (wasm)', () => {
  it('trains as one worker does: validation losses within 0.01 after 30 steps', async () => {
    const one = await train(1, 30);
    const two = await train(2, 30, pool);
    expect(one.evals[0]).toBeGreaterThan(one.loss + 0.1); // it learned something
    for (const [i, loss] of two.evals.entries())
      expect(Math.abs(loss - one.evals[i]!)).toBeLessThan(0.01);
  });

  it('gives the same numbers, bit for bit, as the two shares computed in turn', async () => {
    const threads = await train(2, 6, pool);
    const inTurn = await train(2, 6);
    expect(threads.weights).toEqual(inTurn.weights);
    expect(threads.loss).toBe(inTurn.loss);
  });

  it('spreads validation over the threads with the one-thread result exactly', async () => {
    const model = PrimerModel.create(config, { seed: 2 });
    const trainer = new Trainer(model, data, { ...options, workers: 2 });
    const alone = await trainer.validate();
    let spread: number | undefined;
    await trainer.run({
      steps: 1,
      evalAtStart: true,
      replicas: pool,
      onEvent: (e) => {
        if (e.type === 'eval' && e.step === 0) spread = e.loss;
      },
    });
    expect(spread).toBe(alone.loss);
    trainer.dispose();
    model.dispose();
  });

  it('evaluates a token stream over the threads with the one-thread result exactly', async () => {
    const model = PrimerModel.create(config, { seed: 5 });
    const before = tf.memory().numTensors;
    const alone = await evaluate(model, data.validation, { seqLen: 6, batchSize: 3 });
    expect(alone.windows).toBeGreaterThan(12); // several rounds, and batches of both threads
    await shareModel(pool, model);
    const spread = await evaluate(model, data.validation, {
      seqLen: 6,
      batchSize: 3,
      replicas: pool,
    });
    expect(spread).toEqual(alone);
    // The thread scores with the weights it was given: change them here only, and it differs.
    tf.tidy(() => {
      const head = model.variables()[0]!;
      head.assign(tf.mul(head, 2));
    });
    const stale = await evaluate(model, data.validation, {
      seqLen: 6,
      batchSize: 3,
      replicas: pool,
    });
    const fresh = await evaluate(model, data.validation, { seqLen: 6, batchSize: 3 });
    expect(stale.loss).not.toBe(fresh.loss);
    await shareModel(pool, model);
    expect(
      (await evaluate(model, data.validation, { seqLen: 6, batchSize: 3, replicas: pool })).loss,
    ).toBe(fresh.loss);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('resumes exactly with the same worker count, keeping tf.memory() flat', async () => {
    const straight = await train(2, 12, pool);
    const model = PrimerModel.create(config, { seed: 1 });
    const first = new Trainer(model, data, { ...options, workers: 2 });
    const counts: number[] = [];
    await first.run({
      steps: 6,
      replicas: pool,
      onEvent: (e) => {
        if (e.type === 'step') counts.push(tf.memory().numTensors);
      },
    });
    expect(new Set(counts.slice(1)).size).toBe(1);
    const snapshot = await first.snapshot();
    first.dispose();
    model.dispose();
    const resumed = Trainer.restore(snapshot, data);
    await resumed.run({ steps: 12, evalEvery: 10, replicas: pool });
    expect(weights(resumed.model)).toEqual(straight.weights);
    resumed.dispose();
    resumed.model.dispose();
  });

  it('says so when a worker thread cannot start (its backend fails)', async () => {
    const broken = startWorkerThreads({ count: 1, script, workerData: { backend: 'bogus' } });
    const model = PrimerModel.create(config, { seed: 4 });
    const trainer = new Trainer(model, data, { ...options, workers: 2 });
    try {
      await expect(trainer.run({ steps: 2, replicas: broken })).rejects.toThrow(
        /the replicas could not be set up: worker thread 1 of 1 failed: .*bogus/,
      );
      expect(trainer.step).toBe(0);
    } finally {
      await broken.close();
      trainer.dispose();
      model.dispose();
    }
  });

  it('stops with a clear error and a valid checkpoint when a worker thread dies', async () => {
    const failing = startWorkerThreads({
      count: 1,
      script,
      workerData: { backend: 'wasm', failAt: 3 },
    });
    const model = PrimerModel.create(config, { seed: 3 });
    const trainer = new Trainer(model, data, { ...options, workers: 2 });
    const out = await RunDirectory.open(join(scratch, 'dies'));
    const events: TrainEvent[] = [];
    try {
      await expect(
        trainer.run({
          steps: 10,
          sink: out,
          replicas: failing,
          onEvent: (e) => void events.push(e),
        }),
      ).rejects.toThrow(
        /a worker failed at step 3: worker thread 1 of 1 failed: injected failure in a worker thread/,
      );
      expect(events.at(-1)).toMatchObject({ type: 'checkpoint', kind: 'interrupt', step: 2 });
      const saved = await readSnapshotDir((await out.checkpointDir('latest'))!);
      expect(saved.state.step).toBe(2);
      // The pool stays failed: a later run fails at once instead of waiting on a dead thread.
      await expect(trainer.run({ steps: 10, replicas: failing })).rejects.toThrow(ReplicaError);
    } finally {
      await failing.close();
      trainer.dispose();
      model.dispose();
    }
  });
});
