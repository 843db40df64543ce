/**
 * Primer EZ (So et al. 2021, "Primer: Searching for Efficient Transformers for Language Modeling",
 * https://arxiv.org/abs/2109.08668) as a diff against the vanilla pre-LN decoder-only transformer.
 * Primer EZ changes exactly two things, both switched by the config and marked below:
 *
 * 1. **Squared ReLU** in the feed-forward network: `relu(x)²` instead of `relu(x)` (§3, `ffn`).
 * 2. **Multi-DConv-Head Attention (MDHA)**: a causal depthwise convolution over time (3 taps by
 *    default) after each of the Q, K and V projections (§3, `attention`).
 *
 * With `ffn_activation: 'relu'` and `attention: 'mha'` (the `-vanilla` presets) this is the
 * baseline. Shapes: `B` batch, `T` time, `C` d_model, `H` heads, `D` head width, `F` d_ff,
 * `V` vocabulary, `K` conv taps. Input checking lives in `inputs.ts`, incremental decoding's
 * key/value cache and conv window in `cache.ts`, parameters and their init in `params.ts`.
 */
import {
  causalDepthwiseConv1d,
  causalSelfAttention,
  embedding,
  layerNorm,
  linear,
  sparseCrossEntropy,
  squaredRelu,
} from '@primer-ez/tensor-ops';
import * as tf from '@tensorflow/tfjs-core';
import { appendKeysValues, checkBatch, convolveCached, KVCache, type Triple } from './cache.js';
import { type ConfigInput, headDim, type PrimerConfig, resolveConfig } from './config.js';
import {
  checkTargets,
  checkWeights,
  type ForwardOptions,
  type TokenIds,
  withIds,
} from './inputs.js';
import { countParameters, initialValue, type ParamSpec, parameterSpecs } from './params.js';
import { sinusoidalPositions } from './positions.js';
import { dropoutSeed, initSeed } from './seeds.js';

const QKV = ['q', 'k', 'v'] as const;

/**
 * A Primer EZ (or vanilla) decoder-only language model: token embedding and positions, pre-LN
 * blocks `x += attn(attn_norm(x)); x += ffn(ffn_norm(x))`, a final LayerNorm and `lm_head`.
 *
 * Parameters are tf.Variables named as the PyTorch module names them (see `parameterSpecs`), held
 * in the layouts the ops take (dense weights `[in, out]`, conv kernels `[K, Cd]`); checkpoints
 * convert to PyTorch's layouts.
 */
export class PrimerModel {
  readonly config: PrimerConfig;
  readonly specs: readonly ParamSpec[];
  /** The parameters by checkpoint name. */
  readonly params: ReadonlyMap<string, tf.Variable>;
  private readonly sinusoids: tf.Tensor2D | undefined;

  private constructor(config: PrimerConfig, values: (spec: ParamSpec, index: number) => tf.Tensor) {
    this.config = config;
    this.specs = parameterSpecs(config);
    const params = new Map<string, tf.Variable>();
    this.specs.forEach((spec, i) => {
      const value = values(spec, i);
      params.set(spec.name, tf.variable(value, true));
      value.dispose();
    });
    this.params = params;
    this.sinusoids =
      config.positional === 'sinusoidal'
        ? sinusoidalPositions(config.max_seq_len, config.d_model)
        : undefined;
  }

  /** A freshly initialised model; the same config and seed give the same weights. */
  static create(
    config: ConfigInput | PrimerConfig,
    { seed = 0 }: { seed?: number } = {},
  ): PrimerModel {
    return new PrimerModel(resolveConfig(config), (spec, i) =>
      initialValue(spec, initSeed(seed, i)),
    );
  }

  /**
   * A model from given weights (in this package's layouts, by checkpoint name). Every parameter
   * must be present with its exact shape; the tensors are copied, not taken over.
   */
  static fromWeights(
    config: ConfigInput | PrimerConfig,
    weights: ReadonlyMap<string, tf.Tensor>,
  ): PrimerModel {
    const resolved = resolveConfig(config);
    checkWeights(parameterSpecs(resolved), weights);
    return new PrimerModel(resolved, (spec) => tf.clone(weights.get(spec.name)!));
  }

