// What every backend computes for the conformance suite, in Node and in a browser page alike (so
// this file imports nothing from Node and reads tensors only asynchronously: webgpu in Node cannot
// read synchronously). The model and trainer code is passed in (test-utils depends on neither).
import * as tf from '@tensorflow/tfjs-core';

/** A checkpoint's two files, as primer-layers writes them. */
export interface CheckpointFiles {
  config: string;
  weights: Uint8Array;
}

/** The part of primer-layers' PrimerModel the suite drives. */
export interface ModelLike {
  readonly params: ReadonlyMap<string, tf.Variable>;
  variables(): tf.Variable[];
  forward(ids: number[][], options?: { training?: boolean; seed?: number }): tf.Tensor;
  loss(
    ids: number[][],
    targets: number[][],
    options?: { training?: boolean; seed?: number },
  ): tf.Scalar;
  dispose(): void;
}

/** What the suite needs from primer-layers and the trainer, passed in by the caller. */
export interface ConformanceLibrary {
  deserializeCheckpoint(files: CheckpointFiles): ModelLike;
  serializeCheckpoint(model: ModelLike): Promise<CheckpointFiles>;
  Decoder: new (model: ModelLike) => { feed(ids: number[][]): tf.Tensor; dispose(): void };
  AdamW: new (
    params: { name: string; variable: tf.Variable; decay: boolean }[],
    options?: { weightDecay?: number },
  ) => { apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void; dispose(): void };
  clipByGlobalNorm(
    grads: ReadonlyMap<string, tf.Tensor>,
    maxNorm: number,
  ): { grads: Map<string, tf.Tensor>; norm: tf.Scalar };
}

/** A batch to run a checkpoint on. */
export interface Batch {
  ids: number[][];
  targets: number[][];
  /** Train with dropout (when the config has any): step s uses masks seeded `dropoutSeed + s`. */
  dropoutSeed?: number;
}

/** Plain SGD steps whose gradients are compared: enough to move every weight they touch. */
export const SGD_STEPS = 2;
export const SGD_LEARNING_RATE = 0.1;
/** Then AdamW steps with global-norm clipping, whose losses and norms are compared. */
export const ADAMW_STEPS = 3;
export const ADAMW_LEARNING_RATE = 1e-3;
export const CLIP_NORM = 0.5;
/** Tokens fed one at a time through the key/value cache. */
export const DECODE_TOKENS = 8;

/** Everything one backend computes for a checkpoint. */
export interface ConformanceResult {
  logits: Float32Array;
  loss: number;
  /** Per SGD step: the loss before the step and each parameter's gradient, by checkpoint name. */
  steps: { loss: number; grads: Record<string, Float32Array> }[];
  /** Per AdamW step: the loss before it and the global gradient norm before clipping. */
  adamw: { loss: number; norm: number }[];
  /** The loss without dropout after training (evaluation). */
  evalLoss: number;
  /** Logits of {@link DECODE_TOKENS} tokens fed one by one through the cache, `[T, V]` flat. */
  decodeLogits: Float32Array;
  /** max |full forward − cached decoding| on this backend (rounding only). */
  decodeVsForward: number;
  /** max |logits after a checkpoint round trip − before| on this backend (0: bit-exact). */
  roundTrip: number;
  /** `tf.memory().numTensors` after each training step (flat: no leak). */
  tensors: number[];
  /** GPU bytes in use after each training step where the backend reports them (flat). */
  gpuBytes: number[];
  /** Wall time of the whole procedure (ms). */
  ms: number;
}

async function read(t: tf.Tensor): Promise<Float32Array> {
  return Float32Array.from((await t.data()) as ArrayLike<number>);
}

function memory(): { tensors: number; gpuBytes: number | undefined } {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
  return { tensors: m.numTensors, gpuBytes: m.numBytesInGPU };
}

/**
 * Loads the checkpoint on the active backend and runs the whole procedure: logits and loss, then
 * {@link SGD_STEPS} SGD steps recording gradients, {@link ADAMW_STEPS} AdamW steps with clipping,
 * evaluation, cached decoding, and a checkpoint round trip.
 */
