// The checkpoints the parity suite runs: primer-layers' PyTorch fixtures (fixtures/torch/<case>/:
// config.json + model.safetensors, and the ids, targets and logits of expected.*), and a freshly
// created, seeded model at the `small` preset written with serializeCheckpoint.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  type CheckpointFiles,
  deserializeCheckpoint,
  PrimerModel,
  presetConfig,
  readSafetensors,
  serializeCheckpoint,
} from '@primer-ez/primer-layers';
import * as tf from '@tensorflow/tfjs-core';

const layers = dirname(
  createRequire(import.meta.url).resolve('@primer-ez/primer-layers/package.json'),
);
const FIXTURES = join(layers, 'fixtures', 'torch');

/** The PyTorch fixture cases: both MDHA variants, vanilla, sinusoidal positions + tied head. */
export const TORCH_CASES = ['per_channel', 'shared', 'vanilla', 'sinusoidal_tied'] as const;

/** A checkpoint, the batch to run it on, and (for the fixtures) PyTorch's logits and loss. */
export interface ParityCase {
  name: string;
  files: CheckpointFiles;
  ids: number[][];
  targets: number[][];
  torch?: { logits: Float32Array; loss: number };
}

export function torchCase(name: (typeof TORCH_CASES)[number]): ParityCase {
  const dir = join(FIXTURES, name);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  const { tensors } = readSafetensors(
    new Uint8Array(readFileSync(join(dir, 'expected.safetensors'))),
  );
  return {
    name,
    files: {
      config: readFileSync(join(dir, 'config.json'), 'utf8'),
      weights: new Uint8Array(readFileSync(join(dir, 'model.safetensors'))),
    },
    ids: expected.ids,
    targets: expected.targets,
    torch: { logits: tensors.get('logits')!.data, loss: expected.loss },
  };
}

/** A seeded `small` model (d_model 128, 4 layers), serialized on the active backend. */
export async function seededCase(): Promise<ParityCase> {
  const vocab = 96;
  const model = PrimerModel.create(presetConfig('small', vocab), { seed: 11 });
  const files = await serializeCheckpoint(model);
  model.dispose();
  const row = (b: number) => Array.from({ length: 48 }, (_, t) => (t * 37 + b * 11 + 5) % vocab);
  const ids = [row(0), row(1)];
  return { name: 'small (seeded)', files, ids, targets: ids.map((r) => [...r.slice(1), 0]) };
}

/** Everything one backend computes for a case: logits, loss, and two SGD steps' gradients. */
export interface ParityResult {
  logits: Float32Array;
  loss: number;
  /** Per step: the loss before the step and each parameter's gradient, by checkpoint name. */
  steps: { loss: number; grads: Record<string, Float32Array> }[];
}

/**
 * Loads the checkpoint on the active backend, computes logits and loss, then takes `steps`
 * plain SGD steps (learning rate `lr`), recording each step's gradients.
 */
export function runCase(c: ParityCase, steps = 2, lr = 0.1): ParityResult {
  const model = deserializeCheckpoint(c.files);
  try {
    const logits = model.forward(c.ids);
    const lossTensor = model.loss(c.ids, c.targets);
    const result: ParityResult = {
      logits: logits.dataSync() as Float32Array,
      loss: lossTensor.dataSync()[0] as number,
      steps: [],
    };
    tf.dispose([logits, lossTensor]);
    const nameOf = new Map([...model.params].map(([name, v]) => [v.name, name]));
    for (let s = 0; s < steps; s++) {
      const { value, grads } = tf.variableGrads(
        () => model.loss(c.ids, c.targets),
        model.variables(),
      );
      const record: Record<string, Float32Array> = {};
      for (const [variable, grad] of Object.entries(grads)) {
        record[nameOf.get(variable)!] = grad.dataSync() as Float32Array;
      }
      result.steps.push({ loss: value.dataSync()[0] as number, grads: record });
      tf.tidy(() => {
        for (const v of model.variables()) v.assign(tf.sub(v, tf.mul(grads[v.name]!, lr)));
      });
      tf.dispose([value, ...Object.values(grads)]);
    }
    return result;
  } finally {
    model.dispose();
  }
}

/** max |a - b| over two equally long arrays (NaN if either has a NaN). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

/** max |x|. */
export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}
