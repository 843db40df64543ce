import type { BackendInfo } from '@primer-ez/backend-node';
import type { Tokenizer } from '@primer-ez/tokenizer';
import { DivergenceError, generateText, type Trainer, TrainingError } from '@primer-ez/trainer';
import type { RunDirectory } from '@primer-ez/trainer/node';
import { shownPath } from '../common.js';
import { CliError, inFlagTerms, TRAIN_OPTION_FLAGS } from '../errors.js';
import { formatDuration, ProgressBar } from '../progress.js';
import type { LOOP_SETTINGS } from '../run-guard.js';
import { startReplicas } from '../workers.js';
import type { TrainValues } from './train.js';

/** Exit codes of the signals that stop training after a save: Ctrl-C, `kill`/`timeout`, a closed terminal. */
const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * The run step of `train`: trains to the end (or a signal, or the time budget) with a progress
 * bar, events logged to `metrics.jsonl`, samples at each evaluation, and the final report.
 */
export async function trainRun(
  trainer: Trainer,
  tokenizer: Tokenizer,
  run: RunDirectory,
  outDir: string,
  v: TrainValues,
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
  const maxMinutes = v['max-minutes'];
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
      ? `; the last healthy checkpoint is ${shownPath(healthy)}: continue from it with a lower learning rate, e.g. primer-ez train --resume --out ${v.out ?? shownPath(outDir)} --lr ${lr}`
      : `; no healthy checkpoint was saved: start over with a lower learning rate, e.g. primer-ez train --overwrite --out ${v.out ?? shownPath(outDir)} --lr ${lr}`;
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
