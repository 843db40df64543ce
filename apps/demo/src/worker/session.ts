// One model in one worker: builds it and its trainer for the race, trains step by step (so a
// pause lands between two steps), validates and checkpoints, resumes from a checkpoint, scores a
// text as `primer-ez eval` does, streams generated text, and turns the model into checkpoint
// files and back. No messaging here: the worker wires it to the page (worker.ts), and the unit
// test drives it directly.
import {
  deserializeCheckpoint,
  type PrimerConfig,
  PrimerModel,
  presetConfig,
  presetName,
  serializeCheckpoint,
} from '@primer-ez/primer-layers';
import { loadTokenizerJson, type Tokenizer, trainCharTokenizer } from '@primer-ez/tokenizer';
import {
  evaluate,
  generate,
  type ReplicaPool,
  splitTokens,
  Trainer,
  type TrainerSnapshot,
} from '@primer-ez/trainer';
import type {
  ExportedCheckpoint,
  GenerateOutcome,
  GenerateParams,
  ModelMeta,
  ModelSummary,
  ResumeParams,
  Role,
  ScoreResult,
  SetupParams,
  TrainOutcome,
  WorkerEvent,
} from '../shared/protocol.js';
import type { ModelSizes, PresetChoice } from '../shared/settings.js';
import { memory } from './gpu.js';

/** Validation windows scored at each evaluation during the race (evenly spaced, fixed). */
export const EVAL_WINDOWS = 32;

/**
 * The config of one racer: the preset (or custom sizes) with Primer EZ's switches, or the same
 * shape with the vanilla baseline's (`${preset}-vanilla`: plain attention and ReLU).
 */
export function raceConfig(
  role: Role,
  preset: PresetChoice,
  sizes: ModelSizes,
  vocabSize: number,
): PrimerConfig {
  const base = preset === 'small' ? 'small' : 'tiny';
  const name = presetName(base, role === 'vanilla' ? 'vanilla' : 'primer-ez');
  return presetConfig(name, vocabSize, preset === 'custom' ? sizes : {});
}

/** Lets queued messages (a pause, a generate request) in between two steps. */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    // NOTE: a MessageChannel round trip, not setTimeout(0): nested timers are clamped to 4 ms,
    // which is a large share of a small model's step.
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

export class ModelSession {
  private model: PrimerModel | undefined;
  private tokenizer: Tokenizer | undefined;
  private trainer: Trainer | undefined;
  private meta: ModelMeta | undefined;
  private summaryExtra: Pick<ModelSummary, 'trainTokens' | 'validationTokens'> = {};
  private evalEvery = 0;
  private validatedAtStart = false;
  private running = false;
  private stop: AbortController | undefined;
  private readonly generations = new Map<number, AbortController>();

  /**
   * @param emit sends an event to the page.
   * @param lost whether the backend has lost its device (a WebGL context loss): checked between
   *   steps, so training stops cleanly instead of emitting numbers computed on a dead context.
   * @param replicas replicas to train on besides this worker (each batch split over them all).
   */
  constructor(
    private readonly emit: (event: WorkerEvent) => void,
    private readonly lost: () => boolean = () => false,
    private readonly replicas?: ReplicaPool,
  ) {}

  /** The trainer's `workers` for a batch of `batchSize` windows: one, and a replica each. */
  private workersFor(batchSize: number): number {
    return Math.min(1 + (this.replicas?.size ?? 0), batchSize);
  }

  /** A fresh model and trainer for the race, on `text` with a character tokenizer trained on it. */
  setup(params: SetupParams): ModelSummary {
    this.assertIdle();
    const { role, text, preset, sizes, training } = params;
    const tokenizer = trainCharTokenizer(text);
    const data = splitTokens(tokenizer.encode(text));
    const config = raceConfig(role, preset, sizes, tokenizer.vocabSize);
    const model = PrimerModel.create(config, { seed: training.seed });
    let trainer: Trainer;
    try {
      trainer = new Trainer(
        model,
        data,
        {
          batchSize: training.batchSize,
          seqLen: training.seqLen,
          lr: training.lr,
          warmup: training.warmup,
          totalSteps: training.steps,
          seed: training.seed,
          evalWindows: EVAL_WINDOWS,
          workers: this.workersFor(training.batchSize),
        },
        tokenizer,
      );
    } catch (error) {
      model.dispose();
      throw error;
    }
    this.replace(model, tokenizer, trainer);
    this.evalEvery = training.evalEvery;
    this.meta = { role, step: 0, source: 'trained in the browser', valLoss: null };
    this.summaryExtra = {
      trainTokens: data.train.length,
      validationTokens: data.validation.length,
    };
    return this.summary();
  }

