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
import {
  BatchSampler,
  DataError,
  findTokenOutside,
  type TokenSource,
  type TokenSplit,
} from './data.js';
import { ReplicaError, TrainingError } from './errors.js';
import { type EvalResult, evaluate } from './evaluate.js';
import { type RunEnd, type RunOptions, type StepResult, trainLoop } from './loop.js';
import { AdamW, clipByGlobalNorm } from './optim.js';
import { resolveTrainerOptions, type TrainerOptions } from './options.js';
import { validateOnReplicas } from './parallel.js';
import {
  flatWeights,
  type ParameterSlot,
  parameterLayout,
  type ReplicaPool,
  variableNames,
} from './replicas.js';
import { Rng } from './rng.js';
import { learningRate, type Schedule, validateSchedule } from './schedule.js';
import { type TrainerSnapshot, validateTrainerState } from './state.js';
import { stepGradients } from './step.js';

export { TrainingError } from './errors.js';
export type { RunEnd, RunOptions, StepResult, TrainEvent } from './loop.js';
export {
  DEFAULT_TRAINER_OPTIONS,
  resolveTrainerOptions,
  type TrainerOptions,
} from './options.js';
export {
  type CheckpointKind,
  type CheckpointSink,
  type TrainerSnapshot,
  type TrainerState,
  validateTrainerState,
} from './state.js';

/**
 * Trains a {@link PrimerModel} on a token split: random windows, AdamW (or Adam), a learning-rate
 * schedule, global-norm clipping and gradient accumulation, all seeded and resumable exactly.
 * Each optimiser step runs in tidy scopes, so `tf.memory().numTensors` stays flat. {@link run} is
 * the training loop of every front end (the CLI's train, experiment and bench, the demo).
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
  private readonly layout: ParameterSlot[];
  /** The replicas of the current run, and the step whose weights they hold. */
  private replicas: ReplicaPool | undefined;
  private replicasAt = -1;
  private weights: Float32Array | undefined;

  constructor(
    readonly model: PrimerModel,
    readonly data: TokenSplit<TokenSource>,
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
    this.names = variableNames(model);
    this.layout = parameterLayout(model);
  }

  /** The learning rate of the next step. */
  get learningRate(): number {
    return learningRate(this.schedule, this.options.lr, this.step + 1);
  }

  /**
   * One optimiser step: `accumulate` micro-batches of gradients, averaged, clipped, applied. A
   * non-finite loss throws a {@link TrainingError} before anything is updated. {@link run} calls
   * it; front ends call `run`.
   */
  async trainStep(): Promise<StepResult> {
    const o = this.options;
    const lr = this.learningRate;
    const step = this.step + 1;
    await this.publishWeights();
    const { sum, lossSum } = await stepGradients(
      {
        model: this.model,
        sampler: this.sampler,
        options: o,
        names: this.names,
        layout: this.layout,
        replicas: this.replicas,
      },
      step,
    );
    try {
      const names = [...sum.keys()];
      const [loss, norm, ...clippedList] = tf.tidy((): [tf.Tensor, tf.Tensor, ...tf.Tensor[]] => {
        const mean = new Map(
          names.map((n) => [
            n,
            o.accumulate === 1 ? sum.get(n)! : tf.div(sum.get(n)!, o.accumulate),
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
      tf.dispose([...sum.values()]);
      lossSum.dispose();
    }
  }

  /**
   * Scores the model on the fixed validation windows; during a run with replicas, their batches
   * are spread over the replicas (each batch sums to the same number wherever it is scored).
   */
  async validate(): Promise<EvalResult> {
    const o = this.options;
    if (this.replicas === undefined || o.workers === 1)
      return evaluate(this.model, this.data.validation, {
        seqLen: o.seqLen,
        batchSize: o.evalBatchSize,
        maxWindows: o.evalWindows,
      });
    await this.publishWeights();
    return validateOnReplicas(this.model, this.data.validation, o, this.replicas, this.step);
  }

  /**
   * The training loop: trains to `steps`, emitting progress events, validating and checkpointing
   * as asked, stopping on an abort or when the time budget is spent. On a non-finite loss or a
   * failed worker it throws a {@link TrainingError}, leaving the last saved checkpoint intact.
   */
  async run({
    steps = this.options.totalSteps,
    evalEvery = 0,
    evalAtStart = false,
    checkpointEvery = 0,
    sink,
    onEvent,
    signal,
    onAbort = 'save',
    maxTimeMs = Number.POSITIVE_INFINITY,
    replicas,
  }: RunOptions = {}): Promise<RunEnd> {
    await this.attach(replicas);
    try {
      return await trainLoop(this, {
        steps,
        evalEvery,
        evalAtStart,
        checkpointEvery,
        onAbort,
        maxTimeMs,
        sink,
        onEvent,
        signal,
      });
    } finally {
      this.replicas = undefined;
    }
  }

  /** Gives the run's replicas the model (its config now, its weights before they compute). */
  private async attach(replicas: ReplicaPool | undefined): Promise<void> {
    const workers = this.options.workers;
    this.replicas = undefined;
    if (replicas === undefined || workers === 1) return;
    if (replicas.size < workers - 1)
      throw new RangeError(
        `trainer: workers = ${workers} needs ${workers - 1} replicas besides this thread; the pool has ${replicas.size}.`,
      );
    const total = this.layout.reduce((n, slot) => n + slot.size, 0);
    try {
      await replicas.prepare(this.model.config, total);
    } catch (error) {
      throw new ReplicaError(
        `the replicas could not be set up: ${(error as Error).message ?? error}`,
      );
    }
    this.weights ??= new Float32Array(total);
    this.replicas = replicas;
    this.replicasAt = -1;
  }

  /** Sends the weights to the replicas when they changed since they were last sent. */
  private async publishWeights(): Promise<void> {
    if (this.replicas === undefined || this.replicasAt === this.optimizer.step) return;
    await flatWeights(this.model, this.layout, this.weights!);
    this.replicas.setWeights(this.weights!);
    this.replicasAt = this.optimizer.step;
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
    data: TokenSplit<TokenSource>,
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

function checkTokens(tokens: TokenSource, vocab: number, what: string): void {
  const outside = findTokenOutside(tokens, vocab);
  if (outside !== undefined) {
    throw new DataError(
      `the ${what} tokens hold ${outside.id} at position ${outside.index}, outside the model's vocabulary [0, ${vocab}); was the text encoded with this model's tokenizer?`,
    );
  }
}