  /** Number of trainable parameters. */
  get parameterCount(): number {
    return countParameters(this.config);
  }

  /** The trainable variables, in checkpoint order. */
  variables(): tf.Variable[] {
    return [...this.params.values()];
  }

  /** Logits `[B, T, V]` for token ids `[B, T]` (T ≤ max_seq_len). */
  forward(ids: TokenIds, options: ForwardOptions = {}): tf.Tensor3D {
    return withIds(this.config, ids, 0, options.checkIds ?? true, 'ids', (tokens) =>
      tf.tidy(() => this.run(tokens, 0, undefined, options)),
    );
  }

  /** Mean next-token cross-entropy of `forward(ids)` against `targets` `[B, T]`. */
  loss(ids: TokenIds, targets: TokenIds, options: ForwardOptions = {}): tf.Scalar {
    const check = options.checkIds ?? true;
    return withIds(this.config, targets, 0, check, 'targets', (tgt) =>
      tf.tidy(() => {
        const logits = this.forward(ids, options); // [B, T, V]
        const [b, t, v] = logits.shape;
        checkTargets(tgt, b, t);
        return sparseCrossEntropy(
          tf.reshape(logits, [b * t, v]) as tf.Tensor2D, // [B*T, V]
          tf.reshape(tgt, [b * t]) as tf.Tensor1D, // [B*T]
        ) as tf.Scalar;
      }),
    );
  }

  /** An empty key/value cache for incremental decoding of `batch` sequences. */
  createCache(batch = 1): KVCache {
    return new KVCache(batch, this.config.n_layers);
  }

  /**
   * Incremental decoding: logits `[B, Tn, V]` for `ids` `[B, Tn]`, the tokens that follow the
   * `cache.length` positions already in `cache`, which it then extends. Exactly equal (to float
   * rounding) to the full forward pass over all the tokens so far. The total may not exceed
   * `max_seq_len`; the `Decoder` slides a window past it.
   */
  decode(
    ids: TokenIds,
    cache: KVCache,
    { checkIds = true }: { checkIds?: boolean } = {},
  ): tf.Tensor3D {
    return withIds(this.config, ids, cache.length, checkIds, 'ids', (tokens) => {
      checkBatch(cache, tokens.shape[0]);
      const logits = tf.tidy(() => this.run(tokens, cache.length, cache, {}));
      cache.length += tokens.shape[1];
      return logits;
    });
  }

  /** Frees every parameter. */
  dispose(): void {
    tf.dispose([...this.params.values()]);
    this.sinusoids?.dispose();
  }

  /** The whole model: logits `[B, T, V]` for ids `[B, T]` at positions `offset…offset+T-1`. */
  private run(
    ids: tf.Tensor2D,
    offset: number,
    cache: KVCache | undefined,
    { training = false, seed = 0 }: ForwardOptions,
  ): tf.Tensor3D {
    const c = this.config;
    const [b, t] = ids.shape;
    const dropout = training && c.dropout > 0 ? c.dropout : 0;
    const drop = (x: tf.Tensor, site: number) =>
      dropout > 0 ? tf.dropout(x, dropout, undefined, dropoutSeed(seed, site)) : x;

    let x = embedding(ids, this.mat('embed.weight')); // [B, T] -> [B, T, C]
    if (c.positional === 'learned') {
      x = tf.add(x, tf.slice(this.mat('pos_embed.weight'), [offset, 0], [t, c.d_model]));
    } else {
      const positions = tf.slice(this.sinusoids!, [offset, 0], [t, c.d_model]); // [T, C]
      x = tf.add(tf.mul(x, Math.sqrt(c.d_model)), positions);
    }
    for (let i = 0; i < c.n_layers; i++) {
      const p = `blocks.${i}`;
      const attn = this.attention(this.norm(`${p}.attn_norm`, x), i, cache, dropout, seed);
      x = tf.add(x, drop(attn, 3 * i + 2)); // [B, T, C]
      x = tf.add(x, drop(this.ffn(this.norm(`${p}.ffn_norm`, x), i), 3 * i + 3)); // [B, T, C]
    }
    const h = this.norm('final_norm', x);
    const logits = c.tie_embeddings
      ? linear(h, tf.transpose(this.mat('embed.weight')) as tf.Tensor2D) // [B, T, C] -> [B, T, V]
      : this.dense('lm_head', h);
    return tf.reshape(logits, [b, t, c.vocab_size]);
  }