  /**
   * Continues a race from one of its checkpoints: the model, the optimiser moments, the step and
   * the data position, so the steps that follow are those the lost run would have taken. The
   * tokenizer and the train/validation split are rebuilt from the race's `text`.
   */
  resume({ checkpoint, text, evalEvery }: ResumeParams): ModelSummary {
    this.assertIdle();
    const { bundle, meta, training } = checkpoint;
    if (training === undefined)
      throw new Error(
        `this checkpoint of ${meta.role} (step ${meta.step}) has no training state (optimiser moments and data position): it can be loaded for generating and scoring, not trained on.`,
      );
    const tokenizer = loadTokenizerJson(bundle.tokenizer);
    const data = splitTokens(tokenizer.encode(text));
    const trainer = Trainer.restore(
      {
        model: { config: bundle.config, weights: bundle.weights },
        tokenizer: bundle.tokenizer,
        state: training.state,
        optimizer: training.optimizer,
      },
      data,
      // With replicas, the cores here, whatever the run was saved with (the same numbers up to
      // float rounding); without, the saved `workers` (shares in turn: the same numbers exactly).
      this.replicas ? { workers: this.workersFor(training.state.options.batchSize) } : {},
      tokenizer,
    );
    this.replace(trainer.model, tokenizer, trainer);
    // The checkpoint was taken right after a validation: no need to validate again.
    this.validatedAtStart = true;
    this.evalEvery = evalEvery;
    this.meta = { ...meta, step: trainer.step };
    this.summaryExtra = {
      trainTokens: data.train.length,
      validationTokens: data.validation.length,
    };
    return this.summary();
  }

  /**
   * Trains until the run's last step, or until {@link pause}: drives {@link Trainer.run}, which
   * validates at step 0, every `evalEvery` steps and at the end; emits `step` and `eval` events,
   * and a `checkpoint` event after each validation but the first. Returns early, emitting nothing
   * more, once `lost()`.
   */
  async train(): Promise<TrainOutcome> {
    const trainer = this.trainer;
    if (trainer === undefined)
      throw new Error('this model cannot be trained here: start a race to train a fresh one.');
    if (this.running) throw new Error('the model is already training.');
    this.running = true;
    const stop = new AbortController();
    this.stop = stop;
    const role = this.meta!.role;
    // The last step whose numbers were sent: a step taken on a lost context is dropped.
    let good = trainer.step;
    // Checkpoints go to the page, each right after a validation.
    const sink = {
      save: async (snapshot: TrainerSnapshot) => {
        if (this.lost()) return '';
        const checkpoint = this.checkpointOf(snapshot, this.tokenizer!);
        this.emit({ type: 'checkpoint', role, step: snapshot.state.step, checkpoint });
        return `step ${snapshot.state.step}`;
      },
    };
    try {
      const end = await trainer.run({
        steps: trainer.options.totalSteps,
        evalEvery: this.evalEvery,
        evalAtStart: !this.validatedAtStart,
        // One checkpoint per validation: 'best', else 'periodic' (or 'final' at the end).
        checkpointEvery: this.evalEvery,
        sink,
        signal: stop.signal,
        onAbort: 'pause',
        ...(this.replicas ? { replicas: this.replicas } : {}),
        onEvent: (e) => {
          if (this.lost()) return stop.abort();
          if (e.type === 'step') {
            good = e.step;
            this.meta!.step = e.step;
            this.emit({
              type: 'step',
              role,
              step: e.step,
              totalSteps: e.totalSteps,
              loss: e.loss,
              lr: e.lr,
              gradNorm: e.gradNorm,
              stepMs: e.stepMs,
              trainMs: e.elapsedMs,
              tokensPerSecond: e.tokensPerSecond,
              memory: memory(),
            });
          } else if (e.type === 'eval') {
            this.validatedAtStart = true;
            this.meta!.valLoss = e.loss;
            this.emit({
              type: 'eval',
              role,
              step: e.step,
              trainMs: trainer.elapsedMs,
              loss: e.loss,
              perplexity: e.perplexity,
              bitsPerToken: e.bitsPerToken,
            });
          }
        },
      });
      if (this.lost()) return { reason: 'lost', step: good };
      return { reason: end === 'finished' ? 'finished' : 'paused', step: trainer.step };
    } catch (error) {
      // On a lost WebGL context tfjs fails in many ways, or quietly computes zeros.
      if (this.lost()) return { reason: 'lost', step: good };
      throw error;
    } finally {
      this.running = false;
      this.stop = undefined;
    }
  }

  /** Asks a running {@link train} to return before its next step. */
  pause(): void {
    this.stop?.abort();
  }

  /**
   * Scores `text` exactly as `primer-ez eval --text FILE` does: the model's tokenizer, then the
   * mean cross-entropy over consecutive non-overlapping windows of max_seq_len, 16 per pass.
   */
  async score(text: string): Promise<ScoreResult> {
    const { model, tokenizer } = this.loaded();
    let tokens: number[];
    try {
      tokens = tokenizer.encode(text);
    } catch (error) {
      throw new Error(
        `the text cannot be encoded with this model's tokenizer: ${(error as Error).message}`,
      );
    }
    const started = performance.now();
    const result = await evaluate(model, tokens, { batchSize: 16 });
    return { ...result, ms: performance.now() - started };
  }

