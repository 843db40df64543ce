// The trainer's hyper-parameters: their defaults (the project's recipe) and their validation.
import { stripUndefined } from '@primer-ez/input-checks';
import type { PrimerModel } from '@primer-ez/primer-layers';
import type { Schedule } from './schedule.js';

/** Hyper-parameters of a run. The defaults are the project's recipe (see BENCHMARKS.md). */
export interface TrainerOptions {
  /** Windows per optimiser step (per micro-batch when accumulating). Default 32. */
  batchSize: number;
  /** Window length T. Default: the model's max_seq_len. */
  seqLen: number;
  /** Peak learning rate. Default 1e-3. */
  lr: number;
  /** `adamw` (decoupled weight decay on matrices, embeddings and conv kernels) or `adam` (none). */
  optimizer: 'adamw' | 'adam';
  beta1: number;
  /** Default 0.98. */
  beta2: number;
  eps: number;
  /** AdamW's weight decay. Default 0.01. */
  weightDecay: number;
  /** `cosine` (default), `constant` or `noam`. */
  schedule: Schedule['type'];
  /** Linear warmup steps. Default 100. */
  warmup: number;
  /** Cosine decays to `minLrRatio·lr` at `totalSteps`. Default 0.1. */
  minLrRatio: number;
  /** The run's length, for the cosine schedule. Default 2000. */
  totalSteps: number;
  /** Global gradient-norm clip; 0 disables it. Default 1. */
  gradClip: number;
  /** Micro-batches per optimiser step (gradient accumulation). Default 1. */
  accumulate: number;
  /** Seeds the batches and the dropout masks. Default 0. */
  seed: number;
  /** Validation windows scored at each evaluation (evenly spaced, always the same). Default 64. */
  evalWindows: number;
  /** Windows per forward pass when evaluating. Default 16. */
  evalBatchSize: number;
  /**
   * What a non-finite loss or gradient does: `stop` (default) throws a {@link TrainingError};
   * `skip` leaves the weights and optimiser untouched, consumes the batch and goes on, up to
   * `maxSkips` steps in a row (then it stops too).
   */
  nonFinite: 'stop' | 'skip';
  /** Consecutive skipped steps tolerated with `nonFinite: 'skip'`. Default 5. */
  maxSkips: number;
  /**
   * Data parallelism: each (micro-)batch is cut into this many contiguous shares whose gradients
   * are computed separately and averaged, weighted by share size. With a {@link ReplicaPool}
   * passed to {@link Trainer.run}, shares 2… run on its replicas (worker threads) while the
   * trainer's own model computes share 1; without one they run one after the other, with the
   * same numbers. At most `batchSize`. Default 1 (the whole batch at once).
   */
  workers: number;
}

/** Defaults: AdamW lr 1e-3, betas (0.9, 0.98), wd 0.01, 100 warmup steps then cosine to 0.1×, batch 32, clip 1. */
export const DEFAULT_TRAINER_OPTIONS: Omit<TrainerOptions, 'seqLen'> = {
  batchSize: 32,
  lr: 1e-3,
  optimizer: 'adamw',
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-8,
  weightDecay: 0.01,
  schedule: 'cosine',
  warmup: 100,
  minLrRatio: 0.1,
  totalSteps: 2000,
  gradClip: 1,
  accumulate: 1,
  seed: 0,
  evalWindows: 64,
  evalBatchSize: 16,
  nonFinite: 'stop',
  maxSkips: 5,
  workers: 1,
};

/** Fills defaults and checks every option, naming the bad one. */
export function resolveTrainerOptions(
  model: PrimerModel,
  options: Partial<TrainerOptions>,
): TrainerOptions {
  const o: TrainerOptions = {
    ...DEFAULT_TRAINER_OPTIONS,
    seqLen: model.config.max_seq_len,
    ...stripUndefined(options),
  };
  const bad = (key: keyof TrainerOptions, why: string) =>
    new RangeError(`trainer: ${key} = ${JSON.stringify(o[key])} ${why}.`);
  for (const key of [
    'batchSize',
    'seqLen',
    'accumulate',
    'totalSteps',
    'evalWindows',
    'evalBatchSize',
    'workers',
  ] as const) {
    if (!(Number.isInteger(o[key]) && o[key] >= 1)) throw bad(key, 'must be a positive integer');
  }
  if (o.workers > o.batchSize)
    throw bad('workers', `exceeds batchSize ${o.batchSize}: each worker needs at least one window`);
  if (o.seqLen > model.config.max_seq_len)
    throw bad('seqLen', `exceeds the model's max_seq_len ${model.config.max_seq_len}`);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw bad('lr', 'must be a positive number');
  if (!(Number.isInteger(o.warmup) && o.warmup >= 0)) throw bad('warmup', 'must be an integer ≥ 0');
  if (!(o.gradClip >= 0)) throw bad('gradClip', 'must be ≥ 0 (0 disables clipping)');
  if (!(Number.isInteger(o.seed) && o.seed >= 0)) throw bad('seed', 'must be an integer ≥ 0');
  if (!['adamw', 'adam'].includes(o.optimizer)) throw bad('optimizer', "must be 'adamw' or 'adam'");
  if (!['cosine', 'constant', 'noam'].includes(o.schedule))
    throw bad('schedule', "must be 'cosine', 'constant' or 'noam'");
  for (const key of ['beta1', 'beta2', 'minLrRatio'] as const)
    if (!(o[key] >= 0 && o[key] < 1) && !(key === 'minLrRatio' && o[key] === 1))
      throw bad(key, key === 'minLrRatio' ? 'must be in [0, 1]' : 'must be in [0, 1)');
  if (!(o.eps > 0 && Number.isFinite(o.eps))) throw bad('eps', 'must be a positive number');
  if (!(o.weightDecay >= 0 && Number.isFinite(o.weightDecay)))
    throw bad('weightDecay', 'must be a number ≥ 0');
  if (!['stop', 'skip'].includes(o.nonFinite)) throw bad('nonFinite', "must be 'stop' or 'skip'");
  if (!(Number.isInteger(o.maxSkips) && o.maxSkips >= 0))
    throw bad('maxSkips', 'must be an integer ≥ 0');
  const unknown = Object.keys(o).filter(
    (k) => !Object.hasOwn(DEFAULT_TRAINER_OPTIONS, k) && k !== 'seqLen',
  );
  if (unknown.length > 0)
    throw new RangeError(
      `trainer: unknown option(s) ${unknown.join(', ')}; the options are ${[...Object.keys(DEFAULT_TRAINER_OPTIONS), 'seqLen'].join(', ')}.`,
    );
  return o;
}
