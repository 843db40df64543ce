/**
 * The next-token rule as a pure host-side function: repetition penalty, temperature, top-k and
 * nucleus (top-p) shape one row of logits into a distribution, and {@link sampleNext} draws from
 * it with a seeded {@link Rng}. Streaming generation around it is in `sample.ts`.
 */
import type { Rng } from './rng.js';

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

/** Sampling options with every default filled in. */
export type ResolvedSampling = Required<SamplingOptions>;

/** Fills the defaults of `options` and checks each knob's range; the error names the knob. */
export function resolveSampling(options: SamplingOptions): ResolvedSampling {
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
