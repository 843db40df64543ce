import { join, resolve } from 'node:path';
import { isStale, LOCK_FILE, readLock, readRegularTextFile } from '@primer-ez/node-io';
import type { Tokenizer } from '@primer-ez/tokenizer';
import { DEFAULT_TRAINER_OPTIONS, type Trainer } from '@primer-ez/trainer';
import {
  RunDirectory,
  RunDirectoryError,
  runFilesIn,
  type TokenDataset,
} from '@primer-ez/trainer/node';
import {
  CONFIG_FLAGS,
  checkConfigFile,
  type Flags,
  help,
  PRESET_SIZES,
  parse,
  type ValuesOf,
} from '../args.js';
import { BACKEND_FLAG, setupBackend, shownPath, TOKENIZER_FLAGS } from '../common.js';
import { CORPUS_FLAG } from '../corpus.js';
import { CliError, UsageError } from '../errors.js';
import { explicitFlags } from '../run-guard.js';
import { stdinAsFile } from '../stdio.js';
import { WORKERS_FLAG } from '../workers.js';
import { createRun } from './train-create.js';
import { resumeRun } from './train-resume.js';
import { trainRun } from './train-run.js';

export const TRAIN_FLAGS = {
  text: {
    type: 'string',
    multiple: true,
    placeholder: 'FILE',
    description:
      'training text file (repeatable; - reads stdin), tokenized in chunks into RUN/data; default: the embedded Moby-Dick (or --corpus)',
  },
  ...CORPUS_FLAG,
  data: {
    type: 'string',
    placeholder: 'DIR',
    description: 'token dataset directory from primer-ez data prepare (instead of --text)',
  },
  preset: {
    type: 'enum',
    values: PRESET_SIZES,
    default: 'small',
    description: 'model size',
  },
  arch: {
    type: 'enum',
    values: ['primer-ez', 'vanilla'],
    default: 'primer-ez',
    description: 'Primer EZ or the vanilla baseline of the same shape',
  },
  config: {
    type: 'string',
    placeholder: 'FILE',
    description: 'JSON file of config keys (applied after the preset, before flags)',
  },
  ...TOKENIZER_FLAGS,
  steps: {
    type: 'int',
    min: 1,
    default: DEFAULT_TRAINER_OPTIONS.totalSteps,
    description: 'optimiser steps (the cosine schedule ends here)',
  },
  'max-minutes': {
    type: 'float',
    min: 0,
    description: 'stop (validate, save, sample) after this much training time',
  },
  'batch-size': {
    type: 'int',
    min: 1,
    default: DEFAULT_TRAINER_OPTIONS.batchSize,
    description: 'windows per step',
  },
  'seq-len': { type: 'int', min: 1, description: 'window length (default: max_seq_len)' },
  lr: {
    type: 'float',
    min: 0,
    default: DEFAULT_TRAINER_OPTIONS.lr,
    description: 'peak learning rate',
  },
  warmup: {
    type: 'int',
    min: 0,
    default: DEFAULT_TRAINER_OPTIONS.warmup,
    description: 'linear warmup steps',
  },
  schedule: {
    type: 'enum',
    values: ['cosine', 'constant', 'noam'],
    default: DEFAULT_TRAINER_OPTIONS.schedule,
    description: 'learning-rate schedule',
  },
  optimizer: {
    type: 'enum',
    values: ['adamw', 'adam'],
    default: DEFAULT_TRAINER_OPTIONS.optimizer,
    description: 'AdamW (decoupled weight decay) or Adam',
  },
  'weight-decay': {
    type: 'float',
    min: 0,
    default: DEFAULT_TRAINER_OPTIONS.weightDecay,
    description: 'AdamW weight decay (matrices, embeddings, conv kernels)',
  },
  'grad-clip': {
    type: 'float',
    min: 0,
    default: DEFAULT_TRAINER_OPTIONS.gradClip,
    description: 'global gradient-norm clip (0: off)',
  },
  'non-finite': {
    type: 'enum',
    values: ['stop', 'skip'],
    default: DEFAULT_TRAINER_OPTIONS.nonFinite,
    description: `on a NaN/Inf loss or gradient: stop (nothing updated or saved) or skip the step (at most ${DEFAULT_TRAINER_OPTIONS.maxSkips} in a row)`,
  },
  accumulate: {
    type: 'int',
    min: 1,
    default: DEFAULT_TRAINER_OPTIONS.accumulate,
    description: 'micro-batches per step (gradient accumulation)',
  },
  seed: {
    type: 'int',
    min: 0,
    default: DEFAULT_TRAINER_OPTIONS.seed,
    description: 'seeds the weights, the batches and dropout',
  },
  'eval-every': {
    type: 'int',
    min: 0,
    default: 100,
    description: 'validate (and print a sample) every N steps',
  },
  'eval-windows': {
    type: 'int',
    min: 1,
    default: DEFAULT_TRAINER_OPTIONS.evalWindows,
    description: 'validation windows scored at each evaluation',
  },
  'checkpoint-every': {
    type: 'int',
    min: 0,
    default: 500,
    description: 'save a periodic checkpoint every N steps',
  },
  'sample-length': {
    type: 'int',
    min: 0,
    default: 200,
    description: 'characters of sample printed at each evaluation',
  },
  out: {
    type: 'string',
    placeholder: 'DIR',
    description: 'run directory (default: runs/<arch>-<preset>-<time>)',
  },
  resume: {
    type: 'boolean',
    description:
      'continue the run in --out from its newest checkpoint that loads, exactly (--steps, --lr, --schedule, --warmup, cadence flags may change)',
  },
  overwrite: {
    type: 'boolean',
    description:
      'start over in an --out that already holds a run (deletes its checkpoints and metrics)',
  },
  'allow-corpus-change': {
    type: 'boolean',
    description: 'with --resume: train on --text files other than the run was started with',
  },
  ...BACKEND_FLAG,
  ...WORKERS_FLAG,
  ...CONFIG_FLAGS,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Flags;

/** The values of `primer-ez train`'s flags, typed by the flags. */
export type TrainValues = ValuesOf<typeof TRAIN_FLAGS>;

export async function train(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse('train', argv, TRAIN_FLAGS);
  if (v.help) {
    process.stdout.write(
      help(
        'primer-ez train [flags]: train Primer EZ (or vanilla) and save checkpoints in a run directory',
        TRAIN_FLAGS,
      ),
    );
    return;
  }
  if (positionals.length > 0)
    throw new UsageError(
      `train: unexpected argument ${JSON.stringify(positionals[0])}; text files go after --text.`,
    );
  if (v.resume && v.out === undefined)
    throw new UsageError('train: --resume needs --out RUN_DIR (the run to continue).');
  if (v.resume && v.overwrite)
    throw new UsageError(
      'train: --resume continues the run in --out and --overwrite starts it over; give one.',
    );
  if (!v.resume && v['allow-corpus-change'])
    throw new UsageError('train: --allow-corpus-change goes with --resume.');
  if (v.corpus !== undefined && (v.text !== undefined || v.data !== undefined))
    throw new UsageError(
      `train: --corpus ${v.corpus} and ${v.text !== undefined ? '--text' : '--data'} both name the training data; give one (--corpus picks an embedded text).`,
    );
  const given = parse('train', argv, explicitFlags(TRAIN_FLAGS)).values;

  const arch = v.arch;
  const preset = v.preset;
  const outDir = resolve(
    v.out ??
      join(
        'runs',
        `${arch}-${preset}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`,
      ),
  );
  // Refuse a run directory that holds a run before the slow work (the same check runs again
  // under the directory's lock when it is opened).
  if (!v.resume && !v.overwrite) await refuseNonEmpty(outDir, await runFilesIn(outDir));
  const fileConfig = v.config ? checkConfigFile(v.config, await readJson(v.config)) : {};
  const backend = await setupBackend(v.backend);
  const openOut = (mode: 'resume' | 'fresh' | 'overwrite') =>
    RunDirectory.open(outDir, { mode }).catch(async (error: Error) => {
      if (error instanceof RunDirectoryError && error.code === 'NOT_EMPTY')
        await refuseNonEmpty(outDir, await runFilesIn(outDir));
      throw new CliError(`--out: ${error.message}`);
    });

  // `--text -`: stdin is kept in the run directory, a file the passes over the text can re-read.
  const textPaths =
    v.text === undefined
      ? undefined
      : await stdinAsFile(v.text, join(outDir, 'stdin.txt')).catch((error: Error) => {
          if (error instanceof CliError) throw error;
          throw new CliError(`--out: cannot write the run directory ${outDir}: ${error.message}`);
        });
  const dataDir = v.data;
  if (dataDir !== undefined && textPaths !== undefined)
    throw new UsageError('train: --data and --text both name the training data; give one.');
  if (dataDir !== undefined && v['tokenizer-file'] !== undefined)
    throw new UsageError(
      'train: --data DIR brings its own tokenizer (DIR/tokenizer.json); drop --tokenizer-file.',
    );
  // The training data: token files (--data, or --text tokenized into RUN/data), or the embedded
  // Moby-Dick in memory.
  let dataset: TokenDataset | undefined;
  let trainer: Trainer;
  let tokenizer: Tokenizer;
  let out: RunDirectory | undefined;
  const settings: Record<string, string | number | boolean> = {};
  if (v.resume) {
    out = await openOut('resume');
    try {
      ({ trainer, tokenizer, dataset } = await resumeRun(
        out,
        v,
        given,
        fileConfig,
        settings,
        backend,
      ));
    } catch (error) {
      await out.close();
      throw error;
    }
  } else {
    ({ trainer, tokenizer, dataset, out } = await createRun({
      v,
      outDir,
      textPaths,
      dataDir,
      fileConfig,
      settings,
      backend,
      openOut,
      arch,
      preset,
    }));
  }
  const run = out;
  process.stderr.write(`run directory: ${shownPath(outDir)}\n`);
  try {
    await trainRun(trainer, tokenizer, run, outDir, v, settings, backend);
  } finally {
    dataset?.close();
    await run.close();
  }
}

async function readJson(path: string): Promise<unknown> {
  const text = await readRegularTextFile(path, { maxBytes: 1 << 20 }).catch((error: Error) => {
    throw new UsageError(`--config ${error.message.replace(/^cannot read /, '')}.`);
  });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config ${path}: not valid JSON (${(error as Error).message}).`);
  }
}

/**
 * A fresh `train` into a directory that holds a run is refused, naming the two ways on (or the
 * live process that writes it, if one does).
 */
async function refuseNonEmpty(outDir: string, found: string[]): Promise<void> {
  if (found.length === 0) return;
  const holder = await readLock(join(outDir, LOCK_FILE));
  if (typeof holder === 'object' && !isStale(holder))
    throw new CliError(
      `--out: ${outDir} is in use by another process (pid ${holder.pid} on host ${holder.host}, since ${holder.started}); wait for it to finish, or choose another --out.`,
    );
  throw new CliError(
    `train: --out ${outDir} already holds a run (${found.slice(0, 3).join(', ')}${found.length > 3 ? ', …' : ''}); ` +
      'add --resume to continue it, --overwrite to start over in it, or choose another --out.',
  );
}
