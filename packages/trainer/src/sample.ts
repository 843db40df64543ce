/**
 * Sampling text from a {@link PrimerModel}: the next-token rule (repetition penalty, temperature,
 * top-k, nucleus) as a pure host-side function, and streaming generation around it with the
 * key/value-cache {@link Decoder}, stop strings, stop tokens and cancellation.
 */
import { Decoder, type PrimerModel } from '@primer-ez/primer-layers';
import { isWellFormed, type Tokenizer } from '@primer-ez/tokenizer';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from './rng.js';
import { periodicYield } from './yield.js';

/** The most tokens one {@link generate} call produces (about 4 MB of text for a char model). */
export const MAX_NEW_TOKENS = 2 ** 22;

/** The next-token rule's knobs, shared by {@link sampleNext} and {@link generate}. */
export interface SamplingOptions {
  /** Divides the logits; `0` means greedy (argmax, ties to the lowest id). Default 1. */
  temperature?: number;
  /** Keep only the `k` most likely tokens; `0` (default) keeps all, `1` is greedy. */
  topK?: number;
  /** Nucleus: keep the smallest set of most likely tokens whose probability is ≥ `p`. Default 1 (off). */
  topP?: number;
  /**
   * CTRL's penalty for every id already in the prompt or the output: a logit `l > 0` becomes
   * `l / p`, otherwise `l · p`. Default 1 (off).
   */
  repetitionPenalty?: number;
}

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

type ResolvedSampling = Required<SamplingOptions>;

interface ResolvedOptions extends ResolvedSampling {
  maxNewTokens: number;
  seed: number;
  stop: readonly string[];
  stopTokens: ReadonlySet<number>;
  useCache: boolean;
  signal: AbortSignal | undefined;
}

