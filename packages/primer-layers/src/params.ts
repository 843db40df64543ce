import * as tf from '@tensorflow/tfjs-core';
import { headDim, type PrimerConfig } from './config.js';

/**
 * How a parameter is stored in checkpoints (PyTorch's layout) versus in the model (the layout the
 * ops take): `linear` weights are `[out, in]` on disk and `[in, out]` here; `conv` kernels are
 * `[Cd, 1, K]` on disk and `[K, Cd]` here; everything else is the same.
 */
export type Layout = 'plain' | 'linear' | 'conv';

/** How a parameter is initialised (seeded, so a model is reproducible from its seed). */
export type Init =
  | { kind: 'normal'; std: number }
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'uniform'; bound: number }
  | { kind: 'dconv' };

/** One parameter: its checkpoint name, its shape here, its layout on disk and its init. */
export interface ParamSpec {
  name: string;
  shape: number[];
  layout: Layout;
  init: Init;
  /** Whether AdamW's weight decay applies (matrices, embeddings and conv kernels; not biases or norms). */
  decay: boolean;
}

/**
 * Every parameter of a model with this config, in checkpoint order, named as the PyTorch module
 * names them (`blocks.0.attn.q_proj.weight`, …) — see the package README for the table.
 */
export function parameterSpecs(config: PrimerConfig): ParamSpec[] {
  const { vocab_size: v, d_model: c, d_ff: f, max_seq_len: t, dconv_kernel: k } = config;
  const specs: ParamSpec[] = [];
  const normal = { kind: 'normal', std: 0.02 } as const;
  const add = (name: string, shape: number[], layout: Layout, init: Init, decay: boolean) =>
    specs.push({ name, shape, layout, init, decay });
  const linear = (name: string, inputs: number, outputs: number) => {
    add(`${name}.weight`, [inputs, outputs], 'linear', normal, true);
    add(`${name}.bias`, [outputs], 'plain', { kind: 'zeros' }, false);
  };
  const norm = (name: string) => {
    add(`${name}.weight`, [c], 'plain', { kind: 'ones' }, false);
    add(`${name}.bias`, [c], 'plain', { kind: 'zeros' }, false);
  };

  add('embed.weight', [v, c], 'plain', normal, true);
  if (config.positional === 'learned') add('pos_embed.weight', [t, c], 'plain', normal, true);
  const cd = config.dconv === 'per_channel' ? c : headDim(config);
  // `uniform` is PyTorch's Conv1d default, U(±1/√fan_in) with fan_in = K, for kernel and bias.
  const uniform: Init = { kind: 'uniform', bound: 1 / Math.sqrt(k) };
  const convInit: Init = config.dconv_init === 'uniform' ? uniform : { kind: 'dconv' };
  const convBiasInit: Init = config.dconv_init === 'uniform' ? uniform : { kind: 'zeros' };
  for (let i = 0; i < config.n_layers; i++) {
    const b = `blocks.${i}`;
    norm(`${b}.attn_norm`);
    for (const p of ['q', 'k', 'v']) linear(`${b}.attn.${p}_proj`, c, c);
    if (config.attention === 'mdha') {
      for (const p of ['q', 'k', 'v']) {
        add(`${b}.attn.${p}_dconv.weight`, [k, cd], 'conv', convInit, true);
        if (config.dconv_bias) add(`${b}.attn.${p}_dconv.bias`, [cd], 'plain', convBiasInit, false);
      }
    }
    linear(`${b}.attn.o_proj`, c, c);
    norm(`${b}.ffn_norm`);
    linear(`${b}.ffn.up`, c, f);
    linear(`${b}.ffn.down`, f, c);
  }
  norm('final_norm');
  if (!config.tie_embeddings) linear('lm_head', c, v);
  return specs;
}

/** The number of trainable parameters (the sum of every parameter's size). */
export function countParameters(config: PrimerConfig): number {
  return parameterSpecs(config).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** The checkpoint (PyTorch) shape of a parameter. */
export function diskShape(spec: ParamSpec): number[] {
  if (spec.layout === 'linear') return [spec.shape[1]!, spec.shape[0]!];
  if (spec.layout === 'conv') return [spec.shape[1]!, 1, spec.shape[0]!];
  return spec.shape;
}

/** Converts a parameter from this package's layout to the checkpoint's. */
export function toDiskLayout(spec: ParamSpec, value: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (spec.layout === 'linear') return tf.transpose(value);
    if (spec.layout === 'conv') return tf.reshape(tf.transpose(value), diskShape(spec));
    return tf.clone(value);
  });
}

/** Converts a parameter from the checkpoint's layout to this package's. */
export function fromDiskLayout(spec: ParamSpec, value: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (spec.layout === 'linear') return tf.transpose(value);
    if (spec.layout === 'conv')
      return tf.transpose(tf.reshape(value, [spec.shape[1]!, spec.shape[0]!]));
    return tf.clone(value);
  });
}

/**
 * A seeded initial value for a parameter. The `smoothing` dconv init (`kind: 'dconv'`) puts 0.5 on
 * the current position and 0.5/3 on each earlier tap (the paper's).
 */
export function initialValue(spec: ParamSpec, seed: number): tf.Tensor {
  const { init, shape } = spec;
  // tfjs's random ops read a seed of 0 as "no seed": shift by one so every seed reproduces.
  const tfSeed = seed + 1;
  switch (init.kind) {
    case 'normal':
      return tf.randomNormal(shape, 0, init.std, 'float32', tfSeed);
    case 'uniform':
      return tf.randomUniform(shape, -init.bound, init.bound, 'float32', tfSeed);
    case 'zeros':
      return tf.zeros(shape);
    case 'ones':
      return tf.ones(shape);
    case 'dconv': {
      const [taps, channels] = shape as [number, number];
      const data = new Float32Array(taps * channels).fill(0.5 / 3);
      data.fill(0.5, (taps - 1) * channels);
      return tf.tensor2d(data, [taps, channels]);
    }
  }
}
