/**
 * Checkpoint directories on disk: the files a training snapshot is saved as
 * (`config.json`, `model.safetensors`, `tokenizer.json`, `trainer_state.json`,
 * `optimizer.safetensors`), written atomically and read back bounded.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type FileReadError,
  MAX_BUFFER_BYTES,
  readRegularFile,
  syncDirectory,
  tempName,
  writeFileAtomic,
} from '@primer-ez/node-io';
import type { TrainerSnapshot } from './trainer.js';

export const FILES = {
  config: 'config.json',
  weights: 'model.safetensors',
  tokenizer: 'tokenizer.json',
  state: 'trainer_state.json',
  optimizer: 'optimizer.safetensors',
} as const;

/** Writes a snapshot as a checkpoint directory, atomically (temporary directory, then rename). */
export async function writeSnapshotDir(dir: string, snapshot: TrainerSnapshot): Promise<void> {
  const temp = tempName(dir, 'dir');
  await mkdir(temp, { recursive: true });
  try {
    await writeFileAtomic(join(temp, FILES.weights), snapshot.model.weights);
    await writeFileAtomic(join(temp, FILES.config), snapshot.model.config);
    if (snapshot.tokenizer !== undefined)
      await writeFileAtomic(join(temp, FILES.tokenizer), snapshot.tokenizer);
    await writeFileAtomic(join(temp, FILES.optimizer), snapshot.optimizer);
    await writeFileAtomic(join(temp, FILES.state), `${JSON.stringify(snapshot.state, null, 2)}\n`);
    if (await exists(dir)) {
      const old = tempName(dir, 'dir').replace('.tmp-', '.old-');
      await rename(dir, old);
      await rename(temp, dir);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(temp, dir);
    }
    await syncDirectory(join(dir, '..'));
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** The largest file of each kind a checkpoint read accepts. */
const CAPS = {
  [FILES.config]: 4_000_000,
  [FILES.weights]: MAX_BUFFER_BYTES,
  [FILES.tokenizer]: 128 * 2 ** 20,
  [FILES.state]: 4_000_000,
  [FILES.optimizer]: MAX_BUFFER_BYTES,
} as const;

/**
 * Reads a checkpoint directory written by {@link writeSnapshotDir}. Each file is opened once and
 * must be a regular file within its cap (see `@primer-ez/node-io`); errors are one line naming it.
 */
export async function readSnapshotDir(dir: string): Promise<TrainerSnapshot> {
  const read = async (name: keyof typeof CAPS) => {
    try {
      return await readRegularFile(join(dir, name), { maxBytes: CAPS[name] });
    } catch (error) {
      if ((error as FileReadError).code === 'ENOENT')
        throw new Error(
          `${dir} has no ${name}: it is not a resumable checkpoint (was it saved by primer-ez train?).`,
        );
      throw error;
    }
  };
  const config = await read(FILES.config);
  const weights = await read(FILES.weights);
  const state = await read(FILES.state);
  const optimizer = await read(FILES.optimizer);
  let parsedState: unknown;
  try {
    parsedState = JSON.parse(state.toString('utf8'));
  } catch {
    throw new Error(`${join(dir, FILES.state)} is not valid JSON; the checkpoint is damaged.`);
  }
  const snapshot: TrainerSnapshot = {
    model: { config: config.toString('utf8'), weights: bytes(weights) },
    state: parsedState as TrainerSnapshot['state'],
    optimizer: bytes(optimizer),
  };
  const tokenizer = await read(FILES.tokenizer).catch((error: Error) => {
    if (/has no tokenizer\.json/.test(error.message)) return undefined;
    throw error;
  });
  if (tokenizer !== undefined) snapshot.tokenizer = tokenizer.toString('utf8');
  return snapshot;
}

/** Whether `dir` holds every file a resumable checkpoint needs. */
export async function isCheckpoint(dir: string): Promise<boolean> {
  const present = await Promise.all(
    [FILES.config, FILES.weights, FILES.state, FILES.optimizer].map((f) => exists(join(dir, f))),
  );
  return present.every(Boolean);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function bytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
