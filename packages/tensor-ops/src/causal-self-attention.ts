import {
  add,
  cast,
  type GradSaveFunc,
  greaterEqual,
  matMul,
  mul,
  op,
  randomUniform,
  reshape,
  softmax,
  sub,
  sum,
  type Tensor,
  type Tensor3D,
  type Tensor4D,
  tensor2d,
  tensor3d,
  tidy,
  transpose,
} from '@tensorflow/tfjs-core';
import { withGradient } from './custom-grad.js';
import { batchMatMulAsDepthwise, needsPlainMatMul } from './matmul.js';
import { assertDtype, assertShape, assertTensor, formatShape } from './validate.js';

/**
 * The additive mask value for positions a query may not see. Large enough that `exp` of it
 * underflows to exactly 0 after the softmax's max-subtraction, small enough to stay finite in
 * float16 (max 65504), so WebGL devices without float32 textures still get a correct mask.
 */
export const MASK_VALUE = -1e4;

const maskCache = new Map<string, Float32Array>();

/** `mask[i, j] = 0` where query `i` may see key `j` (`j ≤ i + tk - tq`), else MASK_VALUE. */
function causalMask(tq: number, tk: number): Float32Array {
  const key = `${tq}x${tk}`;
  let mask = maskCache.get(key);
  if (mask === undefined) {
    mask = new Float32Array(tq * tk);
    const offset = tk - tq;
    for (let i = 0; i < tq; i++) {
      for (let j = i + offset + 1; j < tk; j++) mask[i * tk + j] = MASK_VALUE;
    }
    if (maskCache.size > 64) maskCache.clear();
    maskCache.set(key, mask);
  }
  return mask;
}

/**
 * Causal scaled dot-product attention for every head at once:
 * `softmax(q·kᵀ/√D + mask)·v`, where query `i` sees keys `j ≤ i + Tk - Tq`.
 *
 * Shapes: `q` `[B, H, Tq, D]`, `k` and `v` `[B, H, Tk, D]` with `Tq ≤ Tk` → `[B, H, Tq, D]`.
 * With `Tq = Tk` this is ordinary causal self-attention; with `Tq < Tk` the queries are the last
 * `Tq` positions of the sequence, as when decoding with a key/value cache. The softmax subtracts
 * the row maximum, and masked scores get {@link MASK_VALUE}, which is finite in float16.
 *
 * `options.dropout` drops attention probabilities while training (inverted dropout, mask drawn
 * from `options.seed` in the `[N, Tq, Tk]` layout on every backend).
 *
 * The gradient is explicit (`dS = P ⊙ (dP - rowsum(dP ⊙ P))`). On wasm, whose batched and
 * transposed `matMul` is a scalar loop, the four batched products run as depthwise convolutions
 * (XNNPACK) instead; elsewhere they are flagged `matMul`s.
 *
 * @example
 * ```ts
 * const q = tf.randomNormal([2, 4, 16, 8]) as tf.Tensor4D;
 * const out = causalSelfAttention(q, q, q); // [2, 4, 16, 8]
 * ```
 */
function causalSelfAttention_(
  q: Tensor4D,
  k: Tensor4D,
  v: Tensor4D,
  options: AttentionOptions = {},
): Tensor4D {
  const opName = 'causalSelfAttention';
  assertTensor(opName, 'q', q);
  assertTensor(opName, 'k', k);
  assertTensor(opName, 'v', v);
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    assertDtype(opName, name, t, ['float32']);
  }
  const layout = options.layout ?? 'BHTD';
  if (layout !== 'BHTD' && layout !== 'BTHD') {
    throw new RangeError(
      `${opName}: option 'layout' is ${String(layout)}; expected 'BHTD' or 'BTHD'.`,
    );
  }
  const dims = (t: string) => [...layout].map((a) => (a === 'T' ? t : a));
  const at = (x: Tensor, axis: string) => x.shape[layout.indexOf(axis)] as number;
  assertShape(opName, 'q', q, dims('Tq'));
  const [b, h, tq, d] = [at(q, 'B'), at(q, 'H'), at(q, 'T'), at(q, 'D')];
  const sized = (t: number | undefined) => [...layout].map((a) => ({ B: b, H: h, T: t, D: d })[a]);
  const from = `B, H, D from q ${formatShape(q.shape)}`;
  assertShape(opName, 'k', k, dims('Tk'), sized(undefined), from);
  const tk = at(k, 'T');
  assertShape(opName, 'v', v, dims('Tk'), sized(tk), `from q and k ${formatShape(k.shape)}`);
  if (tq > tk) {
    throw new RangeError(
      `${opName}: q has ${tq} positions but k and v only ${tk}; expected Tq ≤ Tk ` +
        '(queries are the last Tq positions of the key sequence).',
    );
  }
  const { dropout = 0, seed } = options;
  if (!(dropout >= 0 && dropout < 1)) {
    throw new RangeError(`${opName}: option 'dropout' is ${dropout}; expected a rate in [0, 1).`);
  }
  const scale = 1 / Math.sqrt(d);
  const mask = causalMask(tq, tk);
  const attend = needsPlainMatMul() ? attendDepthwise : attendBatched;
  const shape: Shape = { B: b, H: h, D: d, layout };
  return withGradient([q, k, v], (save) => {
    const keep = dropout > 0 ? dropoutMask([b * h, tq, tk] as const, dropout, seed) : undefined;
    const { out, backward } = attend(mul(q, scale), k, v, shape, mask, keep, save);
    return {
      value: out,
      gradFunc: (dy, saved) => {
        const [dq, dk, dv] = backward(dy, saved);
        return [mul(dq, scale), dk, dv];
      },
    };
  }) as Tensor4D;
}

