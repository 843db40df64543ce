// Data parallelism without naming a backend or a transport: what a pool of model replicas must
// do for the trainer (compute the gradient, or the validation loss, of a share of a batch), and
// the replica itself — the code a worker runs, which is the same code the trainer runs on its own
// share, so that a share gives the same numbers wherever it is computed.
import { type PrimerConfig, PrimerModel } from '@primer-ez/primer-layers';
import * as tf from '@tensorflow/tfjs-core';
import { batchCrossEntropy } from './cross-entropy.js';

/** `batch` windows of `seqLen` tokens, row-major: inputs and their next-token targets. */
export interface WindowShare {
  /** `[batch · seqLen]` token ids. */
  ids: Int32Array;
  /** `[batch · seqLen]` next-token ids. */
  targets: Int32Array;
  batch: number;
  seqLen: number;
}

/** A share of a training batch: its windows and the seed of its dropout masks. */
export interface GradientTask extends WindowShare {
  seed: number;
}

/** The mean loss of a share and its gradient. */
export interface GradientResult {
  loss: number;
  /** Every parameter's gradient, flat in `model.specs` order; valid until the pool's next call. */
  grads: Float32Array;
}

/**
 * Replicas of the model that compute gradients and validation losses of shares of a batch, for
 * a {@link Trainer} with `workers > 1`. In Node, `startWorkerThreads` from
 * `@primer-ez/trainer/worker-threads` gives one replica per worker thread. The pool is the
 * caller's: it outlives runs, and the caller closes it.
 */
export interface ReplicaPool {
  /** Replicas besides the trainer's own model (a trainer with `workers: n` needs `n − 1`). */
  readonly size: number;
  /** Builds the replicas of a model with this config (weights follow with {@link setWeights}). */
  prepare(config: PrimerConfig, parameterCount: number): Promise<void>;
  /** Every replica computes with these weights from its next task on (flat, `specs` order). */
  setWeights(weights: Float32Array): void;
  /** The gradient of `tasks[i]` on replica `i` (at most {@link size} tasks), all at once. */
  gradients(tasks: readonly GradientTask[]): Promise<GradientResult[]>;
  /** The summed cross-entropy (nats) of `shares[i]` on replica `i`, all at once. */
  crossEntropy(shares: readonly WindowShare[]): Promise<number[]>;
}

/** Where each parameter lives in the flat weight and gradient buffers: `specs` order. */
export interface ParameterSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export function parameterLayout(model: PrimerModel): ParameterSlot[] {
  let offset = 0;
  return model.specs.map((spec) => {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const slot = { name: spec.name, shape: [...spec.shape], offset, size };
    offset += size;
    return slot;
  });
}

/** The model's weights, flat in `specs` order (what {@link ReplicaPool.setWeights} takes). */
export async function flatWeights(model: PrimerModel, layout: ParameterSlot[], out: Float32Array) {
  for (const slot of layout)
    out.set((await model.params.get(slot.name)!.data()) as Float32Array, slot.offset);
}

/**
 * The mean loss of a share and its gradient by checkpoint name (the caller disposes both): the
 * one definition of a share's gradient, on the trainer's model and on every replica.
 */
export function shareGradients(
  model: PrimerModel,
  share: GradientTask,
  names: ReadonlyMap<string, string>,
): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
  const ids = tf.tensor2d(share.ids, [share.batch, share.seqLen], 'int32');
  const targets = tf.tensor2d(share.targets, [share.batch, share.seqLen], 'int32');
  try {
    return batchGradients(model, ids, targets, share.seed, names);
  } finally {
    tf.dispose([ids, targets]);
  }
}

/** {@link shareGradients} of windows already on the device, `ids` and `targets` `[B, T]`. */
export function batchGradients(
  model: PrimerModel,
  ids: tf.Tensor2D,
  targets: tf.Tensor2D,
  seed: number,
  names: ReadonlyMap<string, string>,
): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
  const { value, grads } = tf.variableGrads(
    () => model.loss(ids, targets, { training: true, seed, checkIds: false }),
    model.variables(),
  );
  return {
    loss: value,
    grads: new Map(Object.entries(grads).map(([varName, g]) => [names.get(varName)!, g])),
  };
}

/** Checkpoint names by tfjs variable name (tfjs's `variableGrads` keys gradients by the latter). */
export function variableNames(model: PrimerModel): Map<string, string> {
  return new Map([...model.params].map(([name, v]) => [v.name, name]));
}

/** The summed cross-entropy of a share, as {@link evaluate} sums each of its batches. */
export async function shareCrossEntropy(model: PrimerModel, share: WindowShare): Promise<number> {
  const ids = tf.tensor2d(share.ids, [share.batch, share.seqLen], 'int32');
  const targets = tf.tensor2d(share.targets, [share.batch, share.seqLen], 'int32');
  const sum = batchCrossEntropy(model, ids, targets);
  try {
    return (await sum.data())[0] as number;
  } finally {
    tf.dispose([ids, targets, sum]);
  }
}

/**
 * One replica of a model: what a worker of a {@link ReplicaPool} holds. It loads the weights it
 * is sent and computes gradients and validation sums of shares exactly as the trainer does.
 */
export class Replica {
  readonly model: PrimerModel;
  readonly layout: ParameterSlot[];
  private readonly names: Map<string, string>;

  constructor(config: PrimerConfig) {
    this.model = PrimerModel.create(config);
    this.layout = parameterLayout(this.model);
    this.names = variableNames(this.model);
  }

  /** Assigns the weights (flat, `specs` order). */
  load(weights: Float32Array): void {
    for (const slot of this.layout)
      tf.tidy(() =>
        this.model.params
          .get(slot.name)!
          .assign(tf.tensor(weights.subarray(slot.offset, slot.offset + slot.size), slot.shape)),
      );
  }

  /** Writes the share's gradient into `out` (flat, `specs` order); returns its mean loss. */
  async gradients(task: GradientTask, out: Float32Array): Promise<number> {
    const { loss, grads } = shareGradients(this.model, task, this.names);
    try {
      for (const slot of this.layout)
        out.set((await grads.get(slot.name)!.data()) as Float32Array, slot.offset);
      return (await loss.data())[0] as number;
    } finally {
      tf.dispose([loss, ...grads.values()]);
    }
  }

  crossEntropy(share: WindowShare): Promise<number> {
    return shareCrossEntropy(this.model, share);
  }

  dispose(): void {
    this.model.dispose();
  }
}
