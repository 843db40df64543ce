import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, type PrimerConfig, resolveConfig } from './config.js';
import { configFromJson, configToJson } from './config-json.js';
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

/**
 * The `__metadata__` key of `model.safetensors` that holds the config the weights were saved
 * with (compact JSON), so that a `config.json` changed since is detected on load.
 */
export const CONFIG_KEY = 'config';

/**
 * Keys of `config.json` that may differ from the saved config: `dropout` only acts while
 * training, so changing it (to fine-tune with more or less) leaves the model the same.
 */
const EDITABLE: ReadonlySet<string> = new Set(['dropout']);

/**
 * Serialises a model as checkpoint files: `config.json` and `model.safetensors` with PyTorch's
 * names and layouts (F32), which the PyTorch module in `interop/pytorch` loads as is. The
 * weights' metadata holds the data section's CRC-32 and the config (both strings, as
 * safetensors requires), which {@link deserializeCheckpoint} checks.
 */
export async function serializeCheckpoint(model: PrimerModel): Promise<CheckpointFiles> {
  const tensors: [string, StoredTensor][] = [];
  for (const spec of model.specs) {
    const onDisk = toDiskLayout(spec, model.params.get(spec.name)!);
    try {
      const data = (await onDisk.data()) as Float32Array;
      const bad = firstNonFinite(data);
      if (bad >= 0) {
        throw new NonFiniteWeightError(
          spec.name,
          `tensor '${spec.name}' holds ${data[bad]} at index ${bad}: refusing to save a model with non-finite weights (it could not be loaded).`,
        );
      }
      tensors.push([spec.name, { shape: onDisk.shape, data }]);
    } finally {
      onDisk.dispose();
    }
  }
  const config = resolveConfig(model.config);
  return {
    config: configToJson(config),
    weights: writeSafetensors(tensors, {
      format: 'pt',
      model_type: 'primer-ez',
      [CONFIG_KEY]: JSON.stringify(config),
    }),
  };
}

/** A weight is NaN or ±Infinity: such a model is refused on save and on load. */
export class NonFiniteWeightError extends CheckpointError {
  override name = 'NonFiniteWeightError';
  constructor(
    /** The tensor's checkpoint name. */
    readonly tensor: string,
    message: string,
  ) {
    super(message);
  }
}

/** The index of the first NaN or ±Infinity in `data`, or -1. */
function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}

/**
 * Builds a model from checkpoint files, validating everything before allocating a tensor: the
 * config (see `configFromJson`); the safetensors file (see `readSafetensors`, which also checks
 * the data CRC-32 when the file has one); every tensor's presence and shape against the config
 * (missing, extra or misshapen tensors are errors naming them); every weight finite (NaN or
 * ±Infinity is a broken model: a diverged run or a corrupted file); and, when the weights carry
 * the config they were saved with (files this package wrote do), that `config.json` matches it
 * in every key but `dropout`.
 *
 * @throws ConfigError, SafetensorsError or CheckpointError, naming the key or tensor.
 */
export function deserializeCheckpoint(files: CheckpointFiles): PrimerModel {
  const written = configFromJson(files.config);
  const { tensors, metadata } = readSafetensors(files.weights);
  const config = withStoredBias(written, files.config, tensors);
  const specs = parameterSpecs(config);
  const known = new Set(specs.map((s) => s.name));
  const extra = [...tensors.keys()].filter((name) => !known.has(name));
  if (extra.length > 0) {
    throw new CheckpointError(
      `model.safetensors has tensor(s) the config does not use: ${extra.join(', ')} ` +
        '(does config.json belong to these weights?).',
    );
  }
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
    const bad = firstNonFinite(stored.data);
    if (bad >= 0) {
      throw new CheckpointError(
        `tensor '${spec.name}' holds ${stored.data[bad]} at index ${bad} (of ${stored.data.length}): ` +
          'a model with non-finite weights is broken (a diverged training run, or a corrupted file); load an earlier checkpoint.',
      );
    }
  }
  const saved = metadata[CONFIG_KEY];
  if (saved !== undefined) checkSavedConfig(config, saved);
  const weights = new Map<string, tf.Tensor>();
  try {
    for (const spec of specs) {
      const stored = tensors.get(spec.name)!;
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

/** Throws unless `config` equals the config saved in the weights' metadata (but for `dropout`). */
function checkSavedConfig(config: PrimerConfig, saved: string): void {
  let savedConfig: PrimerConfig;
  try {
    savedConfig = configFromJson(saved);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new CheckpointError(
      `model.safetensors __metadata__.${CONFIG_KEY} is not a valid config (the file is corrupted): ${error.message}`,
    );
  }
  const differences = (Object.keys(savedConfig) as (keyof PrimerConfig)[])
    .filter((key) => !EDITABLE.has(key) && savedConfig[key] !== config[key])
    .map((key) => `${key} = ${config[key]} (saved: ${savedConfig[key]})`);
  if (differences.length > 0) {
    throw new CheckpointError(
      `config.json differs from the config these weights were saved with: ${differences.join(', ')}. ` +
        'The weights only compute the saved model; restore config.json to ' +
        `${JSON.stringify(savedConfig)} (only dropout may be changed).`,
    );
  }
}

/**
 * A `config.json` that does not say `dconv_bias` (hand-written, or from before the key had to be
 * written) means the weights it came with: per_channel had no bias by default until the default
 * became `true`, so the bias is whatever the stored tensors hold.
 */
function withStoredBias(
  config: PrimerConfig,
  text: string,
  tensors: ReadonlyMap<string, unknown>,
): PrimerConfig {
  if (config.attention !== 'mdha' || Object.hasOwn(JSON.parse(text) as object, 'dconv_bias'))
    return config;
  const stored = [...tensors.keys()].some((name) => /\.attn\.[qkv]_dconv\.bias$/.test(name));
  return stored === config.dconv_bias ? config : resolveConfig({ ...config, dconv_bias: stored });
}
