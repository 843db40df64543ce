// The Web Worker pool, run in Node: each replica is a worker thread behind the small interface
// the pool needs of a Web Worker (postMessage, message and error events, terminate), running
// serveWebReplica (test/web-replica-worker.mjs, this package's build) — real threads, real
// SharedArrayBuffers, wasm everywhere. The browser itself is tested by the demo's
// test/cores.test.ts (headless Chromium, cross-origin isolated).
import { Worker } from 'node:worker_threads';
import { type ConfigInput, PrimerModel } from '@primer-ez/primer-layers';
import { values } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { splitTokens } from './data.js';
import { Trainer } from './trainer.js';
import { startWebWorkers, type WebWorkerLike, WebWorkerPool } from './web-workers.js';

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
const options = { batchSize: 8, lr: 3e-3, warmup: 5, totalSteps: 40, evalWindows: 24 };
const script = new URL('../test/web-replica-worker.mjs', import.meta.url);

/** A worker thread seen as a Web Worker. */
function webWorker(backend: string): WebWorkerLike {
  const worker = new Worker(script, { workerData: { backend } });
  return {
    postMessage: (message: unknown) => worker.postMessage(message),
    addEventListener: (type: 'message' | 'error', listener: (event: never) => void) => {
      if (type === 'message') worker.on('message', (data) => listener({ data } as never));
      else worker.on('error', (error) => listener({ message: error.message } as never));
    },
    terminate: () => void worker.terminate(),
  } as WebWorkerLike;
}

/** Trains a fresh model (seed 1) for `steps`; its weights and validation losses. */
async function train(workers: number, steps: number, replicas?: WebWorkerPool) {
  const model = PrimerModel.create(config, { seed: 1 });
  const trainer = new Trainer(model, data, { ...options, workers });
  const evals: number[] = [];
  const counts: number[] = [];
  await trainer.run({
    steps,
    evalEvery: 3,
    ...(replicas ? { replicas } : {}),
    onEvent: (e) => {
      if (e.type === 'eval') evals.push(e.loss);
      if (e.type === 'step') counts.push(tf.memory().numTensors);
    },
  });
  const weights = model.variables().flatMap((v) => values(v));
  trainer.dispose();
  model.dispose();
  return { weights, evals, counts };
}

beforeAll(async () => {
  await tf.setBackend('wasm');
});

describe('a ReplicaPool of Web Workers', () => {
  it('gives the same numbers, bit for bit, as the two shares computed in turn, with flat memory', async () => {
    const pool = new WebWorkerPool({ count: 1, create: () => webWorker('wasm') });
    try {
      const workers = await train(2, 6, pool);
      const inTurn = await train(2, 6);
      expect(workers.weights).toEqual(inTurn.weights);
      expect(workers.evals).toEqual(inTurn.evals);
      expect(workers.evals[0]).toBeGreaterThan(workers.evals.at(-1)!); // it learned
      expect(new Set(workers.counts.slice(1)).size).toBe(1);
    } finally {
      pool.close();
    }
  });

  it('fails the run with the replica’s reason when its backend does not start, never hangs', async () => {
    const pool = new WebWorkerPool({ count: 1, create: () => webWorker('bogus') });
    const model = PrimerModel.create(config, { seed: 4 });
    const trainer = new Trainer(model, data, { ...options, workers: 2 });
    try {
      await expect(trainer.run({ steps: 2, replicas: pool })).rejects.toThrow(
        /the replicas could not be set up: the replica's backend did not start: .*bogus/,
      );
      expect(trainer.step).toBe(0);
    } finally {
      pool.close();
      trainer.dispose();
      model.dispose();
    }
  });

  it('is refused, naming the headers, where the page is not cross-origin isolated', () => {
    expect(() => startWebWorkers({ count: 1, create: () => webWorker('wasm') })).toThrow(
      /not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/,
    );
    expect(() => startWebWorkers({ count: 0, create: () => webWorker('wasm') })).toThrow(
      /count = 0 must be a positive integer/,
    );
  });
});
