/**
 * Training, evaluation and sampling for Primer EZ on TensorFlow.js: seeded data windows, AdamW,
 * learning-rate schedules, gradient clipping and accumulation, exactly resumable runs, the
 * evaluation definition the CLI uses, and streaming generation on the key/value cache.
 *
 * @packageDocumentation
 */

export { batchCrossEntropy } from './cross-entropy.js';
export {
  type Batch,
  BatchSampler,
  batchAt,
  DataError,
  findTokenOutside,
  splitTokens,
  type TokenSource,
  type TokenSplit,
  windowStarts,
} from './data.js';
export { ReplicaError } from './errors.js';
export { type EvalResult, type EvaluateOptions, evaluate } from './evaluate.js';
export { DivergenceError, HealthMonitor } from './health.js';
export { AdamW, type AdamWOptions, clipByGlobalNorm, type OptimParam } from './optim.js';
export { shareModel } from './parallel.js';
export {
  type GradientResult,
  type GradientTask,
  type ParameterSlot,
  parameterLayout,
  Replica,
  type ReplicaPool,
  type WindowShare,
} from './replicas.js';
export { Rng } from './rng.js';
export {
  type GenerateResult,
  generate,
  generateText,
  MAX_NEW_TOKENS,
  type SampleOptions,
} from './sample.js';
export { nextTokenProbabilities, type SamplingOptions, sampleNext } from './sampling.js';
export { learningRate, type Schedule, validateSchedule } from './schedule.js';
export {
  type CheckpointKind,
  type CheckpointSink,
  DEFAULT_TRAINER_OPTIONS,
  type RunEnd,
  type RunOptions,
  resolveTrainerOptions,
  type StepResult,
  type TrainEvent,
  Trainer,
  type TrainerOptions,
  type TrainerSnapshot,
  type TrainerState,
  TrainingError,
  validateTrainerState,
} from './trainer.js';
export { yieldToEventLoop } from './yield.js';
