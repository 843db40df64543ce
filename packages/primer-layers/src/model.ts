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
import { type ConfigInput, headDim, type PrimerConfig, resolveConfig } from './config.js';
import { countParameters, initialValue, type ParamSpec, parameterSpecs } from './params.js';

/** Token ids: an int32 tensor `[B, T]` or plain rows of numbers. */
export type TokenIds = tf.Tensor2D | number[][];

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Apply dropout (when the config has any). Default false. */
  training?: boolean;
  /** Seed of this pass's dropout masks (use a new one every step). */
  seed?: number;
  /**
   * Check ids against the vocabulary (default true). Reading a tensor's ids back costs a device
   * sync; turn it off for ids you already validated (a training loop's batches).
   */
  checkIds?: boolean;
}

/** Per-layer state of incremental decoding: keys and values so far, and the conv context. */
interface LayerCache {
  /** Post-convolution keys and values so far, `[B, T, H, D]`. */
  k: tf.Tensor4D;
  v: tf.Tensor4D;
  /** The last K-1 pre-convolution projections of q, k and v `[B, K-1, C]` (MDHA only). */
  context?: [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
}

/**
 * Keys, values and convolution context of every layer for the positions decoded so far, so that
 * each new token costs one position's work. Create with {@link PrimerModel.createCache}; dispose
 * when done.
 */
export class KVCache {
  /** Positions decoded so far. */
  length = 0;
  /** @internal */
  layers: (LayerCache | undefined)[];

  constructor(
    readonly batch: number,
    nLayers: number,
  ) {
    this.layers = new Array(nLayers).fill(undefined);
  }

  /** Frees every cached tensor and empties the cache. */
  reset(): void {
    for (const layer of this.layers) {
      if (layer) tf.dispose([layer.k, layer.v, ...(layer.context ?? [])]);
    }
    this.layers.fill(undefined);
    this.length = 0;
  }

  dispose(): void {
    this.reset();
  }
}

/** Thrown for token ids the model cannot take; the message names the value and the fix. */
export class InputError extends RangeError {
  override name = 'InputError';
}

/**
 * A Primer EZ (or vanilla) decoder-only language model: token embedding and positions, pre-LN
 * blocks `x += attn(attn_norm(x)); x += ffn(ffn_norm(x))`, a final LayerNorm and `lm_head`.
 * Primer EZ differs from the vanilla baseline in exactly the two places the config switches:
 * `ffn_activation` (squared ReLU) and `attention` (a causal depthwise convolution after each of
 * the Q, K and V projections).
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
    const resolved = resolveConfig(config);
    return new PrimerModel(resolved, (spec, i) => initialValue(spec, seed * 1000003 + i));
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
    const specs = parameterSpecs(resolved);
    const known = new Set(specs.map((s) => s.name));
    const extra = [...weights.keys()].filter((name) => !known.has(name));
    if (extra.length > 0) {
      throw new InputError(`weights: unexpected tensor(s) ${extra.join(', ')} for this config.`);
    }
    for (const spec of specs) {
      const w = weights.get(spec.name);
      if (w === undefined)
        throw new InputError(`weights: missing tensor '${spec.name}' [${spec.shape}].`);
      if (!tf.util.arraysEqual(w.shape, spec.shape)) {
        throw new InputError(
          `weights: tensor '${spec.name}' has shape [${w.shape}]; expected [${spec.shape}].`,
        );
      }
    }
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

  private w(name: string): tf.Variable {
    const v = this.params.get(name);
    if (v === undefined) throw new Error(`internal: no parameter '${name}'`);
    return v;
  }

  /** A matrix parameter. */
  private mat(name: string): tf.Tensor2D {
    return this.w(name) as tf.Tensor as tf.Tensor2D;
  }

  /** A vector parameter. */
  private vec(name: string): tf.Tensor1D {
    return this.w(name) as tf.Tensor as tf.Tensor1D;
  }

  /** Logits `[B, T, V]` for token ids `[B, T]` (T ≤ max_seq_len). */
  forward(ids: TokenIds, options: ForwardOptions = {}): tf.Tensor3D {
    const tokens = this.toIds(ids, 0, options.checkIds ?? true);
    try {
      return tf.tidy(() => this.run(tokens, 0, undefined, options));
    } finally {
      if (tokens !== ids) tokens.dispose();
    }
  }

