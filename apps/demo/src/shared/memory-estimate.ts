// How much memory a racer needs, against what the chosen backend can give one worker — checked
// before a race, so that settings which would run out of memory ("memory access out of bounds"
// on wasm) are refused with the largest size that would fit, instead of failing mid-race. Pure
// arithmetic: the page has no tfjs (a unit test checks the parameter count against
// primer-layers' `countParameters`).
import type { ModelSizes } from './settings.js';

const FLOAT = 4;
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

/** The validation batch (the trainer's `evalBatchSize` default): forward passes only. */
const EVAL_BATCH = 16;

/**
 * NOTE: the constants below are fitted to the peak `tf.profile` measures for a training step on
 * tfjs's cpu backend (16 shapes: widths 16–128, 1–4 layers, sequences 16–256; within 8% of all
 * of them), then rounded up by about a fifth. Autodiff keeps every intermediate of the forward pass
 * for the backward pass, so activations are most of it; AdamW's update makes several temporaries
 * per parameter besides the gradients and the two moments.
 */
const PER_PARAMETER = 11; // floats: the parameter, its gradient, two moments, the update's temporaries
const PER_TOKEN_LAYER = { c: 110, f: 7, attention: 6, constant: 48 };
const PER_TOKEN_HEAD = { v: 8, constant: 1000 };

/** The parameters of one racer (primer-layers' defaults: learned positions, untied head). */
export function parameterCount(sizes: ModelSizes, vocabSize: number, primer: boolean): number {
  const { d_model: c, d_ff: f, max_seq_len: t, n_layers: layers } = sizes;
  const block =
    2 * c + // attention layer norm
    4 * (c * c + c) + // q, k, v, o projections
    (primer ? 3 * (3 * c + c) : 0) + // Primer EZ: a 3-tap per-channel depthwise conv, with a bias, after q, k, v
    2 * c + // feed-forward layer norm
    (c * f + f) + // up
    (f * c + c); // down
  return vocabSize * c + t * c + layers * block + 2 * c + (c * vocabSize + vocabSize);
}

/** What one racer needs, in bytes. */
export interface MemoryNeed {
  parameters: number;
  /** Gradients, AdamW's two moments and the update's temporaries: 10 copies of the parameters. */
  optimizer: number;
  /** The intermediates a training step keeps for its backward pass (or validation's, if larger). */
  activations: number;
  /** The largest single tensor (an attention score matrix or the logits). */
  largestTensor: number;
  total: number;
}

/**
 * Estimates the memory a training step of one racer takes: parameters, optimiser state and
 * activations for `batchSize` windows of `seqLen` tokens (Primer EZ's, the larger of the two).
 */
export function estimateMemory(
  sizes: ModelSizes,
  batchSize: number,
  seqLen: number,
  vocabSize: number,
): MemoryNeed {
  const { d_model: c, d_ff: f, n_heads: h, n_layers: layers } = sizes;
  const parameterFloats = parameterCount(sizes, vocabSize, true);
  const parameters = parameterFloats * FLOAT;
  // Per token and layer: norms, q/k/v (and their convolutions), heads, outputs and residuals,
  // the feed-forward hidden layer, and the attention scores and probabilities (H × T).
  const perTokenLayer =
    PER_TOKEN_LAYER.c * c +
    PER_TOKEN_LAYER.f * f +
    PER_TOKEN_LAYER.attention * h * seqLen +
    PER_TOKEN_LAYER.constant;
  const perTokenHead = PER_TOKEN_HEAD.v * vocabSize + PER_TOKEN_HEAD.constant;
  const train = batchSize * seqLen * (layers * perTokenLayer + perTokenHead);
  // Validation runs forward only (about half of it), but on its own batch.
  const validation = EVAL_BATCH * seqLen * ((layers * perTokenLayer) / 2 + perTokenHead);
  const activations = Math.max(train, validation) * FLOAT;
  const largestTensor =
    Math.max(batchSize, EVAL_BATCH) * seqLen * Math.max(h * seqLen, vocabSize, f) * FLOAT;
  const optimizer = (PER_PARAMETER - 1) * parameters;
  return {
    parameters,
    optimizer,
    activations,
    largestTensor,
    total: parameters + optimizer + activations,
  };
}

/** What a backend can give one worker (each racer has its own). */
export interface MemoryBudget {
  /** Bytes one worker may use. */
  bytes: number;
  /** The largest single tensor (WebGL: a texture of MAX_TEXTURE_SIZE², four floats a texel). */
  largestTensor: number;
  /** Why this much, for the message. */
  why: string;
}

