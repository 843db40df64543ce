// One model in one worker: builds it and its trainer for the race, trains step by step (so a
// pause lands between two steps), validates, scores a text as `primer-ez eval` does, streams
// generated text, and turns the model into checkpoint files and back. No messaging here: the
// worker wires it to the page (worker.ts), and the unit test drives it directly.
import {
  deserializeCheckpoint,
  type PresetName,
  type PrimerConfig,
  PrimerModel,
  presetConfig,
  serializeCheckpoint,
} from '@primer-ez/primer-layers';
import { loadTokenizerJson, type Tokenizer, trainCharTokenizer } from '@primer-ez/tokenizer';
import { evaluate, generate, splitTokens, Trainer } from '@primer-ez/trainer';
import * as tf from '@tensorflow/tfjs-core';
import type {
  ExportedCheckpoint,
  GenerateOutcome,
  GenerateParams,
  MemoryInfo,
  ModelMeta,
  ModelSummary,
  Role,
  ScoreResult,
  SetupParams,
  TrainOutcome,
  WorkerEvent,
} from '../shared/protocol.js';
import type { ModelSizes, PresetChoice } from '../shared/settings.js';

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
  const name = (role === 'vanilla' ? `${base}-vanilla` : base) as PresetName;
  return presetConfig(name, vocabSize, preset === 'custom' ? sizes : {});
}

/** `tf.memory()`'s counters. */
export function memory(): MemoryInfo {
  const { numTensors, numDataBuffers, numBytes } = tf.memory();
  return { numTensors, numDataBuffers, numBytes };
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
  private trainMs = 0;
  private validatedAtStart = false;
  private running = false;
  private pauseRequested = false;
  private readonly generations = new Map<number, AbortController>();

  constructor(private readonly emit: (event: WorkerEvent) => void) {}

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
   * Trains until the run's last step, or until {@link pause}: validates at step 0, every
   * `evalEvery` steps and at the end, emitting `step` and `eval` events.
   */
  async train(): Promise<TrainOutcome> {
    const trainer = this.trainer;
    if (trainer === undefined)
      throw new Error('this model cannot be trained here: start a race to train a fresh one.');
    if (this.running) throw new Error('the model is already training.');
    this.running = true;
    this.pauseRequested = false;
    const role = this.meta!.role;
    const steps = trainer.options.totalSteps;
    try {
      if (!this.validatedAtStart) {
        await this.validate();
        this.validatedAtStart = true;
      }
      while (trainer.step < steps) {
        await nextTask();
        if (this.pauseRequested) return { reason: 'paused', step: trainer.step };
        const started = performance.now();
        const result = await trainer.trainStep();
        const stepMs = performance.now() - started;
        this.trainMs += stepMs;
        trainer.elapsedMs = this.trainMs;
        this.meta!.step = result.step;
        this.emit({
          type: 'step',
          role,
          step: result.step,
          totalSteps: steps,
          loss: result.loss,
          lr: result.lr,
          gradNorm: result.gradNorm,
          stepMs,
          trainMs: this.trainMs,
          tokensPerSecond: trainer.tokensSeen / (this.trainMs / 1000),
          memory: memory(),
        });
        const last = result.step === steps;
        if (last || (this.evalEvery > 0 && result.step % this.evalEvery === 0)) {
          await this.validate();
        }
      }
      return { reason: 'finished', step: trainer.step };
    } finally {
      this.running = false;
    }
  }

  /** Asks a running {@link train} to return before its next step. */
  pause(): void {
    if (this.running) this.pauseRequested = true;
  }

  private async validate(): Promise<void> {
    const trainer = this.trainer!;
    const result = await trainer.validate();
    trainer.bestValLoss = Math.min(trainer.bestValLoss, result.loss);
    this.meta!.valLoss = result.loss;
    this.emit({
      type: 'eval',
      role: this.meta!.role,
      step: trainer.step,
      trainMs: this.trainMs,
      loss: result.loss,
      perplexity: result.perplexity,
      bitsPerToken: result.bitsPerToken,
    });
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

  /** The model as the CLI's checkpoint files: config.json, model.safetensors, tokenizer.json. */
  async exportCheckpoint(): Promise<ExportedCheckpoint> {
    const { model, tokenizer } = this.loaded();
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
    this.trainMs = 0;
    this.validatedAtStart = false;
  }
}
