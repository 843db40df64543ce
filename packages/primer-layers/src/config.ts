import { describeValue, formatValue, stripUndefined } from '@primer-ez/input-checks';
import { nearest } from './nearest.js';

/**
 * The model's hyper-parameters. The keys and values are exactly those of a checkpoint's
 * `config.json` (snake_case), so a config is written and read without translation.
 */
export interface PrimerConfig {
  /** Always "primer-ez" (it identifies the checkpoint format). */
  model_type: 'primer-ez';
  vocab_size: number;
  /** Model width C. */
  d_model: number;
  /** Attention heads H; `d_model` must be a multiple of it (head width D = C / H). */
  n_heads: number;
  n_layers: number;
  /** Feed-forward width F. */
  d_ff: number;
  /** Longest sequence the model reads at once (and the size of the learned position table). */
  max_seq_len: number;
  /** `squared_relu` (Primer) or `relu` (vanilla). */
  ffn_activation: 'squared_relu' | 'relu';
  /** `mdha` (Multi-DConv-Head Attention, Primer) or `mha` (vanilla). */
  attention: 'mdha' | 'mha';
  /**
   * `per_channel`: every channel has its own kernel (the paper's). `shared`: one set of D
   * head-width kernels shared by all heads (the labml.ai annotated implementation's).
   */
  dconv: 'per_channel' | 'shared';
  /** Taps of the causal depthwise convolution (3 in the paper). */
  dconv_kernel: number;
  /**
   * Whether the convolutions have a bias (default: true). A `config.json` written before this
   * default (when per_channel had none) records the key, and one that omits it loads with
   * whatever its weights hold.
   */
  dconv_bias: boolean;
  /**
   * How the convolution kernels start. `uniform` (the default): PyTorch's `Conv1d` default,
   * kernels and biases U(±1/√K), as in labml.ai's code; with a bias it reaches vanilla's loss in
   * fewer steps than `smoothing` on every seed measured (BENCHMARKS.md, issue 16). `smoothing`:
   * 0.5 on the current position and 0.5/3 on each earlier tap, biases 0 (per_channel's default
   * before). Only the initial weights depend on it; a checkpoint written before the key existed
   * loads unchanged.
   */
  dconv_init: 'smoothing' | 'uniform';
  /** `learned`: embed + pos_embed. `sinusoidal`: embed·√C + PE (Vaswani, labml). */
  positional: 'learned' | 'sinusoidal';
  /** LayerNorm epsilon (PyTorch's 1e-5). */
  norm_eps: number;
  /** Whether lm_head reuses the token embedding (then it has no weight or bias of its own). */
  tie_embeddings: boolean;
  /** Dropout on attention probabilities, attention output and FFN output, when training. */
  dropout: number;
}

/** What {@link resolveConfig} accepts: the sizes, and any other key to override its default. */
export type ConfigInput = Partial<PrimerConfig> &
  Pick<PrimerConfig, 'vocab_size' | 'd_model' | 'n_heads' | 'n_layers' | 'd_ff' | 'max_seq_len'>;

/** Thrown for an invalid config; the message names the key, the value and the fix. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const CHOICES = {
  ffn_activation: ['squared_relu', 'relu'],
  attention: ['mdha', 'mha'],
  dconv: ['per_channel', 'shared'],
  dconv_init: ['smoothing', 'uniform'],
  positional: ['learned', 'sinusoidal'],
} as const;

/** The integer sizes, each with the largest value accepted (far beyond what tfjs can train). */
const SIZES = {
  vocab_size: 2 ** 22,
  d_model: 2 ** 16,
  n_heads: 2 ** 16,
  n_layers: 1024,
  d_ff: 2 ** 18,
  max_seq_len: 2 ** 20,
  dconv_kernel: 1024,
} as const;
const SIZE_KEYS = Object.keys(SIZES) as (keyof typeof SIZES)[];
const REQUIRED = ['vocab_size', 'd_model', 'n_heads', 'n_layers', 'd_ff', 'max_seq_len'] as const;

/**
 * The most parameters a config may ask for: 2³¹ (8 GiB of float32), beyond what any tfjs backend
 * holds. A size read from a corrupted or hostile `config.json` is refused here, before anything
 * is allocated for it.
 */
export const MAX_PARAMETERS = 2 ** 31;

