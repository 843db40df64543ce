/**
 * Node-only checkpoint files: a directory with `config.json` and `model.safetensors` (and, from
 * the tokenizer, `tokenizer.json`, which is left alone).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, deserializeCheckpoint, serializeCheckpoint } from './checkpoint.js';
import { MAX_CONFIG_CHARS } from './config-json.js';
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

/** The largest `model.safetensors` read: Node's limit for reading a file into one buffer. */
const MAX_WEIGHTS_BYTES = 2 ** 31 - 1;

/**
 * Loads a checkpoint directory, validating the config and every tensor (see
 * `deserializeCheckpoint`). Each file must be a regular file of a plausible size, checked
 * before reading (a named pipe would block the read forever; a 100 GB file would not fit).
 */
export async function loadCheckpoint(dir: string): Promise<PrimerModel> {
  const [config, weights] = await Promise.all([
    readChecked(join(dir, CONFIG_FILE), MAX_CONFIG_CHARS * 4),
    readChecked(join(dir, WEIGHTS_FILE), MAX_WEIGHTS_BYTES),
  ]);
  return deserializeCheckpoint({
    config: new TextDecoder().decode(config),
    weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
  });
}

async function readChecked(path: string, maxBytes: number): Promise<Buffer> {
  const info = await stat(path);
  if (!info.isFile())
    throw new CheckpointError(`${path} is not a regular file (a directory, pipe or device?).`);
  if (info.size > maxBytes) {
    throw new CheckpointError(
      `${path} is ${info.size} bytes, more than the ${maxBytes} read (is it the right file?).`,
    );
  }
  return readFile(path);
}