  /** Mean next-token cross-entropy of `forward(ids)` against `targets` `[B, T]`. */
  loss(ids: TokenIds, targets: TokenIds, options: ForwardOptions = {}): tf.Scalar {
    const check = options.checkIds ?? true;
    const tgt = this.toIds(targets, 0, check, 'targets');
    try {
      return tf.tidy(() => {
        const logits = this.forward(ids, options);
        const [b, t] = logits.shape;
        if (tgt.shape[0] !== b || tgt.shape[1] !== t) {
          throw new InputError(
            `targets have shape [${tgt.shape}]; expected [${b},${t}], the shape of ids.`,
          );
        }
        return sparseCrossEntropy(
          tf.reshape(logits, [b * t, this.config.vocab_size]) as tf.Tensor2D,
          tf.reshape(tgt, [b * t]) as tf.Tensor1D,
        ) as tf.Scalar;
      });
    } finally {
      if (tgt !== targets) tgt.dispose();
    }
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
    const tokens = this.toIds(ids, cache.length, checkIds);
    try {
      if (tokens.shape[0] !== cache.batch) {
        throw new InputError(
          `decode: ids have batch ${tokens.shape[0]} but the cache was made for ${cache.batch}.`,
        );
      }
      const logits = tf.tidy(() => this.run(tokens, cache.length, cache, {}));
      cache.length += tokens.shape[1];
      return logits;
    } finally {
      if (tokens !== ids) tokens.dispose();
    }
  }

  /** Frees every parameter. */
  dispose(): void {
    tf.dispose([...this.params.values()]);
    this.sinusoids?.dispose();
  }

  private run(
    ids: tf.Tensor2D,
    offset: number,
    cache: KVCache | undefined,
    options: ForwardOptions,
  ): tf.Tensor3D {
    const c = this.config;
    const [b, t] = ids.shape;
    const training = options.training === true && c.dropout > 0;
    const seed = options.seed ?? 0;
    const drop = (x: tf.Tensor, site: number) =>
      training ? tf.dropout(x, c.dropout, undefined, seed * 7919 + site) : x;

    let x = embedding(ids, this.mat('embed.weight'));
    if (c.positional === 'learned') {
      x = tf.add(x, tf.slice(this.mat('pos_embed.weight'), [offset, 0], [t, c.d_model]));
    } else {
      x = tf.add(
        tf.mul(x, Math.sqrt(c.d_model)),
        tf.slice(this.sinusoids!, [offset, 0], [t, c.d_model]),
      );
    }
    for (let i = 0; i < c.n_layers; i++) {
      const p = `blocks.${i}`;
      const h = layerNorm(
        x,
        this.vec(`${p}.attn_norm.weight`),
        this.vec(`${p}.attn_norm.bias`),
        c.norm_eps,
      );
      const attn = this.attention(
        h as tf.Tensor3D,
        i,
        cache,
        training ? { dropout: c.dropout, seed: seed * 7919 + 3 * i + 1 } : {},
      );
      x = tf.add(x, drop(attn, 3 * i + 2));
      const g = layerNorm(
        x,
        this.vec(`${p}.ffn_norm.weight`),
        this.vec(`${p}.ffn_norm.bias`),
        c.norm_eps,
      );
      const up = linear(g, this.mat(`${p}.ffn.up.weight`), this.vec(`${p}.ffn.up.bias`));
      const act = c.ffn_activation === 'squared_relu' ? squaredRelu(up) : tf.relu(up);
      x = tf.add(
        x,
        drop(
          linear(act, this.mat(`${p}.ffn.down.weight`), this.vec(`${p}.ffn.down.bias`)),
          3 * i + 3,
        ),
      );
    }
    const h = layerNorm(x, this.vec('final_norm.weight'), this.vec('final_norm.bias'), c.norm_eps);
    const logits = c.tie_embeddings
      ? linear(h, tf.transpose(this.mat('embed.weight')) as tf.Tensor2D)
      : linear(h, this.mat('lm_head.weight'), this.vec('lm_head.bias'));
    return tf.reshape(logits, [b, t, c.vocab_size]);
  }