/**
 * The memory one worker can count on, per device. `deviceMemoryGiB` is
 * `navigator.deviceMemory` (coarse, at most 8): the two racers share the machine with the
 * browser, so each takes at most a quarter of it.
 */
export function memoryBudget(
  device: string,
  { deviceMemoryGiB, maxTextureSize }: { deviceMemoryGiB?: number; maxTextureSize?: number } = {},
): MemoryBudget {
  let bytes: number;
  let why: string;
  let largestTensor = Number.POSITIVE_INFINITY;
  if (device === 'wasm') {
    // NOTE: tfjs-backend-wasm's memory is 32-bit: at most 4 GiB, and it grows by copying, so a
    // worker cannot count on more than ~3 GiB of it.
    bytes = 3 * GIB;
    why = 'WebAssembly memory is at most 4 GiB per model, about 3 GiB of it usable';
  } else if (device === 'webgl' || device === 'webgpu') {
    // Browsers do not say how much GPU memory there is; 2 GiB fits common integrated GPUs.
    bytes = 2 * GIB;
    why = `the browser does not say how much GPU memory there is; the page counts on 2 GiB per model`;
    if (device === 'webgl') {
      const side = maxTextureSize ?? 4096;
      largestTensor = side * side * 4 * FLOAT;
    }
  } else {
    bytes = 2 * GIB;
    why = 'a browser worker holds about 2 GiB of JavaScript arrays';
  }
  if (deviceMemoryGiB !== undefined && deviceMemoryGiB > 0 && deviceMemoryGiB * GIB < 4 * bytes) {
    bytes = (deviceMemoryGiB * GIB) / 4;
    why = `this device reports ${deviceMemoryGiB} GiB of memory, a quarter of it per model`;
  }
  return { bytes, largestTensor, why };
}

/** Whether `need` fits `budget`. */
export function fits(need: MemoryNeed, budget: MemoryBudget): boolean {
  return need.total <= budget.bytes && need.largestTensor <= budget.largestTensor;
}

/** "1.5 GiB", "312 MiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= GIB) return `${(bytes / GIB).toFixed(bytes >= 10 * GIB ? 0 : 1)} GiB`;
  return `${Math.max(1, Math.round(bytes / MIB))} MiB`;
}

/** The largest whole `n` in [1, upTo] for which `ok(n)`, or 0 (`ok` must be monotone). */
function largest(upTo: number, ok: (n: number) => boolean): number {
  let low = 0;
  let high = upTo;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (ok(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * Undefined when the race fits, else why not and the largest settings that would: the batch size
 * at this sequence length and, the other way round, the sequence length at this batch size.
 */
export function memoryProblem(
  sizes: ModelSizes,
  batchSize: number,
  seqLen: number,
  vocabSize: number,
  budget: MemoryBudget,
  backendName: string,
): string | undefined {
  const need = estimateMemory(sizes, batchSize, seqLen, vocabSize);
  if (fits(need, budget)) return undefined;
  const fitsWith = (b: number, t: number) => fits(estimateMemory(sizes, b, t, vocabSize), budget);
  const batch = largest(batchSize, (b) => fitsWith(b, seqLen));
  const seq = largest(seqLen, (t) => fitsWith(batchSize, t));
  const parts = [
    `Batch size ${batchSize} × sequence length ${seqLen} needs about ${formatBytes(need.total)} per model on ${backendName} (parameters ${formatBytes(need.parameters)}, optimiser state ${formatBytes(need.optimizer)}, activations ${formatBytes(need.activations)})`,
  ];
  if (need.largestTensor > budget.largestTensor)
    parts.push(
      `and one tensor of ${formatBytes(need.largestTensor)}, more than a WebGL texture holds (${formatBytes(budget.largestTensor)})`,
    );
  else parts.push(`more than it can give: ${budget.why}`);
  const suggestions = [
    batch > 0 ? `batch size ${batch} (at sequence length ${seqLen})` : '',
    seq > 0 ? `sequence length ${seq} (at batch size ${batchSize})` : '',
  ].filter(Boolean);
  return `${parts.join(', ')}. ${
    suggestions.length > 0
      ? `The largest that fits: ${suggestions.join(', or ')}.`
      : 'Even batch size 1 does not fit: make the model smaller (width, layers, feed-forward width or vocabulary).'
  }`;
}
