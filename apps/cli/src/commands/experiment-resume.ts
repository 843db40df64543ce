// An experiment arm killed part-way goes on from its newest checkpoint when the experiment is run
// again with the same settings, instead of starting over: a 2,000-step arm is ~25 minutes on two
// cores, and a resumed arm trains exactly as if it had never stopped (Trainer.restore).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readRegularTextFile } from '@primer-ez/node-io';
import type { Tokenizer } from '@primer-ez/tokenizer';
import { type splitTokens, Trainer } from '@primer-ez/trainer';
import { type CorpusRecord, RunDirectory, restoreNewest } from '@primer-ez/trainer/node';
import { shownPath } from '../common.js';
import { sameCorpus } from '../run-guard.js';
import type { Curve } from './experiment-summary.js';

/** What `run.json` records for an arm: everything that must be equal to continue it. */
export type ArmRecord = Record<string, string | number | boolean>;

/** An arm's run directory, locked, either continued from a checkpoint or emptied for a fresh start. */
export interface OpenedArm {
  run: RunDirectory;
  /** The restored trainer and the curve up to its step; undefined when the arm starts over. */
  resumed?: { trainer: Trainer; curve: Curve };
}

/**
 * Locks the run directory `dir` of `arm` and continues it from its newest checkpoint that loads
 * when its `run.json` records exactly `record` on the same corpus (and `fresh` is not asked);
 * otherwise empties it (pointers, metrics, checkpoints, `finished`) for a fresh start and records
 * `record`. A directory another process trains in is refused by the lock, never deleted.
 */
export async function openArm(
  dir: string,
  arm: string,
  record: ArmRecord,
  corpus: CorpusRecord,
  data: ReturnType<typeof splitTokens>,
  tokenizer: Tokenizer,
  { fresh, finishedFile }: { fresh: boolean; finishedFile: string },
): Promise<OpenedArm> {
  let run = await RunDirectory.open(dir);
  try {
    const why = fresh ? undefined : await whyNotResumable(run, record, corpus);
    if (why === undefined && !fresh) {
      const resumed = await resumeArm(run, arm, data, tokenizer);
      if (typeof resumed !== 'string') {
        await rm(join(dir, finishedFile), { force: true });
        return { run, resumed };
      }
      process.stderr.write(
        `${arm}: cannot continue ${shownPath(dir)} (${resumed}); starting over\n`,
      );
    } else if (why !== undefined && why !== 'empty')
      process.stderr.write(`${arm}: ${shownPath(dir)} ${why}; starting over\n`);
  } catch (error) {
    await run.close();
    throw error;
  }
  // Start over under the lock: only the run's own files go (RunDirectory's overwrite).
  await run.close();
  run = await RunDirectory.open(dir, { mode: 'overwrite' });
  try {
    await rm(join(dir, finishedFile), { force: true });
    await run.writeInfo({ corpus, settings: record });
  } catch (error) {
    await run.close();
    throw error;
  }
  return { run };
}

/** Why the arm in `run` cannot be continued with `record` ('empty' when nothing was started). */
async function whyNotResumable(
  run: RunDirectory,
  record: ArmRecord,
  corpus: CorpusRecord,
): Promise<string | undefined> {
  if ((await run.resumeCandidates()).length === 0) return 'empty';
  const info = await run.readInfo().catch(() => undefined);
  if (info?.settings === undefined) return 'holds a run that recorded no experiment settings';
  const keys = new Set([...Object.keys(record), ...Object.keys(info.settings)]);
  const differ = [...keys].filter((k) => info.settings?.[k] !== record[k]);
  if (differ.length > 0)
    return `was started with other settings (${differ
      .map((k) => `${k} ${JSON.stringify(info.settings?.[k])}, not ${JSON.stringify(record[k])}`)
      .join('; ')})`;
  if (info.corpus === undefined || !sameCorpus(info.corpus, corpus))
    return 'was started on another corpus';
  return undefined;
}

/** The trainer restored from the newest checkpoint that loads, and the curve to its step; or why not. */
async function resumeArm(
  run: RunDirectory,
  arm: string,
  data: ReturnType<typeof splitTokens>,
  tokenizer: Tokenizer,
): Promise<{ trainer: Trainer; curve: Curve } | string> {
  let restored: Awaited<ReturnType<typeof restoreNewest<Trainer>>>;
  try {
    restored = await restoreNewest(await run.resumeCandidates(), (snapshot) =>
      Trainer.restore(snapshot, data, {}, tokenizer),
    );
  } catch (error) {
    return (error as Error).message;
  }
  const trainer = restored.value;
  for (const { dir, reason } of restored.skipped)
    process.stderr.write(`${arm}: skipped ${shownPath(dir)}: ${reason}\n`);
  try {
    await run.truncateMetrics(trainer.step);
    const curve = await curveFromMetrics(run.dir, arm, trainer.step);
    curve.seconds = trainer.elapsedMs / 1000;
    process.stderr.write(
      `\n${arm}: continuing ${shownPath(restored.dir)} at step ${trainer.step} (${curve.evals.length} validations kept)\n`,
    );
    return { trainer, curve };
  } catch (error) {
    trainer.dispose();
    trainer.model.dispose();
    return (error as Error).message;
  }
}

/**
 * The validation curve of `metrics.jsonl` in `dir` up to `step`: each validation with the training
 * time of the step line at the same step (0 at step 0), as the experiment records it when training.
 */
export async function curveFromMetrics(dir: string, arm: string, step: number): Promise<Curve> {
  const text = await readRegularTextFile(join(dir, 'metrics.jsonl'), { maxBytes: 256 * 2 ** 20 });
  const elapsed = new Map<number, number>();
  const evals: Curve['evals'] = [];
  let tokensPerSecond = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const m = JSON.parse(line) as {
      step: number;
      val_loss?: number;
      elapsed_s?: number;
      tokens_per_s?: number;
    };
    if (m.step > step) continue;
    if (m.elapsed_s !== undefined) elapsed.set(m.step, m.elapsed_s);
    if (m.tokens_per_s !== undefined) tokensPerSecond = m.tokens_per_s;
    if (m.val_loss !== undefined) {
      const seconds = m.step === 0 ? 0 : elapsed.get(m.step);
      if (seconds === undefined)
        throw new Error(`metrics.jsonl has the validation at step ${m.step} but not its step`);
      evals.push({ step: m.step, seconds, loss: m.val_loss });
    }
  }
  return { arm, evals, seconds: 0, tokensPerSecond };
}
