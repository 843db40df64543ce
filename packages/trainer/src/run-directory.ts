/**
 * A run directory: the checkpoint sink of a training run, its `latest.json` / `best.json`
 * pointers, `run.json`, `metrics.jsonl` and its `run.lock` (see `node.ts` for the layout).
 */
import { access, appendFile, constants, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  DirectoryLock,
  type FileReadError,
  LOCK_FILE,
  LockedError,
  MAX_BUFFER_BYTES,
  readRegularTextFile,
  tempIsAbandoned,
  tempOwner,
  writeFileAtomic,
} from '@primer-ez/node-io';
import { isCheckpoint, readSnapshotDir, writeSnapshotDir } from './snapshot-files.js';
import type { CheckpointKind, CheckpointSink, TrainEvent, TrainerSnapshot } from './trainer.js';

/** How {@link RunDirectory.open} treats a directory that already holds a run. */
export type OpenMode =
  /** Continue what is there (the default; `--resume`). */
  | 'resume'
  /** Refuse a directory that already holds a run's files (a fresh `train`). */
  | 'fresh'
  /** Delete the run's files (metrics, pointers, checkpoints, run.json) and start over. */
  | 'overwrite';

/** Why a run directory cannot be used; `code` tells the cases apart. */
export class RunDirectoryError extends Error {
  override name = 'RunDirectoryError';
  constructor(
    message: string,
    readonly code: 'LOCKED' | 'NOT_EMPTY' | 'NOT_WRITABLE',
  ) {
    super(message);
  }
}

/** `run.json`: what a run was started with, so that a resume can check it gets the same. */
export interface RunInfo {
  format: 'primer-ez-run';
  version: 1;
  /** The training corpus: its source, and each file's path, size and SHA-256. */
  corpus?: CorpusRecord;
  /** Settings of the run's caller that a resume reuses unless given again (e.g. the CLI's cadence). */
  settings?: Record<string, string | number | boolean>;
}

/** A corpus as recorded in `run.json`. */
export interface CorpusRecord {
  /** Where the text came from, for people (`Moby-Dick (embedded…)`, file paths). */
  source: string;
  /** The text files in order (absolute paths); empty for the embedded corpus. */
  files: { path: string; size: number; sha256: string }[];
}

/** The files of a run that make a directory "hold a run". */
const RUN_FILES = ['metrics.jsonl', 'latest.json', 'best.json', 'run.json'];

/**
 * The run files `dir` holds (pointers, metrics, run.json, checkpoints), without locking or
 * creating anything: empty when there is no run there. {@link RunDirectory.open} with
 * `mode: 'fresh'` makes the same check under the lock.
 */
export async function runFilesIn(dir: string): Promise<string[]> {
  const top = (await readdir(dir).catch(() => [] as string[])).filter((n) => RUN_FILES.includes(n));
  const checkpoints = (await readdir(join(dir, 'checkpoints')).catch(() => [] as string[])).map(
    (n) => `checkpoints/${n}`,
  );
  return [...top, ...checkpoints];
}

/**
 * A run directory: the checkpoint sink of a training run, its pointers and its metrics log.
 * Keeps the `keep` most recent periodic checkpoints, plus the best and the latest. An open run
 * directory holds its lock (`run.lock`) until {@link RunDirectory.close} or the process ends.
 */
export class RunDirectory implements CheckpointSink {
  private constructor(
    readonly dir: string,
    readonly keep: number,
    private readonly lock: DirectoryLock,
  ) {}

  /**
   * Opens (creating if needed) a run directory and takes its lock, failing early with a clear
   * message if it is not writable, is held by another live process (`LOCKED`, naming it), or —
   * with `mode: 'fresh'` — already holds a run (`NOT_EMPTY`).
   */
  static async open(
    dir: string,
    { keep = 3, mode = 'resume' }: { keep?: number; mode?: OpenMode } = {},
  ): Promise<RunDirectory> {
    const path = resolve(dir);
    try {
      await mkdir(join(path, 'checkpoints'), { recursive: true });
      await access(path, constants.W_OK);
    } catch (error) {
      throw new RunDirectoryError(
        `cannot write the run directory ${path}: ${(error as Error).message}; choose another --out.`,
        'NOT_WRITABLE',
      );
    }
    let lock: DirectoryLock;
    try {
      lock = await DirectoryLock.acquire(path);
    } catch (error) {
      if (error instanceof LockedError) throw new RunDirectoryError(error.message, 'LOCKED');
      throw error;
    }
    const run = new RunDirectory(path, keep, lock);
    try {
      if (mode === 'fresh') {
        const found = await runFilesIn(path);
        if (found.length > 0)
          throw new RunDirectoryError(
            `${path} already holds a run (${found.slice(0, 3).join(', ')}${found.length > 3 ? ', …' : ''})`,
            'NOT_EMPTY',
          );
      }
      if (mode === 'overwrite') await run.clear();
      await run.repair();
    } catch (error) {
      await lock.release();
      throw error;
    }
    return run;
  }

  /** Gives up the lock; the directory stays as it is. */
  close(): Promise<void> {
    return this.lock.release();
  }

  private async clear(): Promise<void> {
    for (const name of RUN_FILES) await rm(join(this.dir, name), { force: true });
    const checkpoints = join(this.dir, 'checkpoints');
    for (const name of await readdir(checkpoints))
      await rm(join(checkpoints, name), { recursive: true, force: true });
  }

