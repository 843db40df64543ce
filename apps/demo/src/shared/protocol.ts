// What the page and a training worker say to each other. One worker holds one model (Primer EZ
// or the vanilla baseline); the race runs the two workers side by side.
import type { BackendInfo, BrowserDevice } from '@primer-ez/backend-webgl';
import type { PrimerConfig } from '@primer-ez/primer-layers';
import type { CheckpointBundle } from './checkpoint-files.js';
import type { ModelSizes, PresetChoice, TrainingSettings } from './settings.js';

/** Which of the two racers a worker holds. */
export type Role = 'primer' | 'vanilla';

export const ROLES: readonly Role[] = ['primer', 'vanilla'];

/** How the page names each racer. */
export const ROLE_LABEL: Record<Role, string> = { primer: 'Primer EZ', vanilla: 'Vanilla' };

/** `tf.memory()`, the part the debug panel shows. */
export interface MemoryInfo {
  numTensors: number;
  numDataBuffers: number;
  numBytes: number;
}

/** Builds a fresh model and its trainer on a text (character tokenizer trained on it). */
export interface SetupParams {
  role: Role;
  text: string;
  preset: PresetChoice;
  sizes: ModelSizes;
  training: TrainingSettings;
}

/** Where a model came from and how far it was trained. */
export interface ModelMeta {
  role: Role;
  step: number;
  /** e.g. "trained in the browser on Moby-Dick", "loaded from config.json, …". */
  source: string;
  /** The last validation loss, when known. */
  valLoss: number | null;
  /** ISO time of the save, for models kept in IndexedDB. */
  savedAt?: string;
}

/** What a worker holds. */
export interface ModelSummary {
  meta: ModelMeta;
  config: PrimerConfig;
  parameterCount: number;
  vocabSize: number;
  /** Whether the worker can train it (a race set it up; loaded checkpoints are for use only). */
  trainable: boolean;
  trainTokens?: number;
  validationTokens?: number;
}

/** Why a `train` call returned. */
export interface TrainOutcome {
  reason: 'finished' | 'paused';
  step: number;
}

/** Sampling options of the generate panel. */
export interface GenerateParams {
  generationId: number;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  seed?: number;
}

/** What a generation produced (the text itself arrives as `piece` events). */
export interface GenerateOutcome {
  tokens: number;
  characters: number;
  stoppedBy: 'maxNewTokens' | 'stop' | 'stopToken' | 'abort';
  ms: number;
}

/** The CLI's `eval` numbers for a text, computed in the page. */
export interface ScoreResult {
  loss: number;
  perplexity: number;
  bitsPerToken: number;
  tokens: number;
  windows: number;
  ms: number;
}

/** A checkpoint with where it came from. */
export interface ExportedCheckpoint {
  bundle: CheckpointBundle;
  meta: ModelMeta;
}

/** The worker's methods (see worker/worker.ts). */
export interface WorkerApi {
  init(params: { device: BrowserDevice }): Promise<BackendInfo>;
  setup(params: SetupParams): Promise<ModelSummary>;
  train(params: Record<string, never>): Promise<TrainOutcome>;
  pause(params: Record<string, never>): void;
  score(params: { text: string }): Promise<ScoreResult>;
  generate(params: GenerateParams): Promise<GenerateOutcome>;
  stopGenerating(params: { generationId: number }): void;
  exportCheckpoint(params: Record<string, never>): Promise<ExportedCheckpoint>;
  loadCheckpoint(params: ExportedCheckpoint): Promise<ModelSummary>;
  memory(params: Record<string, never>): MemoryInfo;
}

/** One optimiser step. */
export interface StepEvent {
  type: 'step';
  role: Role;
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** This step's time, ms. */
  stepMs: number;
  /** Training time so far (optimiser steps only, not validation or pauses), ms. */
  trainMs: number;
  /** Training tokens per second of training time, over the run so far. */
  tokensPerSecond: number;
  /** `tf.memory()` right after the step. */
  memory: MemoryInfo;
}

/** A validation (the trainer's fixed windows of the last 10% of the text). */
export interface EvalEvent {
  type: 'eval';
  role: Role;
  step: number;
  trainMs: number;
  loss: number;
  perplexity: number;
  bitsPerToken: number;
}

/** Generated text, streamed as it is sampled. */
export interface PieceEvent {
  type: 'piece';
  generationId: number;
  text: string;
}

export type WorkerEvent = StepEvent | EvalEvent | PieceEvent;
