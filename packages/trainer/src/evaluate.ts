import type { PrimerModel } from '@primer-ez/primer-layers';
import { DataError, findTokenOutside, type TokenSource, windowStarts } from './data.js';
import { crossEntropyOnReplicas } from './parallel.js';
import type { ReplicaPool } from './replicas.js';

/** Scores of a model on a token stream. */
export interface EvalResult {
  /** Mean next-token cross-entropy, in nats. */
  loss: number;
  /** `exp(loss)`. */
  perplexity: number;
  /** `loss / ln 2` (bits per character for a character tokenizer). */
  bitsPerToken: number;
  /** Tokens scored. */
  tokens: number;
  /** Windows scored. */
  windows: number;
}

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Window length T (default: the model's max_seq_len). */
  seqLen?: number;
  /** Windows per forward pass (default 16). */
  batchSize?: number;
  /** Score only this many windows, evenly spaced (default: all). */
  maxWindows?: number;
  /**
   * Replicas holding this model (see `shareModel`) to score batches alongside this thread: batch k
   * goes to participant k mod (1 + replicas), and the result is the one-thread result exactly.
   */
  replicas?: ReplicaPool;
}

/**
 * Scores a token stream with consecutive non-overlapping windows: inputs `ids[s : s+T]`, targets
 * `ids[s+1 : s+T+1]` for `s = 0, T, 2T, …` while `s + T + 1 ≤ N` — the definition the CLI's
 * `eval` uses. Returns the mean cross-entropy over every scored token, perplexity and bits.
 * `tokens` may be an array or any {@link TokenSource} (e.g. a token file, read window by window).
 */
export async function evaluate(
  model: PrimerModel,
  tokens: ArrayLike<number> | TokenSource,
  { seqLen = model.config.max_seq_len, batchSize = 16, maxWindows, replicas }: EvaluateOptions = {},
): Promise<EvalResult> {
  for (const [name, value] of [
    ['seqLen', seqLen],
    ['batchSize', batchSize],
    ['maxWindows', maxWindows ?? 1],
  ] as const) {
    if (!(Number.isInteger(value) && value >= 1))
      throw new RangeError(`evaluate: ${name} = ${value} must be a positive integer.`);
  }
  const stream = tokenSourceOf(tokens);
  if (seqLen > model.config.max_seq_len) {
    throw new DataError(
      `evaluate: seqLen ${seqLen} exceeds the model's max_seq_len ${model.config.max_seq_len}.`,
    );
  }
  const starts = windowStarts(stream.length, seqLen, maxWindows);
  if (starts.length === 0) {
    throw new DataError(
      `evaluate: ${stream.length} tokens are fewer than one window of seqLen + 1 = ${seqLen + 1}; ` +
        'score more text or use a shorter seqLen.',
    );
  }
  const vocab = model.config.vocab_size;
  const outside = findTokenOutside(stream, vocab);
  if (outside !== undefined) {
    throw new DataError(
      `evaluate: token ${outside.index} is ${outside.id}, outside the model's vocabulary [0, ${vocab}).`,
    );
  }
  const total = await crossEntropyOnReplicas(
    model,
    stream,
    starts,
    { seqLen, batchSize },
    replicas,
    'evaluating',
  );
  const count = starts.length * seqLen;
  const loss = total / count;
  return {
    loss,
    perplexity: Math.exp(loss),
    bitsPerToken: loss / Math.LN2,
    tokens: count,
    windows: starts.length,
  };
}

/** An Int32Array or other {@link TokenSource} as it is; a plain array of integers copied. */
function tokenSourceOf(tokens: ArrayLike<number> | TokenSource): TokenSource {
  if (tokens instanceof Int32Array) return tokens;
  if (tokens === null || typeof tokens !== 'object' || typeof tokens.length !== 'number')
    throw new TypeError(`evaluate: tokens must be an Int32Array or number[] of token ids.`);
  if (typeof (tokens as TokenSource).subarray === 'function' && !ArrayBuffer.isView(tokens))
    return tokens as TokenSource;
  const list = tokens as ArrayLike<number>;
  for (let i = 0; i < list.length; i++)
    if (!Number.isInteger(list[i]))
      throw new DataError(`evaluate: token ${i} is ${list[i]}, not an integer token id.`);
  return Int32Array.from(list);
}
