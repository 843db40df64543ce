import {
  CheckpointError,
  ConfigError,
  InputError,
  SafetensorsError,
} from '@primer-ez/primer-layers';
import { TokenizerError } from '@primer-ez/tokenizer';
import { DataError, TrainingError } from '@primer-ez/trainer';

/** An error the user can fix: printed as one line (`primer-ez: …`), exit code 1 (2 for usage). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** A mistake in the command line itself (unknown flag, bad value): exit code 2. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, 2);
  }
}

/**
 * Library option names (camelCase, as the packages' APIs spell them) and the flags that set them.
 * A library error speaks of its API (`seqLen = 100000`, `nonFinite: 'skip'`); the user typed
 * flags, so messages are translated here, at the CLI boundary, rather than teaching the libraries
 * about flags.
 */
export const TRAIN_OPTION_FLAGS: Readonly<Record<string, string>> = {
  batchSize: '--batch-size',
  seqLen: '--seq-len',
  lr: '--lr',
  warmup: '--warmup',
  totalSteps: '--steps',
  gradClip: '--grad-clip',
  weightDecay: '--weight-decay',
  accumulate: '--accumulate',
  evalWindows: '--eval-windows',
  nonFinite: '--non-finite',
  optimizer: '--optimizer',
  schedule: '--schedule',
  seed: '--seed',
  workers: '--workers',
};

/** {@link TRAIN_OPTION_FLAGS} for `generate`. */
export const SAMPLING_OPTION_FLAGS: Readonly<Record<string, string>> = {
  maxNewTokens: '--max-new-tokens',
  temperature: '--temperature',
  topK: '--top-k',
  topP: '--top-p',
  repetitionPenalty: '--repetition-penalty',
  seed: '--seed',
  stop: '--stop',
};

/** {@link TRAIN_OPTION_FLAGS} for `eval`. */
export const EVAL_OPTION_FLAGS: Readonly<Record<string, string>> = {
  seqLen: '--seq-len',
  batchSize: '--batch-size',
};

/** Phrases that name something the CLI does not have, and what to say instead. */
const REWRITES: readonly [RegExp, string][] = [
  // The library's own prefix; the CLI prefixes the command instead.
  [/^(trainer|evaluate|generate|splitTokens): /, ''],
  [/\bone window of seqLen \+ 1 = (\d+)/g, 'one window of $1 tokens (seqLen + 1)'],
  [/, a larger validation fraction or a shorter sequence length/g, ' or a shorter seqLen'],
  [/ or a shorter sequence length/g, ' or a shorter seqLen'],
  [/ \(maxSkips \d+\)/g, ''],
  [/\b([Ll]ower the learning rate)\b/g, '$1 (--lr)'],
  [/\bkeep gradient clipping on\b/g, 'keep gradient clipping on (--grad-clip)'],
  [/\bresume from the last checkpoint\b/g, 'resume from the last checkpoint (--resume)'],
  [
    /\bseqLen = (\d+) exceeds the model's max_seq_len (\d+)\.?/g,
    "seqLen = $1 exceeds the model's max_seq_len $2; use seqLen = $2 or less (a new model takes a longer context with --max-seq-len $1).",
  ],
];

/**
 * A library message in the CLI's terms: `key = value` and `key: 'value'` become `--flag value`,
 * and camelCase option names become their flags (`options` maps names to flags).
 */
export function inFlagTerms(message: string, options: Readonly<Record<string, string>>): string {
  let out = message;
  for (const [pattern, replacement] of REWRITES) out = out.replace(pattern, replacement);
  for (const [key, flag] of Object.entries(options)) {
    out = out
      .replace(new RegExp(`\\b${key} = "([^"]*)"`, 'g'), `${flag} $1`)
      .replace(new RegExp(`\\b${key} = `, 'g'), `${flag} `)
      .replace(new RegExp(`\\b${key}: '([^']*)'`, 'g'), `${flag} $1`);
    // A bare word only when it cannot be plain English ("stop", "seed"): camelCase names.
    if (/[A-Z]/.test(key)) out = out.replace(new RegExp(`\\b${key}\\b`, 'g'), flag);
  }
  return out;
}

/**
 * Replaces a tokenizer's advice for a character outside its vocabulary ("configure an unkToken",
 * an API option) with `fix`, what the user can do from the command line.
 */
export function unknownCharacterFix(message: string, fix: string): string {
  return message.replace(/is not in the vocabulary; .*$/s, `is not in the vocabulary; ${fix}`);
}

/** Every library option name the CLI has a flag for (for errors no command translated itself). */
const ALL_OPTION_FLAGS: Readonly<Record<string, string>> = {
  ...EVAL_OPTION_FLAGS,
  ...SAMPLING_OPTION_FLAGS,
  ...TRAIN_OPTION_FLAGS,
};

/**
 * The one-line message of an error a library threw about the user's input (bad data, config,
 * options, a diverged run, a damaged file) that no command caught, in flag terms; undefined for
 * anything else (a bug: its stack is worth printing).
 */
export function libraryErrorMessage(command: string, error: unknown): string | undefined {
  const ours =
    error instanceof DataError ||
    error instanceof TrainingError ||
    error instanceof ConfigError ||
    error instanceof InputError ||
    error instanceof CheckpointError ||
    error instanceof SafetensorsError ||
    error instanceof TokenizerError ||
    // The trainer's option checks and the sampler's throw plain RangeErrors naming the option.
    (error instanceof RangeError &&
      /^(trainer|evaluate|schedule|generate)\b|^\w+ = /.test(error.message));
  return ours ? `${command}: ${inFlagTerms(error.message, ALL_OPTION_FLAGS)}` : undefined;
}
