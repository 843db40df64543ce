import {
  type CheckpointFiles,
  deserializeCheckpoint,
  NonFiniteWeightError,
  type PrimerModel,
  readSafetensors,
  serializeCheckpoint,
  writeSafetensors,
} from '@primer-ez/primer-layers';
import type { Tokenizer } from '@primer-ez/tokenizer';
import * as tf from '@tensorflow/tfjs-core';
import { BatchSampler, DataError, type TokenSplit } from './data.js';
import { TrainingError } from './errors.js';
import { type EvalResult, evaluate } from './evaluate.js';
import { HealthMonitor } from './health.js';
import { AdamW, clipByGlobalNorm } from './optim.js';
import { Rng } from './rng.js';
import { learningRate, type Schedule, validateSchedule } from './schedule.js';
import { yieldToEventLoop } from './yield.js';

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
};

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
    }
  | ({ type: 'eval'; step: number; best: boolean } & EvalResult)
  | { type: 'checkpoint'; step: number; kind: CheckpointKind; location: string }
  | { type: 'done'; step: number; reason: 'finished' | 'aborted' | 'time' };

export type CheckpointKind = 'periodic' | 'best' | 'final' | 'interrupt';

/** Everything needed to resume a run exactly: the model checkpoint plus the trainer's state. */
export interface TrainerSnapshot {
  model: CheckpointFiles;
  /** `tokenizer.json`, when the run has a tokenizer. */
  tokenizer?: string;
  /** `trainer_state.json`. */
  state: TrainerState;
  /** `optimizer.safetensors`: the AdamW moments `m.<param>` and `v.<param>`. */
  optimizer: Uint8Array;
}

/** `trainer_state.json`. */
export interface TrainerState {
  format: 'primer-ez-trainer-state';
  version: 1;
  step: number;
  /** The batch sampler's generator state: the data position. */
  rng: number[];
  bestValLoss: number | null;
  tokensSeen: number;
  elapsedMs: number;
  options: TrainerOptions;
}

/** Where checkpoints go (a run directory in Node, IndexedDB in a browser…). */
export interface CheckpointSink {
  /** Stores a snapshot; returns where (for the event). */
  save(snapshot: TrainerSnapshot, kind: CheckpointKind): Promise<string>;
}

export { TrainingError };

/** Options of {@link Trainer.run}. */
export interface RunOptions {
  /** Train until this many steps in total. Default: `totalSteps`. */
  steps?: number;
  /** Validate every this many steps (and at the end); 0 = only at the end. */
  evalEvery?: number;
  /** Save a periodic checkpoint every this many steps (and at the end); needs `sink`. */
  checkpointEvery?: number;
  sink?: CheckpointSink;
  onEvent?: (event: TrainEvent) => void | Promise<void>;
  /** Stop early; a checkpoint of kind 'interrupt' is saved first (with a sink). */
  signal?: AbortSignal;
  /**
   * A time budget: once this much training time has passed (counting time before a resume), the
   * step just taken becomes the last — validated and saved as the final checkpoint.
   */
  maxTimeMs?: number;
}

/**
 * Trains a {@link PrimerModel} on a token split: random windows, AdamW (or Adam), a learning-rate
 * schedule, global-norm clipping and gradient accumulation, all seeded and resumable exactly.
 * Each optimiser step runs in tidy scopes, so `tf.memory().numTensors` stays flat.
 */
export class Trainer {
  readonly options: TrainerOptions;
  readonly optimizer: AdamW;
  step = 0;
  bestValLoss = Number.POSITIVE_INFINITY;
  tokensSeen = 0;
  elapsedMs = 0;
  /** Steps skipped in a row for a non-finite loss (`nonFinite: 'skip'`). */
  private skipsInARow = 0;
  private readonly rng: Rng;
  private readonly sampler: BatchSampler;
  private readonly schedule: Schedule;
  private readonly names: Map<string, string>;