  /** Streams a continuation of `prompt` as `piece` events; resolves when it ends. */
  async generate(params: GenerateParams): Promise<GenerateOutcome> {
    const { model, tokenizer } = this.loaded();
    const controller = new AbortController();
    this.generations.set(params.generationId, controller);
    const started = performance.now();
    try {
      const pieces = generate(model, tokenizer, params.prompt, {
        maxNewTokens: params.maxNewTokens,
        temperature: params.temperature,
        topK: params.topK,
        topP: params.topP,
        signal: controller.signal,
        ...(params.seed !== undefined ? { seed: params.seed } : {}),
      });
      let characters = 0;
      for (;;) {
        const next = await pieces.next();
        if (next.done) {
          return {
            tokens: next.value.tokens.length,
            characters,
            stoppedBy: next.value.stoppedBy,
            ms: performance.now() - started,
          };
        }
        characters += next.value.length;
        this.emit({ type: 'piece', generationId: params.generationId, text: next.value });
        // Let a stop request (and, during a race, the next training step) in.
        await nextTask();
      }
    } finally {
      this.generations.delete(params.generationId);
    }
  }

  stopGenerating(generationId: number): void {
    this.generations.get(generationId)?.abort();
  }

  /**
   * The model as the CLI's checkpoint files: config.json, model.safetensors, tokenizer.json; and,
   * while it has a trainer, the trainer's state to go on from (`trainer_state.json`,
   * `optimizer.safetensors`).
   */
  async exportCheckpoint(): Promise<ExportedCheckpoint> {
    const { model, tokenizer } = this.loaded();
    if (this.trainer !== undefined)
      return this.checkpointOf(await this.trainer.snapshot(), tokenizer);
    const files = await serializeCheckpoint(model);
    return {
      bundle: {
        config: files.config,
        weights: files.weights,
        // The same text the trainer's snapshot (and so `primer-ez train`) writes.
        tokenizer: JSON.stringify(tokenizer.toTokenizerJson()),
      },
      meta: { ...this.meta! },
    };
  }

  /** A trainer's snapshot as the page's checkpoint. */
  private checkpointOf(snapshot: TrainerSnapshot, tokenizer: Tokenizer): ExportedCheckpoint {
    return {
      bundle: {
        config: snapshot.model.config,
        weights: snapshot.model.weights,
        tokenizer: snapshot.tokenizer ?? JSON.stringify(tokenizer.toTokenizerJson()),
      },
      meta: { ...this.meta! },
      training: { state: snapshot.state, optimizer: snapshot.optimizer },
    };
  }

  /** Replaces the model with a checkpoint's (for generating, scoring and saving, not training). */
  loadCheckpoint({ bundle, meta }: ExportedCheckpoint): ModelSummary {
    this.assertIdle();
    const tokenizer = loadTokenizerJson(bundle.tokenizer);
    const model = deserializeCheckpoint({ config: bundle.config, weights: bundle.weights });
    if (tokenizer.vocabSize > model.config.vocab_size) {
      model.dispose();
      throw new Error(
        `tokenizer.json has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${model.config.vocab_size}; do the files belong together?`,
      );
    }
    this.replace(model, tokenizer, undefined);
    this.meta = { ...meta };
    this.summaryExtra = {};
    return this.summary();
  }

  /** What the session holds. */
  summary(): ModelSummary {
    const { model, tokenizer } = this.loaded();
    return {
      meta: { ...this.meta! },
      config: model.config,
      parameterCount: model.parameterCount,
      vocabSize: tokenizer.vocabSize,
      trainable: this.trainer !== undefined && this.trainer.step < this.trainer.options.totalSteps,
      ...this.summaryExtra,
    };
  }

  dispose(): void {
    this.replace(undefined, undefined, undefined);
  }

  private assertIdle(): void {
    if (this.running) throw new Error('the model is training; pause or stop the race first.');
    if (this.generations.size > 0)
      throw new Error('the model is generating text; stop the generation first.');
  }

  private loaded(): { model: PrimerModel; tokenizer: Tokenizer } {
    if (this.model === undefined || this.tokenizer === undefined)
      throw new Error('no model yet: start a race, or load a checkpoint.');
    return { model: this.model, tokenizer: this.tokenizer };
  }

  private replace(
    model: PrimerModel | undefined,
    tokenizer: Tokenizer | undefined,
    trainer: Trainer | undefined,
  ): void {
    this.trainer?.dispose();
    this.model?.dispose();
    this.model = model;
    this.tokenizer = tokenizer;
    this.trainer = trainer;
    this.validatedAtStart = false;
  }
}
