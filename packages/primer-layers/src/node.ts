/**
 * Node-only checkpoint files: a directory with `config.json` and `model.safetensors` (and, from
 * the tokenizer, `tokenizer.json`, which is left alone).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { deserializeCheckpoint, serializeCheckpoint } from './checkpoint.js';
import type { PrimerModel } from './model.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

/**
 * Writes `data` to `path` atomically: into a temporary file in the same directory, flushed to
 * disk, then renamed over `path`. A crash leaves either the old file or the new one, never half.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

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

/** Loads a checkpoint directory, validating the config and every tensor. */
export async function loadCheckpoint(dir: string): Promise<PrimerModel> {
  const [config, weights] = await Promise.all([
    readFile(join(dir, CONFIG_FILE), 'utf8'),
    readFile(join(dir, WEIGHTS_FILE)),
  ]);
  return deserializeCheckpoint({
    config,
    weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
  });
}