  /** Multi-(DConv-)Head Attention of block `i` on `h` `[B, T, C]`, extending `cache` if given. */
  private attention(
    h: tf.Tensor3D,
    i: number,
    cache: KVCache | undefined,
    dropout: { dropout?: number; seed?: number },
  ): tf.Tensor {
    const c = this.config;
    const [b, t] = h.shape;
    const heads = c.n_heads;
    const d = headDim(c);
    const p = `blocks.${i}.attn`;
    const layer = cache?.layers[i];
    const project = (name: 'q' | 'k' | 'v') =>
      linear(h, this.mat(`${p}.${name}_proj.weight`), this.vec(`${p}.${name}_proj.bias`));
    let [q, k, v] = (['q', 'k', 'v'] as const).map(project) as [
      tf.Tensor3D,
      tf.Tensor3D,
      tf.Tensor3D,
    ];

    let context: [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] | undefined;
    if (c.attention === 'mdha') {
      const taps = c.dconv_kernel;
      const names = ['q', 'k', 'v'] as const;
      const kernel = (j: number) => this.mat(`${p}.${names[j]}_dconv.weight`);
      const bias = (j: number) =>
        c.dconv_bias ? this.vec(`${p}.${names[j]}_dconv.bias`) : undefined;
      const projected = [q, k, v];
      if (cache === undefined) {
        [q, k, v] = projected.map((x, j) => causalDepthwiseConv1d(x, kernel(j), bias(j))) as [
          tf.Tensor3D,
          tf.Tensor3D,
          tf.Tensor3D,
        ];
      } else {
        // Decoding: the K-1 projections before these (zeros before the start) precede them.
        const windows = projected.map(
          (x, j) =>
            tf.concat(
              [layer?.context?.[j] ?? (tf.zeros([b, taps - 1, c.d_model]) as tf.Tensor3D), x],
              1,
            ) as tf.Tensor3D,
        );
        [q, k, v] = windows.map((w, j) =>
          t === 1
            ? this.convStep(w, kernel(j), bias(j))
            : (tf.slice(
                causalDepthwiseConv1d(w, kernel(j), bias(j)),
                [0, taps - 1, 0],
                [b, t, c.d_model],
              ) as tf.Tensor3D),
        ) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
        // The new context: the last K-1 pre-convolution projections.
        context = windows.map((w) => tf.slice(w, [0, t, 0], [b, taps - 1, c.d_model])) as [
          tf.Tensor3D,
          tf.Tensor3D,
          tf.Tensor3D,
        ];
      }
    }

    // Heads stay where the projection put them: [B, T, H, D] ('BTHD'), no transposes.
    const split = (x: tf.Tensor) => tf.reshape(x, [b, t, heads, d]) as tf.Tensor4D;
    let [qh, kh, vh] = [split(q), split(k), split(v)];
    if (cache !== undefined) {
      if (layer !== undefined) {
        kh = tf.concat([layer.k, kh], 1) as tf.Tensor4D;
        vh = tf.concat([layer.v, vh], 1) as tf.Tensor4D;
      }
      if (layer !== undefined) tf.dispose([layer.k, layer.v, ...(layer.context ?? [])]);
      const kept: LayerCache = { k: tf.keep(kh), v: tf.keep(vh) };
      if (context !== undefined)
        kept.context = context.map((x) => tf.keep(x)) as [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D];
      cache.layers[i] = kept;
    }
    const out = causalSelfAttention(qh, kh, vh, { ...dropout, layout: 'BTHD' });
    const merged = tf.reshape(out, [b, t, c.d_model]);
    return linear(merged, this.mat(`${p}.o_proj.weight`), this.vec(`${p}.o_proj.bias`));
  }

