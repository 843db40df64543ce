/**
 * Streaming generation from a {@link PrimerModel}: the key/value-cache {@link Decoder} (or full
 * forward passes), stop strings, stop tokens and cancellation around the next-token rule of
 * `sampling.ts` ({@link sampleNext}).
 */
import { describeValue } from '@primer-ez/input-checks';
import { Decoder, type PrimerModel } from '@primer-ez/primer-layers';
import { isWellFormed, type Tokenizer } from '@primer-ez/tokenizer';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from './rng.js';
import {
  type ResolvedSampling,
  resolveSampling,
  type SamplingOptions,
  sampleNext,
} from './sampling.js';
import { StopStrings } from './stop-strings.js';
import { periodicYield } from './yield.js';

/** The most tokens one {@link generate} call produces (about 4 MB of text for a char model). */
export const MAX_NEW_TOKENS = 2 ** 22;

/** Options of {@link generate} and {@link generateText}. */
export interface SampleOptions extends SamplingOptions {
  /** Tokens to generate at most. Default 100. */
  maxNewTokens?: number;
  /** Seed of the sampling; the same seed, model and options give the same text. Default: random. */
  seed?: number;
  /** Generation ends as soon as the text contains one of these; the stop string is not output. */
  stop?: string[];
  /** Token ids that end generation (not output), e.g. the id of `<|endoftext|>`. */
  stopTokens?: number[];
  /**
   * Decode with the key/value cache (default `true`). `false` reruns the full forward pass over
   * the last `max_seq_len` tokens for every new token: slower, for tests and benchmarks.
   */
  useCache?: boolean;
  /** Ends generation early (`stoppedBy: 'abort'`), keeping what was generated so far. */
  signal?: AbortSignal;
}

/** What a generation produced. */
export interface GenerateResult {
  /** The generated text (without the prompt, cut before a stop string). */
  text: string;
  /**
   * The generated ids, without the prompt and without a stop token. When a stop string ends
   * generation they include the tokens that spell it, since a token may hold text on both sides.
   */
  tokens: number[];
  /** Why generation ended. */
  stoppedBy: 'maxNewTokens' | 'stop' | 'stopToken' | 'abort';
}

interface ResolvedOptions extends ResolvedSampling {
  maxNewTokens: number;
  seed: number;
  stop: readonly string[];
  stopTokens: ReadonlySet<number>;
  useCache: boolean;
  signal: AbortSignal | undefined;
}

function resolveOptions(options: SampleOptions, vocabSize: number): ResolvedOptions {
  const sampling = resolveSampling(options);
  const { maxNewTokens = 100, stop = [], stopTokens = [], useCache = true, signal } = options;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 0 && maxNewTokens <= MAX_NEW_TOKENS)) {
    throw new RangeError(
      `maxNewTokens = ${maxNewTokens} must be an integer in [0, ${MAX_NEW_TOKENS}]; for longer texts, generate again from the end of the last one.`,
    );
  }
  if (!Number.isFinite(seed)) throw new RangeError(`seed = ${seed} must be a finite number.`);
  stop.forEach((s, i) => {
    if (typeof s !== 'string' || s === '' || !isWellFormed(s)) {
      throw new RangeError(
        `stop[${i}] = ${JSON.stringify(s)} must be a non-empty, well-formed string.`,
      );
    }
  });
  stopTokens.forEach((id, i) => {
    if (!(Number.isInteger(id) && id >= 0 && id < vocabSize)) {
      throw new RangeError(
        `stopTokens[${i}] = ${id} is not a token id of this tokenizer (0..${vocabSize - 1}).`,
      );
    }
  });
  return {
    ...sampling,
    maxNewTokens,
    seed,
    stop,
    stopTokens: new Set(stopTokens),
    useCache,
    signal,
  };
}

/** The id an empty prompt starts from: `<|endoftext|>`, else the first special token. */
function startToken(tokenizer: Tokenizer): number | undefined {
  const specials = tokenizer.specialTokens.filter((t) => t.special);
  return (specials.find((t) => t.content === '<|endoftext|>') ?? specials[0])?.id;
}

/**
 * Generates a continuation of `prompt`, streaming the text as it comes: each yielded piece ends
 * at a character boundary, and their concatenation is the result's `text`.
 *
 * The prompt is encoded with `tokenizer`; an empty prompt starts from the tokenizer's
 * `<|endoftext|>` (or first special) token, and is an error without one. With the cache (the
 * default) a {@link Decoder} slides its window past `max_seq_len`, so any `maxNewTokens` works.
 * Options are checked when `generate` is called; the model runs as the iterator is consumed.
 * Breaking out of the loop frees everything; no tensor outlives the generation.
 *
 * @param model - the model; its vocabulary must cover the tokenizer's (extra ids are never sampled)
 * @param tokenizer - encodes the prompt and decodes the output
 * @param prompt - the text to continue
 * @param options - see {@link SampleOptions}
 * @returns an async iterator of text pieces whose return value is the {@link GenerateResult}
 * @example
 * ```ts
 * for await (const piece of generate(model, tokenizer, 'Call me ', { temperature: 0.8, seed: 1 })) {
 *   process.stdout.write(piece);
 * }
 * ```
 */
