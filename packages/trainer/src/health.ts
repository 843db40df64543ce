/**
 * What makes a checkpoint healthy enough to become "latest": finite weights (checked when it is
 * serialised) and, just before it is saved, a finite loss on a validation batch that is not far
 * above the run's level. A training loss that explodes far above its running level stops the run
 * too: a diverged model is never saved, so `latest.json` and `best.json` keep naming the last
 * healthy checkpoint.
 *
 * NOTE: "far above" is the larger of twice the loss of uniform guessing (2·ln V) and three times
 * the running training loss (an exponential average, β = 0.9). A model that has learnt anything
 * sits well below ln V; a diverged one (weights blown up by a too-large learning rate) is
 * orders of magnitude above it, so the limit separates them without tuning.
 */

import { TrainingError } from './errors.js';
import { type EvalResult, evaluate } from './evaluate.js';

/** Training stopped because the model diverged; nothing was saved past the last healthy checkpoint. */
export class DivergenceError extends TrainingError {
  override name = 'DivergenceError';
}

/** Watches a run's losses; see the module comment. */
export class HealthMonitor {
  /** The running (exponentially averaged) training loss, once a step was seen. */
  level: number | undefined;
  private readonly uniform: number;

  constructor(vocabSize: number) {
    this.uniform = Math.log(vocabSize);
  }

  /** The loss above which the model counts as diverged. */
  get limit(): number {
    return Math.max(2 * this.uniform, 3 * (this.level ?? 0));
  }

  /** Takes a step's training loss; throws a {@link DivergenceError} if it exploded. */
  observe(step: { step: number; loss: number; lr: number; skipped: boolean }): void {
    if (step.skipped || !Number.isFinite(step.loss)) return; // the non-finite policy's business
    if (step.loss > this.limit)
      throw new DivergenceError(
        `training loss exploded to ${step.loss.toPrecision(4)} at step ${step.step} ` +
          `(running level ${this.level?.toFixed(4) ?? 'n/a'}, learning rate ${step.lr.toExponential(2)}): the model has diverged, and nothing past the last healthy checkpoint was saved`,
      );
    this.level = this.level === undefined ? step.loss : 0.9 * this.level + 0.1 * step.loss;
  }

  /**
   * Checks, before a checkpoint is saved, that the model scores a finite loss below the limit on
   * a validation batch (`recent`: a validation of this very step, reused if given).
   */
  async checkBeforeSave(
    trainer: {
      model: Parameters<typeof evaluate>[0];
      data: { validation: Parameters<typeof evaluate>[1] };
      step: number;
      options: { seqLen: number; evalBatchSize: number; evalWindows: number; lr: number };
    },
    recent?: EvalResult,
  ): Promise<void> {
    const o = trainer.options;
    const loss =
      recent?.loss ??
      (
        await evaluate(trainer.model, trainer.data.validation, {
          seqLen: o.seqLen,
          batchSize: o.evalBatchSize,
          maxWindows: Math.min(o.evalBatchSize, o.evalWindows),
        })
      ).loss;
    if (!(Number.isFinite(loss) && loss <= this.limit))
      throw new DivergenceError(
        `the model scores a validation loss of ${loss} at step ${trainer.step} (limit ${this.limit.toFixed(2)}): it has diverged, and this state was not saved`,
      );
  }
}