  /**
   * One decoding step of a causal depthwise convolution: `window` `[B, K, C]` holds the K most
   * recent projections (the current one last), so the output is `Σ_k window[:, k] · kernel[k]`
   * — a few elementwise ops instead of a convolution, which matters at one token per step.
   */
  private convStep(
    window: tf.Tensor3D,
    kernel: tf.Tensor2D,
    bias: tf.Tensor1D | undefined,
  ): tf.Tensor3D {
    const channels = this.config.d_model;
    const groups = channels / kernel.shape[1];
    const perChannel = groups === 1 ? kernel : tf.tile(kernel, [1, groups]);
    const y = tf.sum(tf.mul(window, perChannel), 1, true);
    if (bias === undefined) return y as tf.Tensor3D;
    return tf.add(y, groups === 1 ? bias : tf.tile(bias, [groups])) as tf.Tensor3D;
  }

  /** Validates ids and returns them as an int32 tensor `[B, T]`. */
  private toIds(ids: TokenIds, offset: number, check: boolean, what = 'ids'): tf.Tensor2D {
    const c = this.config;
    let tensor: tf.Tensor2D;
    if (Array.isArray(ids)) {
      const width = ids[0]?.length ?? 0;
      if (
        ids.length === 0 ||
        width === 0 ||
        ids.some((row) => !Array.isArray(row) || row.length !== width)
      ) {
        throw new InputError(
          `${what} must be a non-empty [B, T] array of equal-length rows of token ids.`,
        );
      }
      for (let row = 0; row < ids.length; row++)
        for (let col = 0; col < width; col++) {
          const id = ids[row]![col];
          if (!Number.isInteger(id))
            throw new InputError(
              `${what}[${row}][${col}] = ${typeof id === 'number' ? id : JSON.stringify(id)} is not an integer token id; ` +
                'encode text with the tokenizer the model was trained with.',
            );
        }
      tensor = tf.tensor2d(ids.flat(), [ids.length, width], 'int32');
    } else {
      if (!(ids instanceof tf.Tensor) || ids.rank !== 2) {
        throw new InputError(
          `${what} must be an int32 tensor [B, T] or number[][]; got ${describe(ids)}.`,
        );
      }
      if (ids.dtype !== 'int32') {
        throw new InputError(
          `${what} have dtype ${ids.dtype}; expected int32 token ids (tf.cast(${what}, 'int32')).`,
        );
      }
      tensor = ids;
    }
    const t = tensor.shape[1];
    if (tensor.size === 0) {
      throw new InputError(
        `${what} have shape [${tensor.shape}]; pass at least one sequence of at least one token.`,
      );
    }
    if (offset + t > c.max_seq_len) {
      if (tensor !== ids) tensor.dispose();
      throw new InputError(
        offset === 0
          ? `${what} have ${t} positions but max_seq_len is ${c.max_seq_len}; pass at most ${c.max_seq_len} (crop the context, or use a Decoder, which slides a window).`
          : `decode: ${offset} cached + ${t} new positions exceed max_seq_len ${c.max_seq_len}; use a Decoder, which slides a window.`,
      );
    }
    if (check) {
      const values = tensor.dataSync();
      for (let i = 0; i < values.length; i++) {
        const id = values[i] as number;
        if (!(id >= 0 && id < c.vocab_size)) {
          if (tensor !== ids) tensor.dispose();
          const [row, col] = [Math.floor(i / t), i % t];
          throw new InputError(
            `${what}[${row}][${col}] = ${id} is outside the vocabulary [0, ${c.vocab_size}); ` +
              'encode text with the tokenizer the model was trained with.',
          );
        }
      }
    }
    return tensor;
  }
}

function describe(x: unknown): string {
  if (x instanceof tf.Tensor) return `a rank-${x.rank} ${x.dtype} tensor [${x.shape}]`;
  return x === null ? 'null' : typeof x;
}

/** The sinusoidal position table `[T, C]`: `PE[p, 2i] = sin(p·ω_i)`, `PE[p, 2i+1] = cos(p·ω_i)`, `ω_i = 10000^(-2i/C)`. */
export function sinusoidalPositions(positions: number, channels: number): tf.Tensor2D {
  const table = new Float32Array(positions * channels);
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < channels; j++) {
      const i2 = j - (j % 2);
      const angle = p * Math.exp((-i2 * Math.log(10000)) / channels);
      table[p * channels + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tf.tensor2d(table, [positions, channels]);
}