function resolveSampling(options: SamplingOptions): ResolvedSampling {
  const { temperature = 1, topK = 0, topP = 1, repetitionPenalty = 1 } = options;
  if (!(Number.isFinite(temperature) && temperature >= 0)) {
    throw new RangeError(
      `temperature = ${temperature} must be a finite number ≥ 0 (0 means greedy).`,
    );
  }
  if (!(Number.isInteger(topK) && topK >= 0)) {
    throw new RangeError(`topK = ${topK} must be an integer ≥ 0 (0 keeps every token).`);
  }
  if (!(topP > 0 && topP <= 1)) {
    throw new RangeError(`topP = ${topP} must be in (0, 1] (1 keeps every token).`);
  }
  if (!(Number.isFinite(repetitionPenalty) && repetitionPenalty > 0)) {
    throw new RangeError(
      `repetitionPenalty = ${repetitionPenalty} must be a finite number > 0 (1 means no penalty).`,
    );
  }
  return { temperature, topK, topP, repetitionPenalty };
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

/**
 * The distribution {@link sampleNext} draws from, in float64: repetition penalty, then
 * temperature (0 puts all the mass on the argmax, ties to the lowest id), top-k, then top-p on
 * the softmax of what top-k kept (as Hugging Face chains them); at least one token is kept.
 *
 * @param logits - one row of logits `[V]`
 * @param options - the sampling knobs (defaults: temperature 1, everything else off)
 * @param history - the ids so far (prompt and output), for the repetition penalty
 * @returns probabilities `[V]` summing to 1
 * @example
 * ```ts
 * nextTokenProbabilities(Float32Array.of(2, 0), { repetitionPenalty: 2 }, [0]);
 * // = softmax([1, 0]) ≈ [0.731, 0.269]
 * ```
 * @see Keskar et al. 2019, CTRL (arXiv 1909.05858) §4.1; Holtzman et al. 2019, nucleus
 * sampling (arXiv 1904.09751) §3.1; Fan et al. 2018, top-k (arXiv 1805.04833) §5.4.
 */
export function nextTokenProbabilities(
  logits: ArrayLike<number>,
  options: SamplingOptions,
  history: readonly number[],
): Float64Array {
  const { temperature, topK, topP, repetitionPenalty } = resolveSampling(options);
  const size = logits.length;
  if (size === 0) throw new RangeError('logits are empty; pass one row of the model output.');
  const x = Float64Array.from(logits);
  for (let i = 0; i < size; i++) {
    if (Number.isNaN(x[i])) throw new RangeError(`logits[${i}] is NaN; the model has diverged.`);
  }
  if (repetitionPenalty !== 1) {
    for (const id of new Set(history)) {
      if (!(Number.isInteger(id) && id >= 0 && id < size)) {
        throw new RangeError(`history id ${id} is not in 0..${size - 1}.`);
      }
      const v = x[id]!;
      x[id] = v > 0 ? v / repetitionPenalty : v * repetitionPenalty;
    }
  }
  const probabilities = new Float64Array(size);
  if (temperature === 0) {
    probabilities[argmax(x)] = 1;
    return probabilities;
  }
  for (let i = 0; i < size; i++) x[i]! /= temperature;
  // NOTE: a tiny temperature can overflow logits to +Infinity; those tokens then share the mass.
  let max = x[argmax(x)]!;
  if (max === Number.NEGATIVE_INFINITY) throw new RangeError('every logit is -Infinity.');
  if (max === Number.POSITIVE_INFINITY) {
    for (let i = 0; i < size; i++) x[i] = x[i] === max ? 0 : Number.NEGATIVE_INFINITY;
    max = 0;
  }
  // Most likely first, ties to the lowest id, so top-k 1 and a tiny top-p are exactly greedy.
  const order =
    (topK > 0 && topK < size) || topP < 1
      ? Array.from({ length: size }, (_, i) => i).sort((a, b) => x[b]! - x[a]! || a - b)
      : undefined;
  if (order !== undefined && topK > 0 && topK < size) {
    for (const id of order.slice(topK)) x[id] = Number.NEGATIVE_INFINITY;
  }
  let total = 0;
  for (let i = 0; i < size; i++) {
    probabilities[i] = Math.exp(x[i]! - max);
    total += probabilities[i]!;
  }
  for (let i = 0; i < size; i++) probabilities[i]! /= total;
  if (order !== undefined && topP < 1) {
    let cumulative = 0;
    let kept = 0;
    while (kept < size && (kept === 0 || cumulative < topP))
      cumulative += probabilities[order[kept++]!]!;
    for (const id of order.slice(kept)) probabilities[id] = 0;
    for (const id of order.slice(0, kept)) probabilities[id]! /= cumulative;
  }
  return probabilities;
}

/**
 * Picks the next id from one row of logits: greedy at temperature 0, otherwise one draw of
 * `rng` through the inverse CDF of {@link nextTokenProbabilities}.
 *
 * @param logits - one row of logits `[V]` (host-side)
 * @param rng - the seeded generator to draw from (one `next()` per call unless greedy)
 * @param options - the sampling knobs (defaults: temperature 1, everything else off)
 * @param history - the ids so far (prompt and output), for the repetition penalty
 * @example
 * ```ts
 * sampleNext(Float32Array.of(0.1, 3, 0.2), new Rng(1), { temperature: 0 }, []); // 1
 * ```
 */
export function sampleNext(
  logits: ArrayLike<number>,
  rng: Rng,
  options: SamplingOptions,
  history: readonly number[],
): number {
  const probabilities = nextTokenProbabilities(logits, options, history);
  if ((options.temperature ?? 1) === 0) return argmax(probabilities);
  const u = rng.next();
  let cumulative = 0;
  let last = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!;
    if (p === 0) continue;
    cumulative += p;
    last = i;
    if (u < cumulative) return i;
  }
  return last; // rounding left the total a hair below u
}

/** The first index of the largest value. */
function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/**
 * Holds back text that could be the beginning of a stop string, so no part of a stop string is
 * ever released, even one that spans several pieces.
 */
class StopStrings {
  private held = '';

  constructor(private readonly stops: readonly string[]) {}

  /** Adds a piece; returns the text now safe to output, and whether a stop string was found. */
  push(piece: string, final: boolean): { release: string; stopped: boolean } {
    const text = this.held + piece;
    // Released text can hold no start of a stop string, so searching `text` is enough.
    let cut = -1;
    for (const stop of this.stops) {
      const at = text.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.held = '';
      return { release: text.slice(0, cut), stopped: true };
    }
    const hold = final ? 0 : this.prefixAtEnd(text);
    this.held = text.slice(text.length - hold);
    return { release: text.slice(0, text.length - hold), stopped: false };
  }

  /** Length of the longest end of `text` that is the beginning of a stop string. */
  private prefixAtEnd(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
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
      `generate: model must be a PrimerModel (PrimerModel.create or loadCheckpoint); got ${typeName(model)}.`,
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
      `generate: tokenizer must be a @primer-ez/tokenizer Tokenizer (the one the model was trained with); got ${typeName(tokenizer)}.`,
    );
  if (typeof prompt !== 'string')
    throw new TypeError(`generate: prompt must be a string; got ${typeName(prompt)}.`);
}

function typeName(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return `an object (${x.constructor?.name ?? 'no prototype'})`;
  return typeof x;
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
