/**
 * Node-only run directories: checkpoints as directories of files, `latest.json` / `best.json`
 * pointers, and `metrics.jsonl`.
 *
 * ```
 * out/
 *   metrics.jsonl               one JSON object per line: step, loss | val_loss, lr, tokens_per_s, …
 *   latest.json                 {"checkpoint": "checkpoints/step-000500", "step": 500}
 *   best.json                   the same, for the best validation loss so far
 *   checkpoints/step-000500/    config.json, model.safetensors, tokenizer.json,
 *                               trainer_state.json, optimizer.safetensors
 * ```
 *
 * Every checkpoint directory is written under a temporary name, flushed, then renamed into place,
 * and the pointer files are replaced atomically, so an interrupted save never damages what was
 * already saved. Each checkpoint directory is also a plain model checkpoint (`loadCheckpoint`).
 */
import { randomBytes } from 'node:crypto';
import {
  access,
  appendFile,
  constants,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
} from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '@primer-ez/primer-layers/node';
import type { CheckpointKind, CheckpointSink, TrainEvent, TrainerSnapshot } from './trainer.js';

export const FILES = {
  config: 'config.json',
  weights: 'model.safetensors',
  tokenizer: 'tokenizer.json',
  state: 'trainer_state.json',
  optimizer: 'optimizer.safetensors',
} as const;

