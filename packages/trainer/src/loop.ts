// The training loop — the only one: the CLI's train, experiment and bench and the demo's worker
// all drive it, through its hooks (events, a checkpoint sink, an abort signal, a time budget).

import { ReplicaError } from './errors.js';
import type { EvalResult } from './evaluate.js';
import { HealthMonitor } from './health.js';
import type { ReplicaPool } from './replicas.js';
import type { CheckpointKind, CheckpointSink } from './state.js';
import type { Trainer } from './trainer.js';
import { yieldToEventLoop } from './yield.js';

/** What one optimiser step did. */
export interface StepResult {
  step: number;
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  tokens: number;
  /** True when the loss or gradient was not finite and nothing was updated (`nonFinite: 'skip'`). */
  skipped: boolean;
}

/** Progress events, for a progress bar, a chart or a JSONL log. */
export type TrainEvent =
  | {
      type: 'step';
      step: number;
      totalSteps: number;
      loss: number;
      lr: number;
      gradNorm: number;
      tokensPerSecond: number;
      elapsedMs: number;
      etaMs: number;
      /** The step's loss or gradient was not finite; nothing was updated. */
      skipped: boolean;
      /** How long the step took (its gradient and update). */
      stepMs: number;
    }
  | ({ type: 'eval'; step: number; best: boolean } & EvalResult)
  | { type: 'checkpoint'; step: number; kind: CheckpointKind; location: string }
  | { type: 'done'; step: number; reason: RunEnd };

/** Why {@link Trainer.run} returned: all steps taken, aborted (or paused), or out of time. */
export type RunEnd = 'finished' | 'aborted' | 'time';

/** Options of {@link Trainer.run}: the loop's hooks (events, checkpoints, stop, budget). */
export interface RunOptions {
  /** Train until this many steps in total. Default: `totalSteps`. */
  steps?: number;
  /** Validate every this many steps (and at the end); 0 = only at the end. */
  evalEvery?: number;
  /** Validate before the first step too (an `eval` event; no checkpoint). Default false. */
  evalAtStart?: boolean;
  /** Save a periodic checkpoint every this many steps (and at the end); needs `sink`. */
  checkpointEvery?: number;
  sink?: CheckpointSink;
  /** Progress, validation, checkpoints and the end, in order; awaited before the loop goes on. */
  onEvent?: (event: TrainEvent) => void | Promise<void>;
  /** Stop between two steps; with `onAbort: 'save'` a checkpoint of kind 'interrupt' first. */
  signal?: AbortSignal;
  /**
   * What an abort does: `save` (default) saves an 'interrupt' checkpoint (with a sink); `pause`
   * saves nothing — the trainer keeps its state and a later `run` goes on from there.
   */
  onAbort?: 'save' | 'pause';
  /**
   * A time budget: once this much training time has passed (counting time before a resume), the
   * step just taken becomes the last — validated and saved as the final checkpoint.
   */
  maxTimeMs?: number;
  /**
   * Replicas computing shares 2… of each batch, and of the validation windows, alongside this
   * thread (`workers − 1` of them at least); the caller keeps and closes the pool.
   */
  replicas?: ReplicaPool;
}

/** {@link RunOptions} with the defaults filled in. */
type LoopOptions = Required<
  Pick<
    RunOptions,
    'steps' | 'evalEvery' | 'evalAtStart' | 'checkpointEvery' | 'onAbort' | 'maxTimeMs'
  >
> & {
  sink: CheckpointSink | undefined;
  onEvent: RunOptions['onEvent'] | undefined;
  signal: AbortSignal | undefined;
};

/**
 * Trains to `o.steps`: a step, its event, validation and checkpoints as asked, then the next; an
 * abort or a spent time budget ends it between two steps. See {@link Trainer.run}.
 */
export async function trainLoop(trainer: Trainer, o: LoopOptions): Promise<RunEnd> {
  const { sink, onEvent, signal } = o;
  const emit = async (event: TrainEvent) => {
    await onEvent?.(event);
  };
  let savedStep = -1;
  // Only a healthy state is saved (see health.ts): latest and best never name a diverged model.
  const health = new HealthMonitor(trainer.model.config.vocab_size);
  let validated: (EvalResult & { step: number }) | undefined;
  const save = async (kind: CheckpointKind) => {
    // A final (or periodic) save right after the best one of the same step would rewrite it.
    if (!sink || (savedStep === trainer.step && kind !== 'best')) return;
    await health.checkBeforeSave(trainer, validated?.step === trainer.step ? validated : undefined);
    const location = await sink.save(await trainer.snapshot(), kind);
    savedStep = trainer.step;
    await emit({ type: 'checkpoint', step: trainer.step, kind, location });
  };
  const validate = async () => {
    const result = await trainer.validate();
    validated = { ...result, step: trainer.step };
    const best = result.loss < trainer.bestValLoss;
    if (best) trainer.bestValLoss = result.loss;
    await emit({ type: 'eval', step: trainer.step, best, ...result });
    return best;
  };
  const done = async (reason: RunEnd) => {
    await emit({ type: 'done', step: trainer.step, reason });
    return reason;
  };
  // The validation before the first step is not training time.
  if (o.evalAtStart && trainer.step < o.steps) await validate();
  const startedAt = performance.now() - trainer.elapsedMs;
  const firstStep = trainer.step;
  let recentMs = 0;
  try {
    while (trainer.step < o.steps) {
      await yieldToEventLoop(); // timers and signal handlers (SIGINT, a timeout) get their turn
      if (signal?.aborted) {
        if (o.onAbort === 'save') await save('interrupt');
        return done('aborted');
      }
      const t0 = performance.now();
      const r = await trainer.trainStep();
      health.observe(r);
      const ms = performance.now() - t0;
      recentMs = trainer.step === firstStep + 1 ? ms : 0.9 * recentMs + 0.1 * ms;
      trainer.elapsedMs = performance.now() - startedAt;
      await emit({
        type: 'step',
        step: r.step,
        totalSteps: o.steps,
        loss: r.loss,
        lr: r.lr,
        gradNorm: r.gradNorm,
        tokensPerSecond: r.tokens / (recentMs / 1000),
        elapsedMs: trainer.elapsedMs,
        etaMs: (o.steps - r.step) * recentMs,
        skipped: r.skipped,
        stepMs: ms,
      });
      const outOfTime = trainer.elapsedMs >= o.maxTimeMs;
      const last = trainer.step === o.steps || outOfTime;
      if ((o.evalEvery > 0 && trainer.step % o.evalEvery === 0) || last)
        if (await validate()) await save('best');
      if (last) await save('final');
      else if (o.checkpointEvery > 0 && trainer.step % o.checkpointEvery === 0)
        await save('periodic');
      if (outOfTime) return done('time');
    }
  } catch (error) {
    // A replica's failure leaves this thread's state whole (a step is applied here, after all
    // the shares are in): save it, then stop.
    if (error instanceof ReplicaError) await save('interrupt').catch(() => {});
    throw error;
  }
  return done('finished');
}
