// What every backend computes for the parity suite, in Node and in the page alike (so this file
// imports nothing from Node): logits, loss, and two plain SGD steps' gradients of a checkpoint.
import { type CheckpointFiles, deserializeCheckpoint } from '@primer-ez/primer-layers';
import * as tf from '@tensorflow/tfjs-core';

/** A batch to run a checkpoint on. */
export interface Batch {
  ids: number[][];
  targets: number[][];
  /** Train with dropout (when the config has any): step s uses masks seeded `dropoutSeed + s`. */
  dropoutSeed?: number;
}

/** Everything one backend computes for a checkpoint. */
export interface ParityResult {
  logits: Float32Array;
  loss: number;
  /** Per step: the loss before the step and each parameter's gradient, by checkpoint name. */
  steps: { loss: number; grads: Record<string, Float32Array> }[];
}

/** Two SGD steps with learning rate 0.1: enough to move every weight the gradients touch. */
export const STEPS = 2;
export const LEARNING_RATE = 0.1;

/**
 * Loads the checkpoint on the active backend, computes logits and loss, then takes {@link STEPS}
 * SGD steps, recording each step's gradients (`tf.variableGrads` of `model.loss`).
 */
export function runCheckpoint(
  files: CheckpointFiles,
  { ids, targets, dropoutSeed }: Batch,
): ParityResult {
  const model = deserializeCheckpoint(files);
  try {
    const logits = model.forward(ids);
    const lossTensor = model.loss(ids, targets);
    const result: ParityResult = {
      logits: logits.dataSync() as Float32Array,
      loss: lossTensor.dataSync()[0] as number,
      steps: [],
    };
    tf.dispose([logits, lossTensor]);
    const nameOf = new Map([...model.params].map(([name, v]) => [v.name, name]));
    for (let s = 0; s < STEPS; s++) {
      const options = dropoutSeed === undefined ? {} : { training: true, seed: dropoutSeed + s };
      const { value, grads } = tf.variableGrads(
        () => model.loss(ids, targets, options),
        model.variables(),
      );
      const record: Record<string, Float32Array> = {};
      for (const [variable, grad] of Object.entries(grads)) {
        record[nameOf.get(variable)!] = grad.dataSync() as Float32Array;
      }
      result.steps.push({ loss: value.dataSync()[0] as number, grads: record });
      tf.tidy(() => {
        for (const v of model.variables())
          v.assign(tf.sub(v, tf.mul(grads[v.name]!, LEARNING_RATE)));
      });
      tf.dispose([value, ...Object.values(grads)]);
    }
    return result;
  } finally {
    model.dispose();
  }
}

/** A {@link ParityResult} with every array as base64 float32 bytes, to leave the page compactly. */
export interface EncodedResult {
  logits: string;
  loss: number;
  steps: { loss: number; grads: Record<string, string> }[];
}

export function encodeResult(r: ParityResult, encode: (a: Float32Array) => string): EncodedResult {
  return {
    logits: encode(r.logits),
    loss: r.loss,
    steps: r.steps.map((s) => ({
      loss: s.loss,
      grads: Object.fromEntries(Object.entries(s.grads).map(([k, v]) => [k, encode(v)])),
    })),
  };
}

export function decodeResult(r: EncodedResult, decode: (s: string) => Float32Array): ParityResult {
  return {
    logits: decode(r.logits),
    loss: r.loss,
    steps: r.steps.map((s) => ({
      loss: s.loss,
      grads: Object.fromEntries(Object.entries(s.grads).map(([k, v]) => [k, decode(v)])),
    })),
  };
}

/** max |a - b| over two equally long arrays (NaN counts as infinitely far). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= worst)) worst = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return worst;
}

/** max |x|. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}