/** Writes a snapshot as a checkpoint directory, atomically (temporary directory, then rename). */
export async function writeSnapshotDir(dir: string, snapshot: TrainerSnapshot): Promise<void> {
  const temp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  await mkdir(temp, { recursive: true });
  try {
    await writeFileAtomic(join(temp, FILES.weights), snapshot.model.weights);
    await writeFileAtomic(join(temp, FILES.config), snapshot.model.config);
    if (snapshot.tokenizer !== undefined)
      await writeFileAtomic(join(temp, FILES.tokenizer), snapshot.tokenizer);
    await writeFileAtomic(join(temp, FILES.optimizer), snapshot.optimizer);
    await writeFileAtomic(join(temp, FILES.state), `${JSON.stringify(snapshot.state, null, 2)}\n`);
    if (await exists(dir)) {
      const old = `${dir}.old-${randomBytes(4).toString('hex')}`;
      await rename(dir, old);
      await rename(temp, dir);
      await rm(old, { recursive: true, force: true });
    } else {
      await rename(temp, dir);
    }
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** Reads a checkpoint directory written by {@link writeSnapshotDir}. */
export async function readSnapshotDir(dir: string): Promise<TrainerSnapshot> {
  const read = (name: string) => readFile(join(dir, name));
  const missing = (name: string) => (error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      throw new Error(
        `${dir} has no ${name}: it is not a resumable checkpoint (was it saved by primer-ez train?).`,
      );
    }
    throw error;
  };
  const [config, weights, state, optimizer] = await Promise.all([
    read(FILES.config).catch(missing(FILES.config)),
    read(FILES.weights).catch(missing(FILES.weights)),
    read(FILES.state).catch(missing(FILES.state)),
    read(FILES.optimizer).catch(missing(FILES.optimizer)),
  ]);
  const snapshot: TrainerSnapshot = {
    model: { config: config.toString('utf8'), weights: bytes(weights) },
    state: JSON.parse(state.toString('utf8')),
    optimizer: bytes(optimizer),
  };
  const tokenizer = await readFile(join(dir, FILES.tokenizer), 'utf8').catch(() => undefined);
  if (tokenizer !== undefined) snapshot.tokenizer = tokenizer;
  return snapshot;
}

/**
 * A run directory: the checkpoint sink of a training run, its pointers and its metrics log.
 * Keeps the `keep` most recent periodic checkpoints, plus the best and the latest.
 */
export class RunDirectory implements CheckpointSink {
  private constructor(
    readonly dir: string,
    readonly keep: number,
  ) {}

  /** Opens (creating if needed) a run directory, failing early with a clear message if it is not writable. */
  static async open(dir: string, { keep = 3 }: { keep?: number } = {}): Promise<RunDirectory> {
    const path = resolve(dir);
    try {
      await mkdir(join(path, 'checkpoints'), { recursive: true });
      await access(path, constants.W_OK);
    } catch (error) {
      throw new Error(
        `cannot write the run directory ${path}: ${(error as Error).message}; choose another --out.`,
      );
    }
    const run = new RunDirectory(path, keep);
    await run.repair();
    return run;
  }

  /**
   * Undoes what a save killed part-way leaves behind: temporary checkpoint directories and files
   * are removed, and a checkpoint moved aside to be replaced (`step-N.old-*`) whose replacement
   * never landed is moved back.
   */
  private async repair(): Promise<void> {
    const checkpoints = join(this.dir, 'checkpoints');
    const names = await readdir(checkpoints);
    for (const name of names) {
      const path = join(checkpoints, name);
      if (/\.tmp-[0-9a-f]+$/.test(name)) await rm(path, { recursive: true, force: true });
      const old = /^(step-\d+)\.old-[0-9a-f]+$/.exec(name);
      if (old) {
        const target = join(checkpoints, old[1]!);
        if (await isCheckpoint(target)) await rm(path, { recursive: true, force: true });
        else {
          await rm(target, { recursive: true, force: true });
          await rename(path, target);
        }
      }
    }
    for (const name of await readdir(this.dir))
      if (/\.[0-9a-f]{12}\.tmp$/.test(name)) await rm(join(this.dir, name), { force: true });
  }

  async save(snapshot: TrainerSnapshot, kind: CheckpointKind): Promise<string> {
    const name = `checkpoints/step-${String(snapshot.state.step).padStart(6, '0')}`;
    const target = join(this.dir, name);
    await writeSnapshotDir(target, snapshot);
    const pointer = `${JSON.stringify({ checkpoint: name, step: snapshot.state.step, val_loss: snapshot.state.bestValLoss })}\n`;
    await writeFileAtomic(join(this.dir, 'latest.json'), pointer);
    if (kind === 'best') await writeFileAtomic(join(this.dir, 'best.json'), pointer);
    await this.prune();
    return relative(process.cwd(), target) || target;
  }

  /** See {@link findCheckpoint}. */
  checkpointDir(pointer: 'latest' | 'best' = 'latest'): Promise<string | undefined> {
    return findCheckpoint(this.dir, pointer);
  }

  /** Appends events as JSON lines to `metrics.jsonl` (step and eval events). */
  async log(event: TrainEvent): Promise<void> {
    const line = metricsLine(event);
    if (line) await appendFile(join(this.dir, 'metrics.jsonl'), `${line}\n`);
  }

  private async prune(): Promise<void> {
    const keepers = new Set(
      (
        await Promise.all([pointerTarget(this.dir, 'latest'), pointerTarget(this.dir, 'best')])
      ).filter((d) => d !== undefined),
    );
    const dirs = (await readdir(join(this.dir, 'checkpoints')))
      .filter((d) => /^step-\d+$/.test(d))
      .sort()
      .map((d) => join(this.dir, 'checkpoints', d));
    const stale = dirs
      .slice(0, Math.max(0, dirs.length - this.keep))
      .filter((d) => !keepers.has(d));
    await Promise.all(stale.map((d) => rm(d, { recursive: true, force: true })));
  }
}

/**
 * The `metrics.jsonl` line of an event (or undefined for events that are not metrics): at least
 * `step`, `loss` or `val_loss`, `lr` and `tokens_per_s`.
 */
export function metricsLine(event: TrainEvent): string | undefined {
  if (event.type === 'step') {
    return JSON.stringify({
      step: event.step,
      loss: event.loss,
      lr: event.lr,
      grad_norm: event.gradNorm,
      tokens_per_s: Math.round(event.tokensPerSecond),
      elapsed_s: event.elapsedMs / 1000,
      ...(event.skipped ? { skipped: true } : {}),
    });
  }
  if (event.type === 'eval') {
    return JSON.stringify({
      step: event.step,
      val_loss: event.loss,
      val_perplexity: event.perplexity,
      val_bits_per_token: event.bitsPerToken,
    });
  }
  return undefined;
}

/**
 * The checkpoint of run directory `dir` that a pointer file (`latest.json` or `best.json`) names,
 * or undefined; reads only. For `latest`, a pointer that is missing, unreadable or names an
 * incomplete directory falls back to the newest complete checkpoint directory, so a run killed
 * at any moment can be resumed. A pointer can only name `checkpoints/step-N` inside `dir`.
 */
export async function findCheckpoint(
  dir: string,
  pointer: 'latest' | 'best' = 'latest',
): Promise<string | undefined> {
  const named = await pointerTarget(dir, pointer);
  if (pointer === 'best' || (named !== undefined && (await isCheckpoint(named)))) return named;
  const steps = await readdir(join(dir, 'checkpoints')).catch(() => [] as string[]);
  for (const d of steps
    .filter((d) => /^step-\d+$/.test(d))
    .sort()
    .reverse()) {
    const path = join(dir, 'checkpoints', d);
    if (await isCheckpoint(path)) return path;
  }
  return undefined;
}

async function pointerTarget(dir: string, pointer: 'latest' | 'best'): Promise<string | undefined> {
  try {
    const { checkpoint } = JSON.parse(await readFile(join(dir, `${pointer}.json`), 'utf8'));
    if (typeof checkpoint !== 'string' || !/^checkpoints\/step-\d+$/.test(checkpoint))
      return undefined;
    return join(dir, checkpoint);
  } catch {
    return undefined;
  }
}

/** Whether `dir` holds every file a resumable checkpoint needs. */
async function isCheckpoint(dir: string): Promise<boolean> {
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

export {
  checkDatasetOut,
  DEFAULT_BPE_SAMPLE_BYTES,
  type PreparedDataset,
  type PrepareOptions,
  type PreparePhase,
  prepareTokenDataset,
  type StreamOptions,
  type TokenizerSpec,
  type TokenizeToFileOptions,
  tokenizeToFile,
  trainTokenizerOnFiles,
} from './prepare-tokens.js';
export {
  hashFiles,
  type TextProgress,
  TextSourceError,
  type TextSourceInfo,
  TextStream,
  type TextStreamOptions,
} from './text-stream.js';
export {
  dtypeBytes,
  encodeTokenBytes,
  FileTokenSource,
  openTokenDataset,
  readTokenDatasetMeta,
  TOKEN_DATASET_FILES,
  type TokenDataset,
  type TokenDatasetMeta,
  type TokenDtype,
  tokenDtype,
  trainTokenCount,
  validateTokenDatasetMeta,
} from './token-file.js';