/** Options of {@link causalSelfAttention}. */
export interface AttentionOptions {
  /**
   * Axis order of q, k, v and the output: `BHTD` (default, heads split out) or `BTHD` (the
   * `[B, T, C]` projections merely reshaped to `[B, T, H, D]`, which saves the caller a transpose
   * each way).
   */
  layout?: Layout;
  /** Dropout rate on the attention probabilities (inverted dropout; 0, the default, is none). */
  dropout?: number;
  /** Seed of the dropout mask, for reproducible training. */
  seed?: number;
}

/**
 * An inverted-dropout mask `[N, Tq, Tk]`: 0 with probability `rate`, else 1/(1-rate). Drawn in this
 * canonical layout on every backend, so the same seed drops the same probabilities everywhere.
 */
function dropoutMask(shape: [number, number, number], rate: number, seed?: number): Tensor3D {
  return tidy(() => {
    const kept = cast(greaterEqual(randomUniform(shape, 0, 1, 'float32', seed), rate), 'float32');
    return mul(kept, 1 / (1 - rate)) as Tensor3D;
  });
}

/** Axis orders of the 4-D attention tensors. */
export type Layout = 'BHTD' | 'BTHD';

/** The sizes an attention call shares by all its tensors, and their axis order. */
interface Shape {
  B: number;
  H: number;
  D: number;
  layout: Layout;
}

/**
 * `x` (4-D, in `shape.layout`) transposed to the 3 axes named by `to`, where `N` stands for the
 * batch and head axes merged (B major): e.g. `TDN` gives `[T, D, B·H]`.
 */
function arrange(x: Tensor, shape: Shape, to: string): Tensor3D {
  const target = to.replace('N', 'BH');
  const perm = [...target].map((axis) => shape.layout.indexOf(axis));
  const moved = perm.every((p, i) => p === i) ? x : transpose(x, perm);
  const size = (axis: string) =>
    axis === 'N' ? shape.B * shape.H : (x.shape[shape.layout.indexOf(axis)] as number);
  return reshape(moved, [...to].map(size) as [number, number, number]) as Tensor3D;
}

/** The inverse of {@link arrange}: a `[…]` tensor with axes `from` (`T` of length `t`) back in `shape.layout`. */
function restore(x: Tensor, shape: Shape, from: string, t: number): Tensor4D {
  const source = from.replace('N', 'BH');
  const sizes: Record<string, number> = { B: shape.B, H: shape.H, D: shape.D, T: t };
  const expanded = reshape(
    x,
    [...source].map((axis) => sizes[axis]!),
  );
  const perm = [...shape.layout].map((axis) => source.indexOf(axis));
  return (perm.every((p, i) => p === i) ? expanded : transpose(expanded, perm)) as Tensor4D;
}

type Attend = (
  /** Scaled queries, keys and values, 4-D in `shape.layout`. */
  qs: Tensor,
  k: Tensor,
  v: Tensor,
  shape: Shape,
  mask: Float32Array,
  /** The scaled dropout mask `[N, Tq, Tk]`, when dropping out. */
  keep: Tensor3D | undefined,
  save: GradSaveFunc,
) => {
  /** The output, 4-D in `shape.layout`. */
  out: Tensor;
  /** Gradients with respect to the scaled queries, k and v (in `shape.layout`), from the saved tensors. */
  backward: (dOut: Tensor, saved: Tensor[]) => [Tensor, Tensor, Tensor];
};

/** The softmax backward step: `P ⊙ (dP - rowsum(dP ⊙ P))` over the last axis. */
function softmaxBackward(p: Tensor, dp: Tensor): Tensor {
  return mul(p, sub(dp, sum(mul(dp, p), -1, true)));
}

