import { lstat, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import {
  type BackendInfo,
  formatBackendInfo,
  initBackend,
  NODE_DEVICES,
  type NodeDevice,
} from '@primer-ez/backend-node';
import { type FileReadError, readRegularTextFile } from '@primer-ez/node-io';
import {
  CheckpointError,
  ConfigError,
  type PrimerModel,
  SafetensorsError,
} from '@primer-ez/primer-layers';
import { loadCheckpoint } from '@primer-ez/primer-layers/node';
import type { Tokenizer } from '@primer-ez/tokenizer';
import { loadTokenizer } from '@primer-ez/tokenizer/node';
import { findCheckpoint } from '@primer-ez/trainer/node';
import type { Flags } from './args.js';
import { CliError } from './errors.js';

export const BACKEND_FLAG = {
  backend: {
    type: 'enum',
    values: NODE_DEVICES,
    default: 'auto',
    description:
      'tfjs backend: auto picks the fastest that initialises (cuda, tensorflow, webgpu on a hardware GPU, wasm, cpu); webgpu needs the npm package webgpu',
  },
} as const satisfies Flags;

/** How `train` and `data prepare` get a tokenizer: trained on the text, or read from a file. */
export const TOKENIZER_FLAGS = {
  tokenizer: {
    type: 'enum',
    values: ['char', 'bpe'],
    default: 'char',
    description: 'tokenizer to train on the text',
  },
  'tokenizer-file': {
    type: 'string',
    placeholder: 'FILE',
    description: 'use an existing tokenizer.json instead of training one',
  },
  'vocab-size-bpe': {
    type: 'int',
    min: 257,
    default: 4096,
    description: 'vocabulary size when training a BPE tokenizer',
  },
} as const satisfies Flags;

/** Initialises the backend a `--backend` flag names, and says what was chosen on stderr. */
export async function setupBackend(device: string, quiet = false): Promise<BackendInfo> {
  let info: BackendInfo;
  try {
    info = await initBackend(device as NodeDevice);
  } catch (error) {
    throw new CliError(`--backend ${device}: ${(error as Error).message}`);
  }
  // Importing the ops registers tfjs-core's kernel gradients (training needs them).
  await import('@primer-ez/tensor-ops');
  if (!quiet) {
    process.stderr.write(`backend: ${formatBackendInfo(info)}\n`);
    for (const note of info.notes) process.stderr.write(`  note: ${note}\n`);
  }
  return info;
}

/**
 * A checkpoint directory from `--checkpoint`: a checkpoint itself (with config.json), or a run
 * directory (its latest.json names the checkpoint).
 */
export async function resolveCheckpointDir(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new CliError(`--checkpoint ${path}: no such directory.`);
  if (!info.isDirectory())
    throw new CliError(
      `--checkpoint ${path}: not a directory (a checkpoint is a directory with config.json and model.safetensors).`,
    );
  // Any entry named config.json (even a link loop or a FIFO) makes this a checkpoint: its
  // loader then says what is wrong with the file.
  if (await lstat(join(path, 'config.json')).catch(() => undefined)) return path;
  // A run directory: its latest complete checkpoint (the pointer is validated, never followed outside).
  const latest = await findCheckpoint(path);
  if (latest !== undefined) return latest;
  throw new CliError(
    `--checkpoint ${path}: neither a checkpoint (no config.json) nor a run directory with a complete checkpoint under checkpoints/.`,
  );
}

/** Loads the model and tokenizer of a checkpoint directory, with one-line errors. */
export async function loadModelAndTokenizer(
  path: string,
): Promise<{ model: PrimerModel; tokenizer: Tokenizer; dir: string }> {
  const dir = await resolveCheckpointDir(path);
  const configText = await readRegularTextFile(join(dir, 'config.json'), {
    maxBytes: 4_000_000,
  }).catch((error: FileReadError) => {
    throw new CliError(
      error.code === 'ENOENT'
        ? `--checkpoint ${dir}: config.json is missing.`
        : `--checkpoint ${dir}: ${error.message}.`,
    );
  });
  let modelType: unknown;
  try {
    modelType = JSON.parse(configText).model_type;
  } catch {
    throw new CliError(`--checkpoint ${dir}: config.json is not valid JSON.`);
  }
  if (modelType !== 'primer-ez') {
    throw new CliError(
      `--checkpoint ${dir}: config.json says model_type ${JSON.stringify(modelType)}; primer-ez reads only "primer-ez" checkpoints.`,
    );
  }
  let model: PrimerModel;
  try {
    model = await loadCheckpoint(dir);
  } catch (error) {
    if (
      error instanceof CheckpointError ||
      error instanceof ConfigError ||
      error instanceof SafetensorsError
    ) {
      throw new CliError(`--checkpoint ${dir}: ${error.message}`);
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CliError(`--checkpoint ${dir}: model.safetensors is missing.`);
    throw error;
  }
  const tokenizerPath = join(dir, 'tokenizer.json');
  if (!(await exists(tokenizerPath)))
    throw new CliError(
      `--checkpoint ${dir}: tokenizer.json is missing; a checkpoint needs the tokenizer it was trained with.`,
    );
  const tokenizer = await readTokenizer(tokenizerPath, `--checkpoint ${dir}`);
  if (tokenizer.vocabSize !== model.config.vocab_size) {
    throw new CliError(
      `--checkpoint ${dir}: tokenizer.json has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${model.config.vocab_size}.`,
    );
  }
  return { model, tokenizer, dir };
}

/**
 * Reads the tokenizer.json a flag names (`--tokenizer`, `--tokenizer-file`), with one-line errors
 * that name that flag (size, file type and UTF-8 are checked by the loader).
 */
export async function loadTokenizerFile(path: string, flag: string): Promise<Tokenizer> {
  if (!(await exists(path)))
    throw new CliError(
      `${flag} ${path}: no such file; give a tokenizer.json (primer-ez tokenizer train writes one).`,
    );
  return readTokenizer(path, `${flag} ${path}`);
}

async function readTokenizer(path: string, what: string): Promise<Tokenizer> {
  try {
    return await loadTokenizer(path);
  } catch (error) {
    throw new CliError(`${what}: ${(error as Error).message}`);
  }
}

/**
 * A path as it is shown to the user: relative to the working directory when it lies inside it
 * (`runs/x/checkpoints/step-000040`, as typed), absolute otherwise — never `../../…` climbing out.
 */
export function shownPath(path: string): string {
  const absolute = resolve(path);
  const inside = relative(process.cwd(), absolute);
  return inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)
    ? absolute
    : inside;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
