import * as tf from '@tensorflow/tfjs-core';

/** A parameter the optimiser updates, and whether weight decay applies to it. */
export interface OptimParam {
  name: string;
  variable: tf.Variable;
  /** Matrices, embeddings and conv kernels decay; biases and norms do not. */
  decay: boolean;
}

/** AdamW hyper-parameters (PyTorch's names and semantics). */
export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (Loshchilov & Hutter); 0 makes this plain Adam. */
  weightDecay?: number;
}

/**
 * AdamW with decoupled weight decay, step for step as PyTorch's `torch.optim.AdamW`:
 * `p ← p·(1 − lr·wd)` (decaying parameters only), then
 * `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`, `p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + eps)`.
 * With `weightDecay: 0` it is plain Adam (PyTorch's `Adam` without L2), as labml's recipe uses.
 *
 * The moments are ours (tf.Variables named after the parameters), so they can be saved and
 * restored exactly; tfjs's own optimisers keep theirs out of reach of a checkpoint.
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Optimiser steps taken (t in the bias corrections). */
  step = 0;
  private readonly slots: Map<string, { param: OptimParam; m: tf.Variable; v: tf.Variable }>;

  constructor(
    params: readonly OptimParam[],
    { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01 }: AdamWOptions = {},
  ) {
    for (const [name, value, ok] of [
      ['beta1', beta1, beta1 >= 0 && beta1 < 1],
      ['beta2', beta2, beta2 >= 0 && beta2 < 1],
      ['eps', eps, eps > 0],
      ['weightDecay', weightDecay, weightDecay >= 0],
    ] as const) {
      if (!ok)
        throw new RangeError(
          `AdamW: ${name} = ${value} is out of range (betas in [0, 1), eps > 0, weightDecay ≥ 0).`,
        );
    }
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.slots = new Map(
      params.map((param) => [
        param.name,
        {
          param,
          // tidy: the zeros each variable is made from would otherwise outlive it.
          m: tf.tidy(() => tf.variable(tf.zerosLike(param.variable), false)),
          v: tf.tidy(() => tf.variable(tf.zerosLike(param.variable), false)),
        },
      ]),
    );
  }

  /** Applies one update with learning rate `lr` from gradients keyed by parameter name. */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    if (!(Number.isFinite(lr) && lr >= 0))
      throw new RangeError(`AdamW: learning rate ${lr} must be a finite number ≥ 0.`);
    this.step += 1;
    const correction1 = 1 - this.beta1 ** this.step;
    const correction2 = Math.sqrt(1 - this.beta2 ** this.step);
    tf.tidy(() => {
      for (const [name, { param, m, v }] of this.slots) {
        const g = grads.get(name);
        if (g === undefined) throw new Error(`AdamW: no gradient for parameter '${name}'.`);
        const p = param.variable;
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        const decayed =
          param.decay && this.weightDecay > 0 ? tf.mul(p, 1 - lr * this.weightDecay) : p;
        const denom = tf.add(tf.div(tf.sqrt(v), correction2), this.eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), lr / correction1)));
      }
    });
  }

  /** The moments, as `m.<name>` and `v.<name>` (the live variables; read, don't dispose). */
  moments(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, { m }] of this.slots) out.set(`m.${name}`, m);
    for (const [name, { v }] of this.slots) out.set(`v.${name}`, v);
    return out;
  }

  /** Restores moments saved by {@link moments} and the step count, checking names and shapes. */
  load(moments: ReadonlyMap<string, { shape: number[]; data: Float32Array }>, step: number): void {
    for (const [name, { m, v }] of this.slots) {
      for (const [key, slot] of [
        [`m.${name}`, m],
        [`v.${name}`, v],
      ] as const) {
        const saved = moments.get(key);
        if (saved === undefined) throw new Error(`optimizer state: missing '${key}'.`);
        if (!tf.util.arraysEqual(saved.shape, slot.shape)) {
          throw new Error(
            `optimizer state: '${key}' has shape [${saved.shape}]; the model needs [${slot.shape}].`,
          );
        }
        const value = tf.tensor(saved.data, saved.shape, 'float32');
        slot.assign(value);
        value.dispose();
      }
    }
    const expected = this.slots.size * 2;
    if (moments.size !== expected) {
      const extra = [...moments.keys()].filter((k) => !this.slots.has(k.slice(2)));
      throw new Error(`optimizer state: unexpected tensors ${extra.join(', ')}.`);
    }
    this.step = step;
  }

  dispose(): void {
    for (const { m, v } of this.slots.values()) tf.dispose([m, v]);
  }
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm` (PyTorch's clip_grad_norm_), on
 * the device. Returns the clipped gradients and the norm before clipping (a scalar tensor).
 */
export function clipByGlobalNorm(
  grads: ReadonlyMap<string, tf.Tensor>,
  maxNorm: number,
): { grads: Map<string, tf.Tensor>; norm: tf.Scalar } {
  // stack + sum, not addN: WebGL's addN splits more than 16 inputs and leaks the halves' textures.
  const squares = [...grads.values()].map((g) => tf.sum(tf.square(g)));
  const norm = tf.sqrt(tf.sum(tf.stack(squares))) as tf.Scalar;
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) return { grads: new Map(grads), norm };
  const scale = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
  return { grads: new Map([...grads].map(([k, g]) => [k, tf.mul(g, scale)])), norm };
}
