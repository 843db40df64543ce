// What the page and a training worker say to each other. One worker holds one model (Primer EZ
// or the vanilla baseline); the race runs the two workers side by side.
import type { BackendInfo, BrowserDevice } from '@primer-ez/backend-browser';
import type { PrimerConfig } from '@primer-ez/primer-layers';
import type { TrainerState } from '@primer-ez/trainer';
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
  /** On WebGL only: the GPU textures behind the tensors (see {@link GpuMemory}). */
  gpu?: GpuMemory;
}

/**
 * The WebGL backend's textures. tfjs keeps released textures in a pool for reuse, so after the
 * first steps `bytesAllocated` (in use + pooled) should stop growing, and `bytesInUse` and
 * `texturesInUse` should be as flat as the tensor count.
 */
export interface GpuMemory {
  /** Bytes of the textures that hold live tensors (`tf.memory().numBytesInGPU`). */
  bytesInUse: number;
  /** Bytes of every texture tfjs holds, in use or pooled (`numBytesInGPUAllocated`). */
  bytesAllocated: number;
  /** Bytes of the pooled, free textures (`numBytesInGPUFree`). */
  bytesFree: number;
  texturesInUse: number;
  texturesFree: number;
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
  /** The race that trained it (a checkpoint resumes only the race it belongs to). */
  raceId?: string;
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

/** Why a `train` call returned (`lost`: the WebGL context is gone, see {@link LostEvent}). */
export interface TrainOutcome {
  reason: 'finished' | 'paused' | 'lost';
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

/**
 * What a trainer needs besides the model to go on exactly where it stopped: the CLI's
 * `trainer_state.json` (step, data position, options) and `optimizer.safetensors` (AdamW moments).
 */
export interface TrainingState {
  state: TrainerState;
  optimizer: Uint8Array;
}

/** A checkpoint with where it came from (and, from a race, the state to train on). */
export interface ExportedCheckpoint {
  bundle: CheckpointBundle;
  meta: ModelMeta;
  /** Present while the worker holds a trainer (a race's model); loaded files have none. */
  training?: TrainingState;
}

/** Continues a race from a checkpoint (after a lost WebGL context): the same text, the same split. */
export interface ResumeParams {
  checkpoint: ExportedCheckpoint;
  /** The race's text (the tokenizer and the train/validation split are rebuilt from it). */
  text: string;
  evalEvery: number;
}

/** The worker's methods (see worker/worker.ts). */
export interface WorkerApi {
  /**
   * Starts the backend; on wasm and cpu in a cross-origin isolated page, also `workers − 1`
   * replica workers (default: half the cores) to train on more than one core.
   */
  init(params: { device: BrowserDevice; workers?: number | undefined }): Promise<BackendInfo>;
  setup(params: SetupParams): Promise<ModelSummary>;
  train(params: Record<string, never>): Promise<TrainOutcome>;
  pause(params: Record<string, never>): void;
  score(params: { text: string }): Promise<ScoreResult>;
  generate(params: GenerateParams): Promise<GenerateOutcome>;
  stopGenerating(params: { generationId: number }): void;
  exportCheckpoint(params: Record<string, never>): Promise<ExportedCheckpoint>;
  loadCheckpoint(params: ExportedCheckpoint): Promise<ModelSummary>;
  resume(params: ResumeParams): Promise<ModelSummary>;
  memory(params: Record<string, never>): MemoryInfo;
  /**
   * Debug aid (the debug panel's button): loses this worker's WebGL context for real, with the
   * `WEBGL_lose_context` extension, as a GPU reset would.
   */
  loseContext(params: Record<string, never>): void;
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

/**
 * A checkpoint of the race, taken right after each validation: the page keeps it in IndexedDB,
 * and a lost WebGL context resumes from the last one kept.
 */
export interface CheckpointEvent {
  type: 'checkpoint';
  role: Role;
  step: number;
  checkpoint: ExportedCheckpoint;
}

/**
 * The worker's WebGL context is lost (a GPU reset, the browser reclaiming it, or the debug
 * button): every tensor of the worker is gone, so the page ends the worker and offers to resume.
 */
export interface LostEvent {
  type: 'lost';
  message: string;
}

export type WorkerEvent = StepEvent | EvalEvent | PieceEvent | CheckpointEvent | LostEvent;
