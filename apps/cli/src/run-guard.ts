/**
 * What `train --resume` may and may not change, and the corpus a run records: the rules that
 * keep a resumed run the same run. A flag that only steers the rest of the run (steps, learning
 * rate, schedule, cadence) applies and is reported; one that would make the checkpoint a
 * different model or break exact resume (shape, tokenizer, window, batch, seed) is refused.
 */
import { resolve } from 'node:path';
import { hashRegularFile } from '@primer-ez/node-io';
import { type PrimerConfig, presetConfig, presetName } from '@primer-ez/primer-layers';
import type { TrainerOptions } from '@primer-ez/trainer';
import type { CorpusRecord } from '@primer-ez/trainer/node';
import { CONFIG_FLAGS, type Flags, type Values } from './args.js';
import { CliError, UsageError } from './errors.js';

/** The flags given on the command line (no defaults filled in). */
export function explicitFlags(flags: Flags): Flags {
  return Object.fromEntries(
    Object.entries(flags).map(([name, flag]) => {
      const { default: _, ...rest } = flag as Flags[string] & { default?: unknown };
      return [name, rest as Flags[string]];
    }),
  );
}

/** Trainer options a resume may change: flag → option. */
const CHANGEABLE: Record<string, keyof TrainerOptions> = {
  steps: 'totalSteps',
  lr: 'lr',
  warmup: 'warmup',
  schedule: 'schedule',
  'non-finite': 'nonFinite',
  'grad-clip': 'gradClip',
  'weight-decay': 'weightDecay',
};

/** Trainer options fixed for the life of a run: flag → option, and why. */
const FIXED: Record<string, [keyof TrainerOptions, string]> = {
  'batch-size': ['batchSize', 'the batches of an exact resume are drawn at this size'],
  'seq-len': ['seqLen', 'the windows of an exact resume have this length'],
  accumulate: ['accumulate', 'each step averages this many micro-batches'],
  seed: ['seed', 'the seed fixes the run’s batches and dropout'],
  optimizer: ['optimizer', 'the optimiser state saved is this optimiser’s'],
  'eval-windows': ['evalWindows', 'best.json compares validation losses over the same windows'],
};

/**
 * Loop settings kept in run.json and reused on resume unless given again (`--max-minutes` is
 * not: it counts the time before a resume, so an old budget would end a resumed run at once).
 */
export const LOOP_SETTINGS = [
  'eval-every',
  'checkpoint-every',
  'sample-length',
  'workers',
] as const;

/** Refuses a flag that cannot change on resume and differs from the run's value ({@link UsageError}). */
export function checkFixedOptions(given: Values, options: TrainerOptions): void {
  for (const [flag, [key, why]] of Object.entries(FIXED)) {
    const value = given[flag];
    if (value !== undefined && value !== options[key])
      throw new UsageError(
        `train --resume: --${flag} cannot change on resume (the run uses ${options[key]}; ${why}); leave it out, or start a new run with another --out.`,
      );
  }
}

/**
 * The trainer overrides for a resume from `given` (explicit flags only) and what they change
 * from the run's `options` (`--lr 0.0001 (was 0.001)`).
 */
export function resumeOverrides(
  given: Values,
  options: TrainerOptions,
): { overrides: Partial<TrainerOptions>; changes: string[] } {
  const overrides: Partial<TrainerOptions> = {};
  const changes: string[] = [];
  for (const [flag, key] of Object.entries(CHANGEABLE)) {
    const value = given[flag];
    if (value === undefined) continue;
    (overrides as Record<string, unknown>)[key] = value;
    if (value !== options[key]) changes.push(`--${flag} ${value} (was ${options[key]})`);
  }
  return { overrides, changes };
}

/**
 * Refuses model-shape flags (`--preset`, `--arch`, `--config`, the config keys) that describe a
 * model other than the checkpoint's; the same shape given again is accepted.
 */
export function checkSameModel(
  given: Values,
  fileConfig: Record<string, unknown>,
  saved: PrimerConfig,
  vocabSize: number,
): void {
  const shapeFlags = ['preset', 'arch', 'config', ...Object.keys(CONFIG_FLAGS)].filter(
    (f) => given[f] !== undefined,
  );
  if (shapeFlags.length === 0) return;
  const preset = (given.preset as string | undefined) ?? 'small';
  let asked: PrimerConfig;
  try {
    const name = presetName(preset, given.arch === 'vanilla' ? 'vanilla' : 'primer-ez');
    const overrides: Record<string, unknown> = { ...fileConfig };
    for (const flag of Object.keys(CONFIG_FLAGS)) {
      const v = given[flag];
      if (v !== undefined)
        overrides[flag.replaceAll('-', '_')] = v === 'true' ? true : v === 'false' ? false : v;
    }
    // Flags that say nothing about a key keep the checkpoint's value for it.
    asked =
      given.preset !== undefined || given.arch !== undefined
        ? presetConfig(name, vocabSize, { ...pickConfigOnly(saved, given), ...overrides })
        : ({ ...saved, ...overrides } as PrimerConfig);
  } catch (error) {
    throw new UsageError(`train --resume: ${(error as Error).message}`);
  }
  const savedRecord = saved as unknown as Record<string, unknown>;
  const askedRecord = asked as unknown as Record<string, unknown>;
  const differs = Object.keys(savedRecord).find(
    (k) => JSON.stringify(savedRecord[k]) !== JSON.stringify(askedRecord[k]),
  );
  if (differs !== undefined)
    throw new UsageError(
      `train --resume: ${shapeFlags.map((f) => `--${f}`).join(', ')} describe${shapeFlags.length === 1 ? 's' : ''} another model ` +
        `(${differs} ${JSON.stringify(askedRecord[differs])}, the run's is ${JSON.stringify(savedRecord[differs])}); ` +
        "a checkpoint's shape cannot change on resume: leave the flag out, or start a new run with another --out.",
    );
}

/** The vocab size the run set explicitly (it is not a preset key). */
function pickConfigOnly(saved: PrimerConfig, given: Values): Record<string, unknown> {
  return given['vocab-size'] === undefined ? { vocab_size: saved.vocab_size } : {};
}

/** The record of `--text` files (or the embedded corpus) for run.json. */
export async function corpusRecord(
  paths: readonly string[] | undefined,
  source: string,
): Promise<CorpusRecord> {
  const files: CorpusRecord['files'] = [];
  for (const path of paths ?? []) {
    try {
      files.push({ path: resolve(path), ...(await hashRegularFile(path)) });
    } catch (error) {
      throw new CliError(`--text ${path}: ${(error as Error).message}`);
    }
  }
  return { source, files };
}

/** Whether two corpus records hold the same text (same files' contents, in the same order). */
export function sameCorpus(a: CorpusRecord, b: CorpusRecord): boolean {
  return (
    a.files.length === b.files.length &&
    a.files.every((f, i) => f.sha256 === b.files[i]!.sha256 && f.size === b.files[i]!.size)
  );
}

/** A corpus, for a message: its files with sizes, or the embedded one. */
export function describeCorpus(c: CorpusRecord): string {
  return c.files.length === 0
    ? c.source
    : c.files
        .map((f) => `${f.path} (${f.size} bytes, sha256 ${f.sha256.slice(0, 12)}…)`)
        .join(', ');
}