  /**
   * Undoes what a save killed part-way leaves behind: temporary checkpoint directories and files
   * are removed, and a checkpoint moved aside to be replaced (`step-N.old-*`) whose replacement
   * never landed is moved back. Only debris of this process or of a process that is provably
   * dead is touched (the names carry the writer's pid); names without a pid come from versions
   * that took no lock, and are removed since this process now holds the directory's lock.
   */
  private async repair(): Promise<void> {
    const abandoned = (name: string) => tempOwner(name)?.pid === undefined || tempIsAbandoned(name);
    const checkpoints = join(this.dir, 'checkpoints');
    for (const name of await readdir(checkpoints)) {
      const path = join(checkpoints, name);
      if (/\.tmp-[0-9a-f-]+$/.test(name) && abandoned(name))
        await rm(path, { recursive: true, force: true });
      const old = /^(step-\d+)\.old-(?:(\d+)-)?[0-9a-f]+$/.exec(name);
      if (old && abandoned(name.replace('.old-', '.tmp-'))) {
        const target = join(checkpoints, old[1]!);
        if (await isCheckpoint(target)) await rm(path, { recursive: true, force: true });
        else {
          await rm(target, { recursive: true, force: true });
          await rename(path, target);
        }
      }
    }
    for (const name of await readdir(this.dir))
      if (name.endsWith('.tmp') && name !== LOCK_FILE && tempOwner(name) && abandoned(name))
        await rm(join(this.dir, name), { force: true });
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

  /**
   * The checkpoints a resume may start from, newest first: the one `latest.json` names, then
   * every `checkpoints/step-N` by descending step. A caller tries them in order and keeps the
   * first that loads (see {@link restoreNewest}).
   */
  async resumeCandidates(): Promise<string[]> {
    const named = await pointerTarget(this.dir, 'latest');
    const steps = (await readdir(join(this.dir, 'checkpoints')).catch(() => [] as string[]))
      .filter((d) => /^step-\d+$/.test(d))
      .sort()
      .reverse()
      .map((d) => join(this.dir, 'checkpoints', d));
    return [...new Set([...(named !== undefined ? [named] : []), ...steps])];
  }

  /** Appends events as JSON lines to `metrics.jsonl` (step and eval events). */
  async log(event: TrainEvent): Promise<void> {
    const line = metricsLine(event);
    if (line) await appendFile(join(this.dir, 'metrics.jsonl'), `${line}\n`);
  }

  /**
   * Cuts `metrics.jsonl` back to the lines of steps ≤ `step` (the checkpoint a resume starts
   * from), dropping the lines of steps that will be trained again and a line cut short by a
   * kill, so that no step appears twice. Returns how many lines were dropped.
   */
  async truncateMetrics(step: number): Promise<number> {
    const path = join(this.dir, 'metrics.jsonl');
    let text: string;
    try {
      text = await readRegularTextFile(path, { maxBytes: MAX_BUFFER_BYTES });
    } catch (error) {
      if ((error as FileReadError).code === 'ENOENT') return 0;
      throw error;
    }
    const lines = text.split('\n').filter((l) => l !== '');
    const kept = lines.filter((line) => {
      try {
        const s = (JSON.parse(line) as { step?: unknown }).step;
        return typeof s === 'number' && s <= step;
      } catch {
        return false;
      }
    });
    if (kept.length === lines.length && (text === '' || text.endsWith('\n'))) return 0;
    await writeFileAtomic(path, kept.length > 0 ? `${kept.join('\n')}\n` : '');
    return lines.length - kept.length;
  }

  /** `run.json`, or undefined for a run started before it was written (or without one). */
  async readInfo(): Promise<RunInfo | undefined> {
    let text: string;
    try {
      text = await readRegularTextFile(join(this.dir, 'run.json'), { maxBytes: 16 * 2 ** 20 });
    } catch (error) {
      if ((error as FileReadError).code === 'ENOENT') return undefined;
      throw error;
    }
    try {
      const info = JSON.parse(text) as RunInfo;
      if (info?.format === 'primer-ez-run') return info;
    } catch {}
    throw new Error(`${join(this.dir, 'run.json')} is not a primer-ez run.json; it is damaged.`);
  }

  /** Writes `run.json` (atomically). */
  async writeInfo(info: Omit<RunInfo, 'format' | 'version'>): Promise<void> {
    const full: RunInfo = { format: 'primer-ez-run', version: 1, ...info };
    await writeFileAtomic(join(this.dir, 'run.json'), `${JSON.stringify(full, null, 2)}\n`);
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
 * Restores the newest checkpoint of `candidates` that loads: each is read (bounded, see
 * {@link readSnapshotDir}) and handed to `restore`, which checks it (CRC, parse, finite weights)
 * by building from it; the first that succeeds wins. Returns it with the ones skipped and why
 * (one line each), or throws naming every failure when none loads.
 */
export async function restoreNewest<T>(
  candidates: readonly string[],
  restore: (snapshot: TrainerSnapshot, dir: string) => T | Promise<T>,
): Promise<{ value: T; dir: string; skipped: { dir: string; reason: string }[] }> {
  const skipped: { dir: string; reason: string }[] = [];
  for (const dir of candidates) {
    try {
      const value = await restore(await readSnapshotDir(dir), dir);
      return { value, dir, skipped };
    } catch (error) {
      const message = (error as Error).message.split('\n')[0] ?? String(error);
      skipped.push({ dir, reason: message });
    }
  }
  throw new Error(
    skipped.length === 0
      ? 'there is no checkpoint to resume from'
      : `no checkpoint loads: ${skipped.map((s) => `${relative(process.cwd(), s.dir) || s.dir}: ${s.reason}`).join('; ')}`,
  );
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
    const { checkpoint } = JSON.parse(
      await readRegularTextFile(join(dir, `${pointer}.json`), { maxBytes: 4096 }),
    );
    if (typeof checkpoint !== 'string' || !/^checkpoints\/step-\d+$/.test(checkpoint))
      return undefined;
    return join(dir, checkpoint);
  } catch {
    return undefined;
  }
}