export async function runConformance(
  lib: ConformanceLibrary,
  files: CheckpointFiles,
  { ids, targets, dropoutSeed }: Batch,
): Promise<ConformanceResult> {
  const start = performance.now();
  const model = lib.deserializeCheckpoint(files);
  const optimizer = new lib.AdamW(
    [...model.params].map(([name, variable]) => ({ name, variable, decay: variable.rank >= 2 })),
    { weightDecay: 0.01 },
  );
  try {
    const logitsTensor = model.forward(ids);
    const lossTensor = model.loss(ids, targets);
    const logits = await read(logitsTensor);
    const loss = (await read(lossTensor))[0] as number;
    tf.dispose([logitsTensor, lossTensor]);
    const nameOf = new Map([...model.params].map(([name, v]) => [v.name, name]));
    const options = (s: number) =>
      dropoutSeed === undefined ? {} : { training: true, seed: dropoutSeed + s };
    const tensors: number[] = [];
    const gpuBytes: number[] = [];
    const steps: ConformanceResult['steps'] = [];
    for (let s = 0; s < SGD_STEPS; s++) {
      const { value, grads } = tf.variableGrads(
        () => model.loss(ids, targets, options(s)),
        model.variables(),
      );
      const record: Record<string, Float32Array> = {};
      for (const [variable, grad] of Object.entries(grads)) {
        record[nameOf.get(variable)!] = await read(grad);
      }
      steps.push({ loss: (await read(value))[0] as number, grads: record });
      tf.tidy(() => {
        for (const v of model.variables())
          v.assign(tf.sub(v, tf.mul(grads[v.name]!, SGD_LEARNING_RATE)));
      });
      tf.dispose([value, ...Object.values(grads)]);
    }
    const adamw: ConformanceResult['adamw'] = [];
    for (let s = 0; s < ADAMW_STEPS; s++) {
      const { value, grads } = tf.variableGrads(
        () => model.loss(ids, targets, options(SGD_STEPS + s)),
        model.variables(),
      );
      const byName = new Map(Object.entries(grads).map(([v, g]) => [nameOf.get(v)!, g]));
      const names = [...byName.keys()];
      // The clipping's intermediates (squares, the scale) are freed by the tidy, as in the trainer.
      const [norm, ...clipped] = tf.tidy(() => {
        const c = lib.clipByGlobalNorm(byName, CLIP_NORM);
        return [c.norm, ...names.map((n) => c.grads.get(n)!)];
      });
      optimizer.apply(new Map(names.map((n, i) => [n, clipped[i]!])), ADAMW_LEARNING_RATE);
      adamw.push({
        loss: (await read(value))[0] as number,
        norm: (await read(norm!))[0] as number,
      });
      tf.dispose([value, norm!, ...Object.values(grads), ...clipped]);
      const m = memory();
      tensors.push(m.tensors);
      if (m.gpuBytes !== undefined) gpuBytes.push(m.gpuBytes);
    }
    const evalTensor = model.loss(ids, targets);
    const evalLoss = (await read(evalTensor))[0] as number;
    evalTensor.dispose();

    // Cached decoding of the first row, one token at a time, against the full forward pass.
    const prompt = [(ids[0] ?? []).slice(0, DECODE_TOKENS)];
    const decoder = new lib.Decoder(model);
    const decodeRows: Float32Array[] = [];
    try {
      for (const token of prompt[0]!) {
        const next = decoder.feed([[token]]);
        decodeRows.push(await read(next));
        next.dispose();
      }
    } finally {
      decoder.dispose();
    }
    const decodeLogits = concat(decodeRows);
    const fullTensor = model.forward(prompt);
    const full = await read(fullTensor);
    fullTensor.dispose();
    const decodeVsForward = maxDiff(full, decodeLogits);

    // Checkpoint round trip of the trained weights: the same logits, bit for bit.
    const saved = await lib.serializeCheckpoint(model);
    const reloaded = lib.deserializeCheckpoint(saved);
    const [before, after] = [model.forward(ids), reloaded.forward(ids)];
    const roundTrip = maxDiff(await read(before), await read(after));
    tf.dispose([before, after]);
    reloaded.dispose();

    return {
      logits,
      loss,
      steps,
      adamw,
      evalLoss,
      decodeLogits,
      decodeVsForward,
      roundTrip,
      tensors,
      gpuBytes,
      ms: performance.now() - start,
    };
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

function concat(rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows.reduce((n, r) => n + r.length, 0));
  let at = 0;
  for (const r of rows) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

/** max |a - b|, Infinity when a non-finite value appears on either side. */
function maxDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    worst = Number.isFinite(d) ? Math.max(worst, d) : Number.POSITIVE_INFINITY;
  }
  return a.length === b.length ? worst : Number.POSITIVE_INFINITY;
}

/** A result as JSON-safe data, every Float32Array as base64 of its bytes (to leave a page). */
export function encodeResult(r: ConformanceResult, encode: (a: Float32Array) => string): unknown {
  return JSON.parse(
    JSON.stringify(r, (_key, value) =>
      value instanceof Float32Array ? { f32: encode(value) } : value,
    ),
  );
}

/** The inverse of {@link encodeResult}. */
export function decodeResult(
  encoded: unknown,
  decode: (text: string) => Float32Array,
): ConformanceResult {
  return JSON.parse(JSON.stringify(encoded), (_key, value) =>
    value !== null && typeof value === 'object' && typeof value.f32 === 'string'
      ? decode(value.f32)
      : value,
  ) as ConformanceResult;
}