const KEYS: readonly (keyof PrimerConfig)[] = [
  'model_type',
  ...SIZE_KEYS,
  'ffn_activation',
  'attention',
  'dconv',
  'dconv_bias',
  'dconv_init',
  'positional',
  'norm_eps',
  'tie_embeddings',
  'dropout',
];

/**
 * Fills in defaults (Primer EZ: squared ReLU, per-channel MDHA with 3 taps, a bias and the
 * uniform init, learned positions, eps 1e-5, untied, no dropout) and checks every invariant, throwing a
 * {@link ConfigError} that names the bad key, its value and the rule: types, ranges (sizes are
 * integers from 1 to a sane maximum, and the model at most {@link MAX_PARAMETERS} parameters),
 * `d_model` a multiple of `n_heads`. Unknown keys are rejected too, all of them named, with the
 * nearest known key (a typo would otherwise silently train the wrong model).
 */
export function resolveConfig(input: ConfigInput): PrimerConfig {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError(
      `config must be an object with the model's sizes, got ${describeValue(input)}.`,
    );
  }
  const unknown = Object.keys(input).filter((key) => !KEYS.includes(key as keyof PrimerConfig));
  if (unknown.length > 0) {
    const named = unknown.map((key) => {
      const near = key.length <= 40 ? nearest(key.toLowerCase(), KEYS) : undefined;
      return `'${key.slice(0, 100)}'${near ? ` (did you mean '${near}'?)` : ''}`;
    });
    throw new ConfigError(
      `config: unknown key${unknown.length > 1 ? 's' : ''} ${named.join(', ')}. Known keys: ${KEYS.join(', ')}.`,
    );
  }
  const given = stripUndefined(input);
  for (const key of REQUIRED) {
    if (!Object.hasOwn(given, key)) {
      throw new ConfigError(`config: ${key} is missing; it must be a positive integer.`);
    }
  }
  const config: PrimerConfig = {
    model_type: 'primer-ez',
    ffn_activation: 'squared_relu',
    attention: 'mdha',
    dconv: 'per_channel',
    dconv_kernel: 3,
    dconv_bias: true,
    dconv_init: 'uniform',
    positional: 'learned',
    norm_eps: 1e-5,
    tie_embeddings: false,
    dropout: 0,
    ...given,
  } as PrimerConfig;
  const bad = (key: keyof PrimerConfig, why: string) => {
    return new ConfigError(`config: ${key} = ${formatValue(config[key], 100)} ${why}.`);
  };
  if (config.model_type !== 'primer-ez') throw bad('model_type', "must be 'primer-ez'");
  for (const key of SIZE_KEYS) {
    const v = config[key];
    if (!Number.isInteger(v) || v < 1) throw bad(key, 'must be a positive integer');
    if (v > SIZES[key]) {
      throw bad(
        key,
        `is above ${SIZES[key]}, the largest accepted (no model that size fits in memory; is config.json corrupted?)`,
      );
    }
  }
  if (config.d_model % config.n_heads !== 0) {
    throw bad(
      'd_model',
      `must be a multiple of n_heads = ${config.n_heads} (head width d_model / n_heads); ` +
        `try d_model = ${Math.ceil(config.d_model / config.n_heads) * config.n_heads}`,
    );
  }
  for (const [key, allowed] of Object.entries(CHOICES) as [
    keyof typeof CHOICES,
    readonly string[],
  ][]) {
    if (!allowed.includes(config[key]))
      throw bad(key, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  for (const key of ['dconv_bias', 'tie_embeddings'] as const) {
    if (typeof config[key] !== 'boolean') throw bad(key, 'must be true or false');
  }
  if (!(typeof config.norm_eps === 'number' && config.norm_eps > 0 && config.norm_eps < 1))
    throw bad('norm_eps', 'must be a number in (0, 1) (PyTorch uses 1e-5)');
  if (!(typeof config.dropout === 'number' && config.dropout >= 0 && config.dropout < 1)) {
    throw bad('dropout', 'must be a number in [0, 1)');
  }
  const parameters = approximateParameters(config);
  if (parameters > MAX_PARAMETERS) {
    throw new ConfigError(
      `config: the model would have about ${parameters.toPrecision(3)} parameters ` +
        `(${(parameters * 4).toPrecision(3)} bytes of float32), more than the ${MAX_PARAMETERS} accepted; ` +
        'reduce vocab_size, d_model, d_ff or n_layers.',
    );
  }
  return config;
}

/** The parameter count's dominant terms (for the size cap; `countParameters` is exact). */
function approximateParameters(c: PrimerConfig): number {
  const { vocab_size: v, d_model: d, d_ff: f, max_seq_len: t, n_layers: l } = c;
  const embeddings = v * d * (c.tie_embeddings ? 1 : 2) + (c.positional === 'learned' ? t * d : 0);
  return embeddings + l * (4 * d * d + 2 * d * f + 3 * c.dconv_kernel * d);
}

/** Head width D = d_model / n_heads. */
export const headDim = (c: PrimerConfig) => c.d_model / c.n_heads;

/** Sizes and switches of a named preset, without `vocab_size` (that comes from the tokenizer). */
export type Preset = Omit<ConfigInput, 'vocab_size'>;

const vanilla = { attention: 'mha', ffn_activation: 'relu' } as const;
const tiny = { d_model: 32, n_heads: 4, n_layers: 2, d_ff: 64, max_seq_len: 32 };
const small = { d_model: 128, n_heads: 4, n_layers: 4, d_ff: 512, max_seq_len: 128 };
/** A size that fills a GPU (~43 M parameters): GPT-2 small's width, 6 layers, 256 positions. */
const medium = { d_model: 768, n_heads: 12, n_layers: 6, d_ff: 3072, max_seq_len: 256 };
const labml = {
  d_model: 512,
  n_heads: 8,
  n_layers: 6,
  d_ff: 2048,
  max_seq_len: 256,
  dropout: 0.1,
  positional: 'sinusoidal',
  dconv: 'shared',
} as const;

/**
 * Named presets. `tiny` is for tests; `small` is the experiment size (d_model 128, 4 heads,
 * 4 layers, d_ff 512, 128 positions); `labml` is labml.ai's Primer EZ experiment (512 wide, 8 heads,
 * 6 layers, d_ff 2048, 256 positions, dropout 0.1, sinusoidal positions, head-shared convs);
 * `medium` fills a GPU for the GPU benchmark (768 wide, 12 heads, 6 layers, d_ff 3072). Each
 * has a `-vanilla` twin of the same shape with plain attention and ReLU.
 */
export const PRESETS = {
  tiny,
  small,
  labml,
  medium,
  'tiny-vanilla': { ...tiny, ...vanilla },
  'small-vanilla': { ...small, ...vanilla },
  'labml-vanilla': { ...labml, ...vanilla },
  'medium-vanilla': { ...medium, ...vanilla },
} satisfies Record<string, Preset>;

export type PresetName = keyof typeof PRESETS;

/**
 * The preset of a size and an architecture: the size itself for Primer EZ, its `-vanilla` twin
 * (the same shape with plain attention and ReLU) for the baseline. Throws a {@link ConfigError}
 * naming the sizes for a size or architecture that has no preset.
 *
 * @example
 * presetName('small', 'vanilla'); // 'small-vanilla'
 * presetConfig(presetName('tiny', 'primer-ez'), 65);
 */
export function presetName(size: string, arch: 'primer-ez' | 'vanilla'): PresetName {
  const sizes = Object.keys(PRESETS).filter((n) => !n.endsWith('-vanilla'));
  if (!sizes.includes(size))
    throw new ConfigError(`unknown preset size '${size}'; choose one of ${sizes.join(', ')}.`);
  if (arch !== 'primer-ez' && arch !== 'vanilla')
    throw new ConfigError(
      `unknown architecture '${String(arch)}' for preset '${size}'; choose primer-ez or vanilla.`,
    );
  return (arch === 'vanilla' ? `${size}-vanilla` : size) as PresetName;
}

/** A resolved config from a named preset, the vocabulary size and any overrides. */
export function presetConfig(
  name: PresetName,
  vocabSize: number,
  overrides: Partial<PrimerConfig> = {},
): PrimerConfig {
  const preset = PRESETS[name] as Preset | undefined;
  if (preset === undefined) {
    throw new ConfigError(
      `unknown preset '${String(name)}'; choose one of ${Object.keys(PRESETS).join(', ')}.`,
    );
  }
  return resolveConfig({ ...preset, vocab_size: vocabSize, ...overrides });
}
