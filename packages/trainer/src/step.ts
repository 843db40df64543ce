// The gradient of one optimiser step: `accumulate` micro-batches, each cut into `workers` shares
// (computed on a replica pool, or one after the other on the trainer's own model), averaged.
import type { PrimerModel } from '@primer-ez/primer-layers';
import * as tf from '@tensorflow/tfjs-core';
import type { BatchSampler } from './data.js';
import { ReplicaError } from './errors.js';
import type { TrainerOptions } from './options.js';
import {
  batchGradients,
  type GradientResult,
  type ParameterSlot,
  type ReplicaPool,
  shareGradients,
} from './replicas.js';

/** What a step's gradient needs from the trainer. */
export interface StepInputs {
  model: PrimerModel;
  sampler: BatchSampler;
  options: TrainerOptions;
  /** Checkpoint names by tfjs variable name. */
  names: ReadonlyMap<string, string>;
  layout: ParameterSlot[];
  /** Replicas for shares 2…, holding the model's current weights; none: all shares run here. */
  replicas: ReplicaPool | undefined;
}

/** The summed gradients (by checkpoint name) and summed loss of a step's micro-batches. */
export interface StepGradients {
  sum: Map<string, tf.Tensor>;
  lossSum: tf.Tensor;
}

/** Seed of the dropout masks of a micro-batch's share (share 0 keeps the one-worker seed). */
export function dropoutSeed(seed: number, step: number, micro: number, share: number): number {
  return (seed * 1_000_003 + step * 131 + micro + share * 2_654_435_761) % 2 ** 31;
}

/**
 * Sums the gradients and losses of `accumulate` micro-batches (the caller disposes them, and
 * divides by `accumulate`). A micro-batch of `workers` shares weighs each share's gradient by its
 * share of the windows, so the result is the whole batch's mean gradient up to summation order.
 */
export async function stepGradients(inputs: StepInputs, step: number): Promise<StepGradients> {
  const { model, sampler, options: o, names } = inputs;
  let sum: Map<string, tf.Tensor> | undefined;
  let lossSum: tf.Tensor = tf.scalar(0);
  try {
    for (let micro = 0; micro < o.accumulate; micro++) {
      let value: tf.Tensor;
      let grads: Map<string, tf.Tensor>;
      if (o.workers === 1) {
        const batch = sampler.next();
        const seed = dropoutSeed(o.seed, step, micro, 0);
        try {
          ({ loss: value, grads } = batchGradients(model, batch.ids, batch.targets, seed, names));
        } finally {
          tf.dispose([batch.ids, batch.targets]);
        }
      } else {
        ({ value, grads } = await shardedGradients(inputs, step, micro));
      }
      const previous = sum;
      sum = previous
        ? new Map([...grads].map(([name, g]) => [name, tf.keep(tf.add(previous.get(name)!, g))]))
        : grads;
      if (previous) tf.dispose([...previous.values(), ...grads.values()]);
      const total = tf.add(lossSum, value);
      tf.dispose([lossSum, value]);
      lossSum = total;
    }
    return { sum: sum!, lossSum };
  } catch (error) {
    if (sum) tf.dispose([...sum.values()]);
    lossSum.dispose();
    throw error;
  }
}

/** One micro-batch cut into `workers` contiguous shares; shares 2… on the replicas if any. */
async function shardedGradients(
  { model, sampler, options: o, names, layout, replicas }: StepInputs,
  step: number,
  micro: number,
): Promise<{ value: tf.Tensor; grads: Map<string, tf.Tensor> }> {
  const batch = sampler.next();
  const [ids, targets] = (await Promise.all([batch.ids.data(), batch.targets.data()])) as [
    Int32Array,
    Int32Array,
  ];
  tf.dispose([batch.ids, batch.targets]);
  const tasks = splitBatch(ids, targets, o.batchSize, o.seqLen, o.workers).map((share, i) => ({
    ...share,
    seed: dropoutSeed(o.seed, step, micro, i),
  }));
  // NOTE: the replicas start before this thread computes its own share, and run alongside it.
  const remote = replicas?.gradients(tasks.slice(1)).then(
    (results) => ({ results, failure: undefined }),
    (failure: unknown) => ({ results: [] as GradientResult[], failure }),
  );
  const local: { loss: tf.Scalar; grads: Map<string, tf.Tensor> }[] = [];
  const disposeLocal = () => {
    for (const r of local) tf.dispose([r.loss, ...r.grads.values()]);
  };
  let results: GradientResult[] = [];
  try {
    for (const task of replicas ? tasks.slice(0, 1) : tasks)
      local.push(shareGradients(model, task, names));
  } catch (error) {
    disposeLocal();
    throw error;
  }
  if (remote) {
    const settled = await remote;
    if (settled.failure !== undefined) {
      disposeLocal();
      throw new ReplicaError(
        `a worker failed at step ${step}: ${(settled.failure as Error).message ?? settled.failure}`,
      );
    }
    results = settled.results;
  }
  const [value, ...list] = tf.tidy(() => {
    const grads = new Map<string, tf.Tensor>();
    let value: tf.Tensor = tf.scalar(0);
    tasks.forEach((task, i) => {
      const w = task.batch / o.batchSize;
      const r = local[i];
      value = tf.add(value, tf.mul(r ? r.loss : tf.scalar(results[i - 1]!.loss), w));
      for (const slot of layout) {
        const g = r
          ? r.grads.get(slot.name)!
          : tf.tensor(
              results[i - 1]!.grads.subarray(slot.offset, slot.offset + slot.size),
              slot.shape,
            );
        const weighted = tf.mul(g, w);
        const previous = grads.get(slot.name);
        grads.set(slot.name, previous ? tf.add(previous, weighted) : weighted);
      }
    });
    return [value, ...layout.map((slot) => grads.get(slot.name)!)];
  });
  disposeLocal();
  return { value: value!, grads: new Map(layout.map((slot, i) => [slot.name, list[i]!])) };
}

/** Cuts `batch` windows into `parts` contiguous shares, the first `batch mod parts` one larger. */
export function splitBatch(
  ids: Int32Array,
  targets: Int32Array,
  batch: number,
  seqLen: number,
  parts: number,
): { ids: Int32Array; targets: Int32Array; batch: number; seqLen: number }[] {
  const base = Math.floor(batch / parts);
  let start = 0;
  return Array.from({ length: parts }, (_, i) => {
    const size = base + (i < batch % parts ? 1 : 0);
    const [from, to] = [start * seqLen, (start + size) * seqLen];
    start += size;
    return {
      ids: ids.subarray(from, to),
      targets: targets.subarray(from, to),
      batch: size,
      seqLen,
    };
  });
}
