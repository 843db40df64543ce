// The race's settings as the form gives them: read, checked field by field (each error names its
// field, so the page can point at it), and turned into model sizes and trainer options.

/** A model's sizes, named as in config.json. */
export interface ModelSizes {
  d_model: number;
  n_heads: number;
  n_layers: number;
  d_ff: number;
  max_seq_len: number;
}

/** The presets the page offers (`custom` = any sizes, built on the `tiny` preset's switches). */
export type PresetChoice = 'tiny' | 'small' | 'custom';

/**
 * The sizes of primer-layers' `tiny` and `small` presets (a unit test checks they are the same),
 * kept here so the page needs no tfjs to fill the form.
 */
export const PRESET_SIZES: Record<Exclude<PresetChoice, 'custom'>, ModelSizes> = {
  tiny: { d_model: 32, n_heads: 4, n_layers: 2, d_ff: 64, max_seq_len: 32 },
  small: { d_model: 128, n_heads: 4, n_layers: 4, d_ff: 512, max_seq_len: 128 },
};

/** What the trainer is told. */
export interface TrainingSettings {
  steps: number;
  lr: number;
  batchSize: number;
  seqLen: number;
  /** Validate every this many steps (and at the start and the end); 0 = only start and end. */
  evalEvery: number;
  seed: number;
  /** Linear warmup steps: a tenth of the run, at most 100 (the trainer's default). */
  warmup: number;
}

/** The whole form, checked. */
export interface RaceSettings {
  preset: PresetChoice;
  sizes: ModelSizes;
  training: TrainingSettings;
}

/** Suggested training settings per preset (small: fewer, longer steps). */
export const DEFAULT_TRAINING: Record<
  Exclude<PresetChoice, 'custom'>,
  Omit<TrainingSettings, 'warmup' | 'seqLen'>
> = {
  tiny: { steps: 300, lr: 3e-3, batchSize: 16, evalEvery: 25, seed: 0 },
  small: { steps: 200, lr: 1e-3, batchSize: 16, evalEvery: 20, seed: 0 },
};

/** The form's field names (also the inputs' `name`s). */
export const FIELDS = [
  'preset',
  'd_model',
  'n_heads',
  'n_layers',
  'd_ff',
  'max_seq_len',
  'steps',
  'lr',
  'batch_size',
  'seq_len',
  'eval_every',
  'seed',
] as const;

export type Field = (typeof FIELDS)[number];

/** A problem with one field, in words for the person filling the form. */
export interface FieldError {
  field: Field;
  message: string;
}

const SIZE_FIELDS = ['d_model', 'n_heads', 'n_layers', 'd_ff', 'max_seq_len'] as const;

/** The largest numbers the form accepts: a browser tab has a few GB at most. */
const LIMITS = {
  d_model: 1024,
  n_heads: 64,
  n_layers: 24,
  d_ff: 8192,
  max_seq_len: 1024,
  steps: 1_000_000,
  batch_size: 1024,
  eval_every: 1_000_000,
  seed: 2 ** 31 - 1,
} as const;

/** Warmup steps for a run of `steps`: a tenth of it, at most 100. */
export function warmupFor(steps: number): number {
  return Math.min(100, Math.floor(steps / 10));
}

/** The preset whose sizes these are, else `custom`. */
export function presetOf(sizes: ModelSizes): PresetChoice {
  for (const [name, preset] of Object.entries(PRESET_SIZES) as [
    Exclude<PresetChoice, 'custom'>,
    ModelSizes,
  ][]) {
    if (SIZE_FIELDS.every((key) => preset[key] === sizes[key])) return name;
  }
  return 'custom';
}

/**
 * Reads the form's values (strings, as inputs hold them). Returns the settings, or every problem
 * found, each naming its field. The preset is the one the sizes match (edited sizes: `custom`).
 */
export function parseSettings(
  values: Readonly<Partial<Record<Field, string>>>,
): { settings: RaceSettings; errors: [] } | { settings: undefined; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const integer = (field: Exclude<Field, 'preset' | 'lr'>, min: number, max: number) => {
    const text = (values[field] ?? '').trim();
    const value = Number(text);
    if (text === '' || !Number.isInteger(value) || value < min || value > max) {
      errors.push({
        field,
        message: `${label(field)} must be a whole number from ${min} to ${max.toLocaleString('en')}${text === '' ? '' : ` (got ${text})`}.`,
      });
      return Number.NaN;
    }
    return value;
  };
  const sizes: ModelSizes = {
    d_model: integer('d_model', 1, LIMITS.d_model),
    n_heads: integer('n_heads', 1, LIMITS.n_heads),
    n_layers: integer('n_layers', 1, LIMITS.n_layers),
    d_ff: integer('d_ff', 1, LIMITS.d_ff),
    max_seq_len: integer('max_seq_len', 2, LIMITS.max_seq_len),
  };
  if (
    Number.isInteger(sizes.d_model) &&
    Number.isInteger(sizes.n_heads) &&
    sizes.d_model % sizes.n_heads !== 0
  ) {
    const fit = Math.ceil(sizes.d_model / sizes.n_heads) * sizes.n_heads;
    errors.push({
      field: 'd_model',
      message: `Model width (${sizes.d_model}) must be a multiple of the number of heads (${sizes.n_heads}); try ${fit}.`,
    });
  }
  const steps = integer('steps', 1, LIMITS.steps);
  const lrText = (values.lr ?? '').trim();
  const lr = Number(lrText);
  if (lrText === '' || !Number.isFinite(lr) || lr <= 0 || lr > 1) {
    errors.push({
      field: 'lr',
      message: `Learning rate must be a number above 0 and at most 1, such as 0.003${lrText === '' ? '' : ` (got ${lrText})`}.`,
    });
  }
  const batchSize = integer('batch_size', 1, LIMITS.batch_size);
  const maxSeqLen = Number.isInteger(sizes.max_seq_len) ? sizes.max_seq_len : LIMITS.max_seq_len;
  const seqLen = integer('seq_len', 1, maxSeqLen);
  const evalEvery = integer('eval_every', 0, LIMITS.eval_every);
  const seed = integer('seed', 0, LIMITS.seed);
  if (errors.length > 0) return { settings: undefined, errors };
  return {
    settings: {
      preset: presetOf(sizes),
      sizes,
      training: { steps, lr, batchSize, seqLen, evalEvery, seed, warmup: warmupFor(steps) },
    },
    errors: [],
  };
}

/** The fewest characters a text needs for a run with windows of `seqLen`. */
export function minimumCorpusLength(seqLen: number): number {
  // The last 10% is for validation, and each part needs one window of seqLen + 1 tokens.
  return Math.ceil((seqLen + 1) / 0.1) + 1;
}

/** How the form calls each field, for messages. */
export function label(field: Field): string {
  return {
    preset: 'Preset',
    d_model: 'Model width (d_model)',
    n_heads: 'Heads',
    n_layers: 'Layers',
    d_ff: 'Feed-forward width (d_ff)',
    max_seq_len: 'Context length (max_seq_len)',
    steps: 'Steps',
    lr: 'Learning rate',
    batch_size: 'Batch size',
    seq_len: 'Sequence length',
    eval_every: 'Validate every',
    seed: 'Seed',
  }[field];
}
