import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, type PrimerConfig, resolveConfig } from './config.js';
import { PrimerModel } from './model.js';
import { diskShape, fromDiskLayout, parameterSpecs, toDiskLayout } from './params.js';
import { readSafetensors, type StoredTensor, writeSafetensors } from './safetensors.js';

/** The checkpoint files, as bytes and text, for environments without a file system. */
export interface CheckpointFiles {
  /** `config.json`. */
  config: string;
  /** `model.safetensors`. */
  weights: Uint8Array;
}

/** Thrown when a checkpoint does not match its config; the message names the tensor. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** The `config.json` text of a config: every key, in a stable order, pretty-printed. */
export function configToJson(config: PrimerConfig): string {
  return `${JSON.stringify(resolveConfig(config), null, 2)}\n`;
}

/** Parses and validates a `config.json` text. */
export function configFromJson(text: string): PrimerConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`config.json is not valid JSON: ${(error as Error).message}`);
  }
  return resolveConfig(parsed as PrimerConfig);
}

/**
 * Serialises a model as checkpoint files: `config.json` and `model.safetensors` with PyTorch's
 * names and layouts (F32), which the PyTorch module in `interop/pytorch` loads as is.
 */
export async function serializeCheckpoint(model: PrimerModel): Promise<CheckpointFiles> {
  const tensors: [string, StoredTensor][] = [];
  for (const spec of model.specs) {
    const onDisk = toDiskLayout(spec, model.params.get(spec.name)!);
    try {
      tensors.push([
        spec.name,
        { shape: onDisk.shape, data: (await onDisk.data()) as Float32Array },
      ]);
    } finally {
      onDisk.dispose();
    }
  }
  return {
    config: configToJson(model.config),
    weights: writeSafetensors(tensors, { format: 'pt', model_type: 'primer-ez' }),
  };
}

/**
 * Builds a model from checkpoint files, validating everything: the config, and every tensor's
 * presence and shape against it (missing, extra or misshapen tensors are errors naming them).
 */
export function deserializeCheckpoint(files: CheckpointFiles): PrimerModel {
  const config = configFromJson(files.config);
  const { tensors } = readSafetensors(files.weights);
  const specs = parameterSpecs(config);
  const known = new Set(specs.map((s) => s.name));
  const extra = [...tensors.keys()].filter((name) => !known.has(name));
  if (extra.length > 0) {
    throw new CheckpointError(
      `model.safetensors has tensor(s) the config does not use: ${extra.join(', ')} ` +
        '(does config.json belong to these weights?).',
    );
  }
  const weights = new Map<string, tf.Tensor>();
  try {
    for (const spec of specs) {
      const stored = tensors.get(spec.name);
      const expected = diskShape(spec);
      if (stored === undefined) {
        throw new CheckpointError(
          `model.safetensors is missing tensor '${spec.name}' [${expected}].`,
        );
      }
      if (!tf.util.arraysEqual(stored.shape, expected)) {
        throw new CheckpointError(
          `tensor '${spec.name}' has shape [${stored.shape}] in model.safetensors; the config needs [${expected}].`,
        );
      }
      weights.set(
        spec.name,
        tf.tidy(() => fromDiskLayout(spec, tf.tensor(stored.data, stored.shape, 'float32'))),
      );
    }
    return PrimerModel.fromWeights(config, weights);
  } finally {
    tf.dispose([...weights.values()]);
  }
}