  constructor(
    readonly model: PrimerModel,
    readonly data: TokenSplit,
    options: Partial<TrainerOptions> = {},
    readonly tokenizer?: Tokenizer,
  ) {
    this.options = resolveTrainerOptions(model, options);
    const o = this.options;
    checkTokens(data.train, model.config.vocab_size, 'training');
    checkTokens(data.validation, model.config.vocab_size, 'validation');
    if (data.validation.length < o.seqLen + 1) {
      throw new DataError(
        `the validation text has ${data.validation.length} tokens, fewer than one window of seqLen + 1 = ${o.seqLen + 1}; ` +
          'use more text, a larger validation fraction or a shorter sequence length.',
      );
    }
    this.rng = new Rng(o.seed);
    this.sampler = new BatchSampler(data.train, o.batchSize, o.seqLen, this.rng);
    this.schedule = validateSchedule(
      o.schedule === 'cosine'
        ? { type: 'cosine', warmup: o.warmup, totalSteps: o.totalSteps, minRatio: o.minLrRatio }
        : o.schedule === 'noam'
          ? { type: 'noam', warmup: Math.max(1, o.warmup), dModel: model.config.d_model }
          : { type: 'constant', warmup: o.warmup },
    );
    this.optimizer = new AdamW(
      model.specs.map((spec) => ({
        name: spec.name,
        variable: model.params.get(spec.name)!,
        decay: spec.decay,
      })),
      {
        beta1: o.beta1,
        beta2: o.beta2,
        eps: o.eps,
        weightDecay: o.optimizer === 'adam' ? 0 : o.weightDecay,
      },
    );
    this.names = new Map([...model.params].map(([name, v]) => [v.name, name]));
  }

  /** The learning rate of the next step. */
  get learningRate(): number {
    return learningRate(this.schedule, this.options.lr, this.step + 1);
  }

  /**
   * One optimiser step: `accumulate` micro-batches of gradients, averaged, clipped, applied. A
   * non-finite loss throws a {@link TrainingError} before anything is updated.
   */
  async trainStep(): Promise<StepResult> {
    const o = this.options;
    const lr = this.learningRate;
    const step = this.step + 1;
    const variables = this.model.variables();
    let sum: Map<string, tf.Tensor> | undefined;
    let lossSum: tf.Tensor = tf.scalar(0);
    try {
      for (let micro = 0; micro < o.accumulate; micro++) {
        const batch = this.sampler.next();
        const seed = (o.seed * 1_000_003 + step * 131 + micro) % 2 ** 31;
        const { value, grads } = tf.variableGrads(
          () =>
            this.model.loss(batch.ids, batch.targets, { training: true, seed, checkIds: false }),
          variables,
        );
        tf.dispose([batch.ids, batch.targets]);
        const previous = sum;
        sum = new Map(
          Object.entries(grads).map(([varName, g]) => {
            const name = this.names.get(varName)!;
            return [name, previous ? tf.keep(tf.add(previous.get(name)!, g)) : g];
          }),
        );
        if (previous) tf.dispose([...previous.values(), ...Object.values(grads)]);
        const total = tf.add(lossSum, value);
        tf.dispose([lossSum, value]);
        lossSum = total;
      }
      const names = [...sum!.keys()];
      const [loss, norm, ...clippedList] = tf.tidy((): [tf.Tensor, tf.Tensor, ...tf.Tensor[]] => {
        const mean = new Map(
          names.map((n) => [
            n,
            o.accumulate === 1 ? sum!.get(n)! : tf.div(sum!.get(n)!, o.accumulate),
          ]),
        );
        const { grads, norm } = clipByGlobalNorm(mean, o.gradClip);
        return [tf.div(lossSum, o.accumulate), norm, ...names.map((n) => grads.get(n)!)];
      });
      const clipped = new Map(names.map((n, i) => [n, clippedList[i]!]));
      const [lossValue, normValue] = await Promise.all([loss.data(), norm.data()]).then(
        ([l, n]) => [l[0]!, n[0]!],
      );
      const tokens = o.batchSize * o.seqLen * o.accumulate;
      try {
        if (!Number.isFinite(lossValue) || !Number.isFinite(normValue)) {
          const what = `training loss became ${lossValue} at step ${step} (gradient norm ${normValue}, learning rate ${lr.toExponential(2)}); nothing was updated`;
          if (o.nonFinite === 'skip' && this.skipsInARow < o.maxSkips) {
            this.skipsInARow++;
            this.step = step;
            return { step, loss: lossValue!, lr, gradNorm: normValue!, tokens, skipped: true };
          }
          throw new TrainingError(
            o.nonFinite === 'skip'
              ? `${what}, after ${o.maxSkips} skipped steps in a row (maxSkips ${o.maxSkips}). The model has diverged: lower the learning rate or resume from the last checkpoint.`
              : `${what}. Lower the learning rate, keep gradient clipping on, or resume from the last checkpoint (nonFinite: 'skip' skips such steps instead).`,
          );
        }
        this.optimizer.apply(clipped, lr);
      } finally {
        tf.dispose([...clipped.values(), norm, loss]);
      }
      this.skipsInARow = 0;
      this.step = step;
      this.tokensSeen += tokens;
      return {
        step,
        loss: lossValue as number,
        lr,
        gradNorm: normValue as number,
        tokens,
        skipped: false,
      };
    } finally {
      if (sum) tf.dispose([...sum.values()]);
      lossSum.dispose();
    }
  }

