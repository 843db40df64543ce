// Corrupted real checkpoints: a tiny model's files, truncated at every length and with bytes
// changed anywhere. Loading must throw one of the package's errors or give back exactly the
// saved model: never a crash, a hang, or a different model.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  type CheckpointFiles,
  ConfigError,
  deserializeCheckpoint,
  type PrimerConfig,
  PrimerModel,
  SafetensorsError,
  serializeCheckpoint,
} from './index.js';

const tinyConfig = {
  vocab_size: 11,
  d_model: 8,
  n_heads: 2,
  n_layers: 1,
  d_ff: 16,
  max_seq_len: 6,
  dropout: 0.1,
};

let model: PrimerModel;
let files: CheckpointFiles;
let original: Map<string, Uint32Array>;
let tensorsBefore: number;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = PrimerModel.create(tinyConfig, { seed: 1 });
  files = await serializeCheckpoint(model);
  original = bits(model);
  tensorsBefore = tf.memory().numTensors;
});

afterAll(() => {
  // Every failed load freed what it made, and every successful one was disposed.
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  model.dispose();
});

/** Each parameter's float32 bit patterns, by name. */
function bits(m: PrimerModel): Map<string, Uint32Array> {
  return new Map(
    [...m.params].map(([name, v]) => [
      name,
      new Uint32Array(Float32Array.from(v.dataSync()).buffer),
    ]),
  );
}

const ERRORS = [SafetensorsError, ConfigError, CheckpointError];

/**
 * Loads `changed`: it must throw one of the package's errors with a message, or load a model
 * whose weights are bit for bit the saved ones and whose config is the saved one (but for
 * `dropout`, which config.json may change on purpose). Returns whether it loaded.
 */
function loadsTheSameOrThrows(changed: CheckpointFiles): boolean {
  let loaded: PrimerModel;
  try {
    loaded = deserializeCheckpoint(changed);
  } catch (error) {
    if (!ERRORS.some((kind) => error instanceof kind)) throw error;
    expect((error as Error).message.length).toBeGreaterThan(20);
    return false;
  }
  try {
    const { dropout: _, ...config } = loaded.config;
    const { dropout: __, ...saved } = model.config;
    expect(config).toEqual(saved);
    expect(bits(loaded)).toEqual(original);
  } finally {
    loaded.dispose();
  }
  return true;
}

const withByte = (bytes: Uint8Array, at: number, value: number) => {
  const copy = bytes.slice();
  copy[at] = value;
  return copy;
};

describe('corrupted checkpoints', () => {
  it('loads the untouched files (the baseline of every property below)', () => {
    expect(loadsTheSameOrThrows(files)).toBe(true);
    expect(files.weights.length).toBeGreaterThan(3000);
  });

  it('rejects model.safetensors truncated at every length', () => {
    const { weights } = files;
    for (let length = 0; length < weights.length; length++) {
      expect(() =>
        deserializeCheckpoint({ ...files, weights: weights.subarray(0, length) }),
      ).toThrow(SafetensorsError);
    }
  });

  it('rejects config.json truncated at every length, but for its final newline', () => {
    const { config } = files;
    for (let length = 0; length < config.length; length++) {
      const cut = { ...files, config: config.slice(0, length) };
      if (config.slice(length).trim() === '') expect(loadsTheSameOrThrows(cut)).toBe(true);
      else expect(() => deserializeCheckpoint(cut)).toThrow(ConfigError);
    }
  });

  it('never loads a different model after any single-bit flip in the safetensors header', () => {
    const { weights } = files;
    const dataStart = 8 + Number(new DataView(weights.buffer).getBigUint64(0, true));
    for (let at = 0; at < dataStart; at++) {
      for (let bit = 0; bit < 8; bit++) {
        loadsTheSameOrThrows({
          ...files,
          weights: withByte(weights, at, weights[at]! ^ (1 << bit)),
        });
      }
    }
  });

  it('never loads a different model after a random byte change anywhere in model.safetensors', () => {
    const { weights } = files;
    const dataStart = 8 + Number(new DataView(weights.buffer).getBigUint64(0, true));
    fc.assert(
      fc.property(fc.nat(weights.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const changed = withByte(weights, at, weights[at]! ^ xor);
        const loaded = loadsTheSameOrThrows({ ...files, weights: changed });
        // The data section is covered by the CRC-32: a change there never loads.
        if (at >= dataStart) expect(loaded).toBe(false);
      }),
      { numRuns: 400 },
    );
  });

  it('never loads a different model after any byte change in config.json', () => {
    const bytes = new TextEncoder().encode(files.config);
    let loads = 0;
    for (let at = 0; at < bytes.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const config = new TextDecoder().decode(withByte(bytes, at, bytes[at]! ^ (1 << bit)));
        if (loadsTheSameOrThrows({ ...files, config })) loads++;
      }
    }
    // Some flips are harmless: whitespace, or dropout 0.1 → 0.3 (dropout may be edited).
    expect(loads).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), fc.nat(255), (at, value) => {
        const config = new TextDecoder().decode(withByte(bytes, at, value));
        loadsTheSameOrThrows({ ...files, config });
      }),
      { numRuns: 300 },
    );
  });

  it('throws only the package errors for any config.json object with these weights', () => {
    const value = fc.oneof(
      fc.integer({ min: -2, max: 40 }),
      fc.constantFrom(1e9, 2 ** 53, 0.5, -0, 'primer-ez', 'mdha', 'shared', true, null),
      fc.jsonValue({ maxDepth: 1 }),
    );
    const key = fc.oneof(
      fc.constantFrom(...(Object.keys(model.config) as (keyof PrimerConfig)[])),
      fc.constantFrom('__proto__', 'constructor', 'd_modle'),
    );
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 6 }), (overrides) => {
        const config = JSON.stringify({ ...model.config, ...overrides });
        loadsTheSameOrThrows({ ...files, config });
      }),
      { numRuns: 300 },
    );
  });
});
