import { join } from 'node:path';
import type { BackendInfo } from '@primer-ez/backend-node';
import {
  type ConfigInput,
  type PresetName,
  PrimerModel,
  presetConfig,
  presetName,
} from '@primer-ez/primer-layers';
import { type Tokenizer, trainByteLevelBpe, trainCharTokenizer } from '@primer-ez/tokenizer';
import {
  splitTokens,
  type TokenSource,
  type TokenSplit,
  Trainer,
  type TrainerOptions,
} from '@primer-ez/trainer';
import type { RunDirectory, TokenDataset } from '@primer-ez/trainer/node';
import { configFromFlags } from '../args.js';
import { loadTokenizerFile, shownPath } from '../common.js';
import { CORPUS_SOURCES, readCorpus } from '../corpus.js';
import {
  CliError,
  inFlagTerms,
  TRAIN_OPTION_FLAGS,
  UsageError,
  unknownCharacterFix,
} from '../errors.js';
import { corpusRecord, LOOP_SETTINGS } from '../run-guard.js';
import { openDataset, runTokenData, trainTokenizerOnText } from '../token-data.js';
import { resolveWorkers } from '../workers.js';
import type { TrainValues } from './train.js';

/** The create step of `train`: what a fresh run needs (see {@link createRun}). */
export interface CreateInputs {
  v: TrainValues;
  outDir: string;
  /** The --text files (stdin already kept as a file), or undefined. */
  textPaths: string[] | undefined;
  dataDir: string | undefined;
  fileConfig: Record<string, unknown>;
  /** The caller's loop settings, filled from the flags given. */
  settings: Record<string, string | number | boolean>;
  backend: BackendInfo;
  openOut: (mode: 'fresh' | 'overwrite') => Promise<RunDirectory>;
  arch: 'primer-ez' | 'vanilla';
  preset: string;
}

export const MOBY_DICK = CORPUS_SOURCES['moby-dick'];

/**
 * A fresh run: its data (--data, --text tokenized into RUN/data, or an embedded corpus), its
 * tokenizer, config, model and trainer, and its run directory opened with `run.json` written.
 */
export async function createRun({
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
}: CreateInputs): Promise<{
  trainer: Trainer;
  tokenizer: Tokenizer;
  dataset: TokenDataset | undefined;
  out: RunDirectory;
}> {
  let dataset: TokenDataset | undefined;
  let trainer: Trainer;
  let tokenizer: Tokenizer;
  let out: RunDirectory | undefined;
  const embedded = v.corpus ?? 'moby-dick';
  let source = CORPUS_SOURCES[embedded];
  let split: TokenSplit<TokenSource> | undefined;
  if (dataDir !== undefined) {
    dataset = await openDataset(dataDir, `--data ${dataDir}`);
    tokenizer = dataset.tokenizer;
    split = dataset.split;
    source = `${dataDir} (${dataset.meta.sources.map((s) => s.path).join(', ')})`;
  } else if (textPaths !== undefined) {
    source = (v.text ?? [])
      .map((p) =>
        p === '-' ? `standard input (kept in ${shownPath(join(outDir, 'stdin.txt'))})` : p,
      )
      .join(', ');
    tokenizer = v['tokenizer-file']
      ? await loadTokenizerFile(v['tokenizer-file'], '--tokenizer-file')
      : await trainTokenizerOnText(
          textPaths,
          v.tokenizer === 'bpe'
            ? {
                kind: 'bpe',
                vocabSize: v['vocab-size-bpe'],
                specialTokens: ['<|endoftext|>'],
              }
            : { kind: 'char' },
        );
  } else {
    const corpus = await readCorpus(undefined, embedded);
    tokenizer = v['tokenizer-file']
      ? await loadTokenizerFile(v['tokenizer-file'], '--tokenizer-file')
      : v.tokenizer === 'bpe'
        ? trainByteLevelBpe(corpus.text, {
            vocabSize: v['vocab-size-bpe'],
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
  const model = PrimerModel.create(config, { seed: v.seed });
  const options: Partial<TrainerOptions> = {
    batchSize: v['batch-size'],
    lr: v.lr,
    warmup: v.warmup,
    schedule: v.schedule,
    optimizer: v.optimizer,
    weightDecay: v['weight-decay'],
    gradClip: v['grad-clip'],
    nonFinite: v['non-finite'],
    accumulate: v.accumulate,
    seed: v.seed,
    totalSteps: v.steps,
    evalWindows: v['eval-windows'],
    workers: resolveWorkers(v.workers, backend, v['batch-size']),
  };
  if (v['seq-len'] !== undefined) options.seqLen = v['seq-len'];
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
  return { trainer, tokenizer, dataset, out };
}

export function encodeCorpus(tokenizer: Tokenizer, text: string): Int32Array {
  try {
    return Int32Array.from(tokenizer.encode(text));
  } catch (error) {
    throw new CliError(
      `train: the text cannot be encoded with this tokenizer: ${unknownCharacterFix((error as Error).message, 'train on text the tokenizer knows (the text it was made from), or with --tokenizer bpe, which encodes any text.')}`,
    );
  }
}