  /** Scores the model on the fixed validation windows. */
  validate(): Promise<EvalResult> {
    const o = this.options;
    return evaluate(this.model, this.data.validation, {
      seqLen: o.seqLen,
      batchSize: o.evalBatchSize,
      maxWindows: o.evalWindows,
    });
  }

  /**
   * Trains to `steps`, emitting progress events, validating and checkpointing as asked. On a
   * non-finite loss it throws a {@link TrainingError}, leaving the last saved checkpoint intact.
   */
  async run({
    steps = this.options.totalSteps,
    evalEvery = 0,
    checkpointEvery = 0,
    sink,
    onEvent,
    signal,
    maxTimeMs = Number.POSITIVE_INFINITY,
  }: RunOptions = {}): Promise<void> {
    const emit = async (event: TrainEvent) => {
      await onEvent?.(event);
    };
    let savedStep = -1;
    // Only a healthy state is saved (see health.ts): latest and best never name a diverged model.
    const health = new HealthMonitor(this.model.config.vocab_size);
    let validated: (EvalResult & { step: number }) | undefined;
    const save = async (kind: CheckpointKind) => {
      // A final (or periodic) save right after the best one of the same step would rewrite it.
      if (!sink || (savedStep === this.step && kind !== 'best')) return;
      await health.checkBeforeSave(this, validated?.step === this.step ? validated : undefined);
      const location = await sink.save(await this.snapshot(), kind);
      savedStep = this.step;
      await emit({ type: 'checkpoint', step: this.step, kind, location });
    };
    const startedAt = performance.now() - this.elapsedMs;
    const firstStep = this.step;
    let recentMs = 0;
    while (this.step < steps) {
      await yieldToEventLoop(); // timers and signal handlers (SIGINT, a timeout) get their turn
      if (signal?.aborted) {
        await save('interrupt');
        await emit({ type: 'done', step: this.step, reason: 'aborted' });
        return;
      }
      const t0 = performance.now();
      const r = await this.trainStep();
      health.observe(r);
      const ms = performance.now() - t0;
      recentMs = this.step === firstStep + 1 ? ms : 0.9 * recentMs + 0.1 * ms;
      this.elapsedMs = performance.now() - startedAt;
      await emit({
        type: 'step',
        step: r.step,
        totalSteps: steps,
        loss: r.loss,
        lr: r.lr,
        gradNorm: r.gradNorm,
        tokensPerSecond: r.tokens / (recentMs / 1000),
        elapsedMs: this.elapsedMs,
        etaMs: (steps - r.step) * recentMs,
        skipped: r.skipped,
      });
      const outOfTime = this.elapsedMs >= maxTimeMs;
      const last = this.step === steps || outOfTime;
      if ((evalEvery > 0 && this.step % evalEvery === 0) || last) {
        const result = await this.validate();
        validated = { ...result, step: this.step };
        const best = result.loss < this.bestValLoss;
        if (best) this.bestValLoss = result.loss;
        await emit({ type: 'eval', step: this.step, best, ...result });
        if (best) await save('best');
      }
      if (last) await save('final');
      else if (checkpointEvery > 0 && this.step % checkpointEvery === 0) await save('periodic');
      if (outOfTime) {
        await emit({ type: 'done', step: this.step, reason: 'time' });
        return;
      }
    }
    await emit({ type: 'done', step: this.step, reason: 'finished' });
  }

  /** The model checkpoint, the tokenizer and the trainer's state: everything to resume exactly. */
  async snapshot(): Promise<TrainerSnapshot> {
    const moments: [string, { shape: number[]; data: Float32Array }][] = [];
    for (const [name, t] of this.optimizer.moments())
      moments.push([name, { shape: t.shape, data: (await t.data()) as Float32Array }]);
    const snapshot: TrainerSnapshot = {
      model: await this.serializeModel(),
      state: {
        format: 'primer-ez-trainer-state',
        version: 1,
        step: this.step,
        rng: this.rng.state,
        bestValLoss: Number.isFinite(this.bestValLoss) ? this.bestValLoss : null,
        tokensSeen: this.tokensSeen,
        elapsedMs: this.elapsedMs,
        options: this.options,
      },
      optimizer: writeSafetensors(moments, {
        format: 'primer-ez-optimizer',
        step: String(this.optimizer.step),
      }),
    };
    if (this.tokenizer) snapshot.tokenizer = JSON.stringify(this.tokenizer.toTokenizerJson());
    return snapshot;
  }

