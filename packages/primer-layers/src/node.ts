/**
 * Node-only checkpoint files: a directory with `config.json` and `model.safetensors` (and, from
 * the tokenizer, `tokenizer.json`, which is left alone).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  FileReadError,
  MAX_BUFFER_BYTES,
  readRegularFile,
  writeFileAtomic,
} from '@primer-ez/node-io';
import { CheckpointError, deserializeCheckpoint, serializeCheckpoint } from './checkpoint.js';
import { MAX_CONFIG_CHARS } from './config-json.js';
import type { PrimerModel } from './model.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

/** Writes `data` to `path` atomically (see `@primer-ez/node-io`, the one home of this helper). */
export { writeFileAtomic };

/**
 * Saves a model as a checkpoint directory (created if needed). Each file is written atomically,
 * weights first, so an interrupted save leaves the previous checkpoint loadable.
 */
export async function saveCheckpoint(model: PrimerModel, dir: string): Promise<void> {
  const files = await serializeCheckpoint(model);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, WEIGHTS_FILE), files.weights);
  await writeFileAtomic(join(dir, CONFIG_FILE), files.config);
}

/** The largest `model.safetensors` read: Node's limit for reading a file into one buffer. */
const MAX_WEIGHTS_BYTES = MAX_BUFFER_BYTES;

/**
 * Loads a checkpoint directory, validating the config and every tensor (see
 * `deserializeCheckpoint`). Each file is opened once and must be a regular file of a plausible
 * size, checked through the open handle before reading (a named pipe would block a read forever;
 * `/dev/zero` or a 100 GB file would not fit).
 */
export async function loadCheckpoint(dir: string): Promise<PrimerModel> {
  const reads = await Promise.allSettled([
    readChecked(join(dir, CONFIG_FILE), MAX_CONFIG_CHARS * 4),
    readChecked(join(dir, WEIGHTS_FILE), MAX_WEIGHTS_BYTES),
  ]);
  // Where both files are bad, report config.json's problem, every time (not the faster read's).
  const [config, weights] = reads.map((read) => {
    if (read.status === 'rejected') throw read.reason;
    return read.value;
  }) as [Buffer, Buffer];
  return deserializeCheckpoint({
    config: new TextDecoder().decode(config),
    weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
  });
}

async function readChecked(path: string, maxBytes: number): Promise<Buffer> {
  try {
    return await readRegularFile(path, { maxBytes });
  } catch (error) {
    if (error instanceof FileReadError) throw new CheckpointError(error.message);
    throw error;
  }
}