/** Batch-major `[N, T, D]` layout with flagged batched matMuls (cpu, WebGL, tfjs-node). */
const attendBatched: Attend = (qsIn, kIn, vIn, shape, mask, keep, save) => {
  const [qs, k, v] = [
    arrange(qsIn, shape, 'NTD'),
    arrange(kIn, shape, 'NTD'),
    arrange(vIn, shape, 'NTD'),
  ];
  const [, tq] = qs.shape;
  const tk = k.shape[1];
  const scores = add(matMul(qs, k, false, true), tensor2d(mask, [tq, tk]));
  const p = softmax(scores);
  const pd = keep === undefined ? p : mul(p, keep);
  save(keep === undefined ? [qs, k, v, p] : [qs, k, v, p, keep]);
  return {
    out: restore(matMul(pd, v), shape, 'NTD', tq),
    backward: (dOutIn, saved) => {
      const [sq, sk, sv, sp, sKeep] = saved as Tensor3D[];
      const dOut = arrange(dOutIn, shape, 'NTD');
      const dpd = matMul(dOut, sv as Tensor3D, false, true);
      const dScores = softmaxBackward(sp as Tensor, sKeep === undefined ? dpd : mul(dpd, sKeep));
      const spd = sKeep === undefined ? (sp as Tensor3D) : (mul(sp as Tensor, sKeep) as Tensor3D);
      return [
        restore(matMul(dScores, sk as Tensor3D), shape, 'NTD', tq),
        restore(matMul(dScores, sq as Tensor3D, true, false), shape, 'NTD', tk),
        restore(matMul(spd, dOut, true, false), shape, 'NTD', tk),
      ];
    },
  };
};

/**
 * Batch-in-the-middle layout for wasm: every batched product is a depthwise convolution taking
 * `[M, R, N]` and `[R, N, P]` to `[M, N, P]` (see batchMatMulAsDepthwise). Scores and
 * probabilities live as `[Tq, N, Tk]` so the softmax runs over the last axis; the products are
 * oriented so that only two of them need a transpose of a `[Tq, N, Tk]` tensor (the expensive
 * kind) — the `p·v` product and `dQ` — and the rest take `p` and `dS` as they are.
 */
const attendDepthwise: Attend = (qs, k, v, shape, mask, keepCanonical, save) => {
  const tq = qs.shape[shape.layout.indexOf('T')] as number;
  const tk = k.shape[shape.layout.indexOf('T')] as number;
  const bmm = batchMatMulAsDepthwise;
  // scores[i, n, j] = Σ_d qs[n, i, d] · k[n, j, d]
  const scores = bmm(arrange(qs, shape, 'TDN'), arrange(k, shape, 'DNT'));
  const p = softmax(add(scores, tensor3d(mask, [tq, 1, tk]))) as Tensor3D; // [Tq, N, Tk]
  const keep = keepCanonical === undefined ? undefined : transpose(keepCanonical, [1, 0, 2]);
  const pd = keep === undefined ? p : (mul(p, keep) as Tensor3D);
  // out[i, n, d] = Σ_j pd[i, n, j] · v[n, j, d]
  const out = bmm(transpose(pd, [0, 2, 1]), arrange(v, shape, 'TND'));
  save(keep === undefined ? [qs, k, v, p] : [qs, k, v, p, keep]);
  return {
    out: restore(out, shape, 'TND', tq),
    backward: (dOut, saved) => {
      const [sq, sk, sv, sp, sKeep] = saved as [Tensor, Tensor, Tensor, Tensor3D, Tensor3D?];
      // dPd[i, n, j] = Σ_d dOut[n, i, d] · v[n, j, d]
      const dpd = bmm(arrange(dOut, shape, 'TDN'), arrange(sv, shape, 'DNT'));
      const dp = sKeep === undefined ? dpd : mul(dpd, sKeep);
      const ds = softmaxBackward(sp, dp) as Tensor3D; // [Tq, N, Tk]
      const spd = sKeep === undefined ? sp : (mul(sp, sKeep) as Tensor3D);
      // dvᵀ[d, n, j] = Σ_i dOut[n, i, d] · pd[i, n, j];  dkᵀ[d, n, j] = Σ_i qs[n, i, d] · dS[i, n, j]
      const dvT = bmm(arrange(dOut, shape, 'DTN'), spd);
      const dkT = bmm(arrange(sq, shape, 'DTN'), ds);
      // dqᵀ[d, n, i] = Σ_j k[n, j, d] · dS[i, n, j]
      const dqT = bmm(arrange(sk, shape, 'DTN'), transpose(ds, [2, 1, 0]) as Tensor3D);
      return [
        restore(dqT, shape, 'DNT', tq),
        restore(dkT, shape, 'DNT', tk),
        restore(dvT, shape, 'DNT', tk),
      ];
    },
  };
};

export const causalSelfAttention = op({ causalSelfAttention_ });