  /**
   * Resumes a run from a snapshot: the model, the optimiser moments, the step, the data position
   * and the best validation loss, so that training on is exactly as if it had never stopped.
   * `overrides` may change options that do not break that (e.g. `totalSteps` to train longer).
   */
  static restore(
    snapshot: TrainerSnapshot,
    data: TokenSplit,
    overrides: Partial<TrainerOptions> = {},
    tokenizer?: Tokenizer,
  ): Trainer {
    const state = validateTrainerState(snapshot.state);
    const model = deserializeCheckpoint(snapshot.model);
    let trainer: Trainer;
    try {
      trainer = new Trainer(model, data, { ...state.options, ...overrides }, tokenizer);
    } catch (error) {
      model.dispose();
      throw error;
    }
    try {
      const { tensors, metadata } = readSafetensors(snapshot.optimizer);
      const step = Number(metadata.step ?? state.step);
      if (!(Number.isSafeInteger(step) && step >= 0))
        throw new TrainingError(
          `optimizer.safetensors: step ${JSON.stringify(metadata.step)} is not an integer ≥ 0; the checkpoint is damaged.`,
        );
      trainer.optimizer.load(tensors, step);
    } catch (error) {
      trainer.dispose();
      model.dispose();
      throw error;
    }
    trainer.step = state.step;
    trainer.rng.restore(state.rng);
    trainer.bestValLoss = state.bestValLoss ?? Number.POSITIVE_INFINITY;
    trainer.tokensSeen = state.tokensSeen;
    trainer.elapsedMs = state.elapsedMs;
    return trainer;
  }

  /** The model's checkpoint files; a model holding NaN or Inf is refused, so it never replaces a good checkpoint. */
  private async serializeModel(): Promise<CheckpointFiles> {
    try {
      return await serializeCheckpoint(this.model);
    } catch (error) {
      if (!(error instanceof NonFiniteWeightError)) throw error;
      throw new TrainingError(
        `parameter '${error.tensor}' holds NaN or Inf at step ${this.step}; refusing to save this state (the last checkpoint is left as it was).`,
      );
    }
  }

  /** Frees the optimiser state (the model is the caller's). */
  dispose(): void {
    this.optimizer.dispose();
  }
}

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
  ] as const) {
    if (!(Number.isInteger(o[key]) && o[key] >= 1)) throw bad(key, 'must be a positive integer');
  }
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

/**
 * Checks a `trainer_state.json` read from disk, field by field, so a damaged or hostile file is
 * reported by name instead of surfacing as a failure deep inside training.
 */
export function validateTrainerState(state: unknown): TrainerState {
  const s = state as Partial<TrainerState> | null;
  const bad = (field: string, why: string) =>
    new TrainingError(
      `trainer_state.json: ${field} = ${JSON.stringify((s as Record<string, unknown> | null)?.[field])} ${why}; the checkpoint is damaged (resume from another one).`,
    );
  if (typeof s !== 'object' || s === null || Array.isArray(s))
    throw new TrainingError('trainer_state.json: not a JSON object; the checkpoint is damaged.');
  if (s.format !== 'primer-ez-trainer-state' || s.version !== 1)
    throw new TrainingError(
      `trainer_state.json: format ${JSON.stringify(s.format)} version ${JSON.stringify(s.version)} is not a primer-ez trainer state (version 1).`,
    );
  for (const field of ['step', 'tokensSeen'] as const)
    if (!(Number.isSafeInteger(s[field]) && (s[field] as number) >= 0))
      throw bad(field, 'is not an integer ≥ 0');
  if (!(typeof s.elapsedMs === 'number' && s.elapsedMs >= 0 && Number.isFinite(s.elapsedMs)))
    throw bad('elapsedMs', 'is not a duration');
  if (
    s.bestValLoss !== null &&
    !(typeof s.bestValLoss === 'number' && Number.isFinite(s.bestValLoss))
  )
    throw bad('bestValLoss', 'is neither null nor a number');
  if (
    !Array.isArray(s.rng) ||
    s.rng.length !== 4 ||
    !s.rng.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)
  )
    throw bad('rng', 'is not a generator state (4 unsigned 32-bit integers)');
  if (typeof s.options !== 'object' || s.options === null || Array.isArray(s.options))
    throw bad('options', 'is not an object');
  return s as TrainerState;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkTokens(tokens: Int32Array, vocab: number, what: string): void {
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i] as number;
    if (!(id >= 0 && id < vocab)) {
      throw new DataError(
        `the ${what} tokens hold ${id} at position ${i}, outside the model's vocabulary [0, ${vocab}); was the text encoded with this model's tokenizer?`,
      );
    }
  }
}
