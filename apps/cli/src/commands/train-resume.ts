import { join } from 'node:path';
import type { BackendInfo } from '@primer-ez/backend-node';
import { readSafetensors } from '@primer-ez/primer-layers';
import { loadTokenizerJson, type Tokenizer } from '@primer-ez/tokenizer';
import {
  splitTokens,
  type TokenSource,
  type TokenSplit,
  Trainer,
  type TrainerOptions,
  type TrainerSnapshot,
} from '@primer-ez/trainer';
import {
  type CorpusRecord,
  type RunDirectory,
  restoreNewest,
  type TokenDataset,
} from '@primer-ez/trainer/node';
import type { Values } from '../args.js';
import { shownPath } from '../common.js';
import { CORPUS_SOURCES, embeddedCorpus, readCorpus } from '../corpus.js';
import { CliError, UsageError } from '../errors.js';
import {
  checkFixedOptions,
  checkSameModel,
  corpusRecord,
  describeCorpus,
  LOOP_SETTINGS,
  resumeOverrides,
  sameCorpus,
} from '../run-guard.js';
import {
  checkSameTokenizer,
  hasRunData,
  openDataset,
  RUN_DATA_DIR,
  runTokenData,
} from '../token-data.js';
import { resolveWorkers } from '../workers.js';
import type { TrainValues } from './train.js';
import { encodeCorpus } from './train-create.js';

/**
 * Restores the run in `out` from its newest checkpoint that loads, on the recorded corpus, with
 * the flags that may change applied (and reported) and those that may not refused.
 */
export async function resumeRun(
  out: RunDirectory,
  v: TrainValues,
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
  const dataDir = v.data;
  let paths = v.text;
  // --corpus names an embedded text; without it, the embedded text the run recorded (Moby-Dick
  // for runs from before --corpus).
  const asked = v.corpus;
  const recordedEmbedded =
    recorded !== undefined && recorded.files.length === 0
      ? embeddedCorpus(recorded.source)
      : undefined;
  const embedded = asked ?? recordedEmbedded ?? 'moby-dick';
  const ownData =
    dataDir === undefined &&
    paths === undefined &&
    asked === undefined &&
    (await hasRunData(out.dir));
  if (
    paths === undefined &&
    asked === undefined &&
    !ownData &&
    recorded !== undefined &&
    recorded.files.length > 0
  )
    paths = recorded.files.map((f) => f.path);
  let record: CorpusRecord = await corpusRecord(
    paths,
    dataDir !== undefined ? `--data ${dataDir}` : (paths?.join(', ') ?? CORPUS_SOURCES[embedded]),
  );
  if (ownData && recorded !== undefined) record = recorded;
  // Two embedded texts have no files to compare: their names tell them apart.
  const otherEmbedded =
    asked !== undefined && recordedEmbedded !== undefined && asked !== recordedEmbedded;
  if (
    recorded !== undefined &&
    (!sameCorpus(recorded, record) || otherEmbedded) &&
    dataDir === undefined
  ) {
    if (!v['allow-corpus-change'])
      throw new CliError(
        `train --resume: the corpus differs from the one the run was started with (${describeCorpus(recorded)}; now ${describeCorpus(record)}); ` +
          'leave --text (and --corpus) out to use the recorded corpus, or add --allow-corpus-change to train on this one.',
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
    const corpus = await readCorpus(undefined, embedded);
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
