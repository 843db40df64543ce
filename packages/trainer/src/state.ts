// What a run saves to be resumed exactly — the snapshot and `trainer_state.json` — and the checks
// that a state read back from disk is whole before anything trusts it.
import type { CheckpointFiles } from '@primer-ez/primer-layers';
import { TrainingError } from './errors.js';
import type { TrainerOptions } from './options.js';

/** Why a checkpoint was saved. */
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