export function generate(
  model: PrimerModel,
  tokenizer: Tokenizer,
  prompt: string,
  options: SampleOptions = {},
): AsyncGenerator<string, GenerateResult> {
  checkArguments(model, tokenizer, prompt);
  const vocabSize = tokenizer.vocabSize;
  if (vocabSize > model.config.vocab_size) {
    throw new RangeError(
      `the tokenizer has ${vocabSize} tokens but the model only ${model.config.vocab_size}; use the tokenizer the model was trained with.`,
    );
  }
  const resolved = resolveOptions(options, vocabSize);
  let ids = tokenizer.encode(prompt);
  if (ids.length === 0) {
    const start = startToken(tokenizer);
    if (start === undefined) {
      throw new Error(
        'generate: the prompt is empty and the tokenizer has no special token to start from; pass a non-empty prompt.',
      );
    }
    ids = [start];
  }
  return run(model, tokenizer, ids, resolved);
}

/** Type checks at the API boundary, for JavaScript callers and values read from elsewhere. */
function checkArguments(model: unknown, tokenizer: unknown, prompt: unknown): void {
  // Duck-typed, not instanceof: two copies of primer-layers in one app must still work together.
  const m = model as Partial<PrimerModel> | null;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.forward !== 'function' ||
    typeof m.config !== 'object'
  )
    throw new TypeError(
      `generate: model must be a PrimerModel (PrimerModel.create or loadCheckpoint); got ${describeValue(model)}.`,
    );
  const t = tokenizer as Partial<Tokenizer> | null;
  if (
    typeof t !== 'object' ||
    t === null ||
    typeof t.encode !== 'function' ||
    typeof t.createStreamDecoder !== 'function' ||
    !Number.isInteger(t.vocabSize)
  )
    throw new TypeError(
      `generate: tokenizer must be a @primer-ez/tokenizer Tokenizer (the one the model was trained with); got ${describeValue(tokenizer)}.`,
    );
  if (typeof prompt !== 'string')
    throw new TypeError(`generate: prompt must be a string; got ${describeValue(prompt)}.`);
}

async function* run(
  model: PrimerModel,
  tokenizer: Tokenizer,
  promptIds: number[],
  options: ResolvedOptions,
): AsyncGenerator<string, GenerateResult> {
  const { maxNewTokens, signal, stopTokens } = options;
  const vocabSize = tokenizer.vocabSize;
  const rng = new Rng(options.seed);
  const history = [...promptIds];
  const tokens: number[] = [];
  const stream = tokenizer.createStreamDecoder();
  const stops = new StopStrings(options.stop);
  const decoder =
    options.useCache && maxNewTokens > 0 ? new Decoder(model, { batch: 1 }) : undefined;
  let text = '';
  let stoppedBy: GenerateResult['stoppedBy'] = 'maxNewTokens';
  try {
    let feed = promptIds; // what the decoder has not seen yet
    const breathe = periodicYield();
    for (let step = 0; step < maxNewTokens; step++) {
      await breathe(); // lets timers and signal handlers run, so `signal` can fire mid-generation
      if (signal?.aborted) {
        stoppedBy = 'abort';
        break;
      }
      const logits =
        decoder !== undefined
          ? await readRow(decoder.feed([feed]))
          : await fullForward(model, history);
      if (signal?.aborted) {
        stoppedBy = 'abort';
        break;
      }
      // The model's vocabulary may be padded past the tokenizer's; those ids are never sampled.
      const id = sampleNext(logits.subarray(0, vocabSize), rng, options, history);
      if (stopTokens.has(id)) {
        stoppedBy = 'stopToken';
        break;
      }
      tokens.push(id);
      history.push(id);
      feed = [id];
      const { release, stopped } = stops.push(stream.write(id), false);
      if (release !== '') {
        text += release;
        yield release;
      }
      if (stopped) {
        stoppedBy = 'stop';
        break;
      }
    }
    if (stoppedBy !== 'stop') {
      const { release, stopped } = stops.push(stream.end(), true);
      if (stopped) stoppedBy = 'stop';
      if (release !== '') {
        text += release;
        yield release;
      }
    }
    return { text, tokens, stoppedBy };
  } finally {
    decoder?.dispose();
  }
}

/** Reads a `[1, V]` logits tensor to the host and frees it. */
async function readRow(logits: tf.Tensor): Promise<Float32Array> {
  try {
    return (await logits.data()) as Float32Array;
  } finally {
    logits.dispose();
  }
}

/** The next-token logits from a full forward pass over the last `max_seq_len` tokens. */
function fullForward(model: PrimerModel, history: readonly number[]): Promise<Float32Array> {
  const context = history.slice(-model.config.max_seq_len);
  const last = tf.tidy(() => {
    const logits = model.forward([context]); // [1, T, V]
    const [, t, v] = logits.shape;
    return tf.reshape(tf.slice(logits, [0, t - 1, 0], [1, 1, v]), [1, v]); // [1, T, V] -> [1, V]
  });
  return readRow(last);
}

/**
 * Generates a continuation of `prompt` and returns it whole; see {@link generate}.
 *
 * @example
 * ```ts
 * const { text, tokens, stoppedBy } = await generateText(model, tokenizer, 'The ', {
 *   temperature: 0,
 *   maxNewTokens: 20,
 *   stop: ['\n'],
 * });
 * ```
 */
export async function generateText(
  model: PrimerModel,
  tokenizer: Tokenizer,
  prompt: string,
  options: SampleOptions = {},
): Promise<GenerateResult> {
  const pieces = generate(model, tokenizer, prompt, options);
  for (;;) {
    const next = await pieces.next();
    if (next.done) return next.value;
  }
}