  /** Multi-(DConv-)Head Attention of block `i` on `h` `[B, T, C]`, extending `cache` if given. */
  private attention(
    h: tf.Tensor,
    i: number,
    cache: KVCache | undefined,
    dropout: number,
    seed: number,
  ): tf.Tensor {
    const c = this.config;
    const [b, t] = h.shape as [number, number, number];
    const p = `blocks.${i}.attn`;
    let qkv = QKV.map((n) => this.dense(`${p}.${n}_proj`, h)) as Triple<tf.Tensor3D>; // [B, T, C]
    if (c.attention === 'mdha') {
      // PRIMER EZ CHANGE 2 (MDHA): a causal depthwise conv over time after each projection.
      const kernels = QKV.map((n) => this.mat(`${p}.${n}_dconv.weight`)) as Triple<tf.Tensor2D>;
      const biases = QKV.map((n) =>
        c.dconv_bias ? this.vec(`${p}.${n}_dconv.bias`) : undefined,
      ) as Triple<tf.Tensor1D | undefined>;
      qkv =
        cache === undefined
          ? (qkv.map((x, j) => causalDepthwiseConv1d(x, kernels[j]!, biases[j])) as typeof qkv)
          : convolveCached(cache, i, qkv, kernels, biases); // [B, T, C]
    }
    // Heads stay where the projection put them ('BTHD'), no transposes.
    const [q, k, v] = qkv.map((x) =>
      tf.reshape(x, [b, t, c.n_heads, headDim(c)]),
    ) as Triple<tf.Tensor4D>; // [B, T, C] -> [B, T, H, D]
    const [keys, values] = cache === undefined ? [k, v] : appendKeysValues(cache, i, k, v);
    const out = causalSelfAttention(q, keys, values, {
      layout: 'BTHD',
      ...(dropout > 0 ? { dropout, seed: dropoutSeed(seed, 3 * i + 1) } : {}),
    }); // [B, T, H, D]
    return this.dense(`${p}.o_proj`, tf.reshape(out, [b, t, c.d_model])); // [B, T, C]
  }

  /** The feed-forward network of block `i` on `g` `[B, T, C]`. */
  private ffn(g: tf.Tensor, i: number): tf.Tensor {
    const up = this.dense(`blocks.${i}.ffn.up`, g); // [B, T, C] -> [B, T, F]
    // PRIMER EZ CHANGE 1: squared ReLU, relu(x)², instead of ReLU.
    const act = this.config.ffn_activation === 'squared_relu' ? squaredRelu(up) : tf.relu(up);
    return this.dense(`blocks.${i}.ffn.down`, act); // [B, T, F] -> [B, T, C]
  }

  /** LayerNorm `name` over the last axis. */
  private norm(name: string, x: tf.Tensor): tf.Tensor {
    const { norm_eps } = this.config;
    return layerNorm(x, this.vec(`${name}.weight`), this.vec(`${name}.bias`), norm_eps);
  }

  /** Dense layer `name`: `x · weight + bias`. */
  private dense(name: string, x: tf.Tensor): tf.Tensor {
    return linear(x, this.mat(`${name}.weight`), this.vec(`${name}.bias`));
  }

  /** The parameter `name`, a matrix unless said otherwise. */
  private mat<T extends tf.Tensor = tf.Tensor2D>(name: string): T {
    const v = this.params.get(name);
    if (v === undefined) throw new Error(`internal: no parameter '${name}'`);
    return v as tf.Tensor as T;
  }

  /** A vector parameter. */
  private vec(name: string): tf.Tensor1D {
    return this.mat<tf.Tensor1D>(name);
  }
}
