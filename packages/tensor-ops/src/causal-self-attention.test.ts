import {
  bumpPosition,
  describeEachBackend,
  expectClose,
  expectGradientsMatchFiniteDifferences,
  expectNoLeak,
  randn,
  values,
  weightedSum,
} from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { causalSelfAttention, MASK_VALUE } from './causal-self-attention.js';

/** The definition in plain loops, in float64: softmax over visible keys of q·k/√D, times v. */
function reference(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): number[] {
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2];
  const qs = values(q);
  const ks = values(k);
  const vs = values(v);
  const out: number[] = [];
  for (let n = 0; n < B * H; n++) {
    for (let i = 0; i < Tq; i++) {
      const visible = i + Tk - Tq;
      const scores: number[] = [];
      for (let j = 0; j <= visible; j++) {
        let s = 0;
        for (let d = 0; d < D; d++) {
          s += (qs[(n * Tq + i) * D + d] as number) * (ks[(n * Tk + j) * D + d] as number);
        }
        scores.push(s / Math.sqrt(D));
      }
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        for (let j = 0; j <= visible; j++)
          acc += ((e[j] as number) / z) * (vs[(n * Tk + j) * D + d] as number);
        out.push(acc);
      }
    }
  }
  return out;
}

const qkv = (shapeQ: number[], shapeKV: number[], seed: number) =>
  [randn(shapeQ, seed), randn(shapeKV, seed + 1), randn(shapeKV, seed + 2)] as tf.Tensor4D[];

describeEachBackend('causalSelfAttention', () => {
  it('matches the loop definition (self-attention, Tq = Tk)', () => {
    const [q, k, v] = qkv([2, 3, 5, 4], [2, 3, 5, 4], 1) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const y = causalSelfAttention(q, k, v);
    expect(y.shape).toEqual([2, 3, 5, 4]);
    expectClose(y, reference(q, k, v), { atol: 1e-5 });
  });

  it('matches the loop definition with a key/value cache (Tq < Tk)', () => {
    const [q, k, v] = qkv([1, 2, 2, 8], [1, 2, 6, 8], 4) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    expectClose(causalSelfAttention(q, k, v), reference(q, k, v), { atol: 1e-5 });
  });

  it('gives the first position exactly v[0], whatever the scores', () => {
    const [q, k, v] = qkv([1, 1, 3, 2], [1, 1, 3, 2], 7) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
    const first = tf.slice(
      causalSelfAttention(tf.mul(q, 1e3) as tf.Tensor4D, k, v),
      [0, 0, 0, 0],
      [1, 1, 1, 2],
    );
    expectClose(first, tf.slice(v, [0, 0, 0, 0], [1, 1, 1, 2]));
  });

  it('stays finite and exact with scores far beyond the mask value', () => {
    const [q, k, v] = qkv([1, 2, 4, 4], [1, 2, 4, 4], 10) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
    ];
    const big = tf.mul(q, 300) as tf.Tensor4D; // scores of order ±1e3, softmax nearly one-hot
    const y = values(causalSelfAttention(big, k, v));
    expect(y.every(Number.isFinite)).toBe(true);
    expectClose(y, reference(big, k, v), { atol: 1e-4 });
    expect(MASK_VALUE).toBeGreaterThan(-65504); // finite in float16
  });

  it('is causal: changing position t+1 of q, k or v leaves outputs ≤ t unchanged', () => {
    const [q, k, v] = qkv([2, 2, 6, 4], [2, 2, 6, 4], 13) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
    ];
    const t = 2;
    const before = values(causalSelfAttention(q, k, v));
    for (const which of [0, 1, 2]) {
      const args = [q, k, v].map((x, i) => (i === which ? bumpPosition(x, 2, t + 1, 5) : x));
      const after = values(
        causalSelfAttention(...(args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D])),
      );
      let changedLater = false;
      for (let i = 0; i < after.length; i++) {
        const pos = Math.floor(i / 4) % 6;
        if (pos <= t) expect(after[i]).toBe(before[i]);
        else if (after[i] !== before[i]) changedLater = true;
      }
      expect(changedLater).toBe(true);
    }
  });

  it('has gradients matching finite differences for q, k and v', () => {
    const inputs = qkv([1, 2, 4, 3], [1, 2, 4, 3], 20);
    expectGradientsMatchFiniteDifferences(
      (q, k, v) =>
        weightedSum(causalSelfAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D), 21),
      inputs,
    );
    const cached = qkv([1, 1, 2, 3], [1, 1, 5, 3], 22);
    expectGradientsMatchFiniteDifferences(
      (q, k, v) =>
        weightedSum(causalSelfAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D), 23),
      cached,
    );
  });

  it('drops attention probabilities with a seeded, backend-independent mask', () => {
    const [q, k, v] = qkv([2, 2, 5, 4], [2, 2, 5, 4], 40) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
    ];
    expectClose(causalSelfAttention(q, k, v, { dropout: 0 }), causalSelfAttention(q, k, v));
    const rate = 0.4;
    const y = causalSelfAttention(q, k, v, { dropout: rate, seed: 7 });
    expectClose(causalSelfAttention(q, k, v, { dropout: rate, seed: 7 }), y, { atol: 0, rtol: 0 });
    expect(values(causalSelfAttention(q, k, v, { dropout: rate, seed: 8 }))).not.toEqual(values(y));
    // The documented mask: uniform(seed) ≥ rate, laid out [B·H, Tq, Tk], scaled by 1/(1-rate).
    const expected = tf.tidy(() => {
      const keep = tf.cast(
        tf.greaterEqual(tf.randomUniform([4, 5, 5], 0, 1, 'float32', 7), rate),
        'float32',
      );
      const q3 = tf.reshape(q, [4, 5, 4]);
      const scores = tf.div(tf.matMul(q3, tf.reshape(k, [4, 5, 4]), false, true), 2);
      const causal = tf.tensor2d(
        [...Array(25)].map((_, i) => (i % 5 <= Math.floor(i / 5) ? 1 : 0)),
        [5, 5],
      );
      const p = tf.softmax(tf.add(scores, tf.mul(tf.sub(1, causal), -1e9)));
      return tf.reshape(
        tf.matMul(tf.mul(p, tf.div(keep, 1 - rate)), tf.reshape(v, [4, 5, 4])),
        [2, 2, 5, 4],
      );
    });
    expectClose(y, expected, { atol: 1e-5 });
  });

  it('has dropout gradients matching finite differences (the mask fixed by the seed)', () => {
    expectGradientsMatchFiniteDifferences(
      (q, k, v) =>
        weightedSum(
          causalSelfAttention(q as tf.Tensor4D, k as tf.Tensor4D, v as tf.Tensor4D, {
            dropout: 0.3,
            seed: 3,
          }),
          41,
        ),
      qkv([1, 2, 4, 3], [1, 2, 4, 3], 42),
    );
  });

  it("takes and returns [B, T, H, D] with layout 'BTHD', values and gradients alike", () => {
    const [q, k, v] = qkv([2, 3, 5, 4], [2, 3, 5, 4], 50) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
    ];
    const toBTHD = (x: tf.Tensor) => tf.transpose(x, [0, 2, 1, 3]) as tf.Tensor4D;
    const y = causalSelfAttention(toBTHD(q), toBTHD(k), toBTHD(v), { layout: 'BTHD' });
    expect(y.shape).toEqual([2, 5, 3, 4]);
    expectClose(y, toBTHD(causalSelfAttention(q, k, v)), { atol: 1e-6 });
    const cached = qkv([1, 2, 3, 4], [1, 2, 6, 4], 51).map(toBTHD) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
    ];
    expectClose(
      causalSelfAttention(...cached, { layout: 'BTHD' }),
      toBTHD(
        causalSelfAttention(...(cached.map(toBTHD) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D])),
      ),
      { atol: 1e-6 },
    );
    expectGradientsMatchFiniteDifferences(
      (a, b, c) =>
        weightedSum(
          causalSelfAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D, {
            layout: 'BTHD',
            dropout: 0.2,
            seed: 4,
          }),
          52,
        ),
      qkv([1, 4, 2, 3], [1, 4, 2, 3], 53),
    );
    expect(() => causalSelfAttention(q, k, v, { layout: 'TBHD' as 'BTHD' })).toThrow(
      "option 'layout' is TBHD; expected 'BHTD' or 'BTHD'.",
    );
  });

  it('leaks no tensors, forward or backward', () => {
    const [q, k, v] = qkv([2, 2, 5, 4], [2, 2, 5, 4], 30) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
    ];
    expectNoLeak(() => causalSelfAttention(q, k, v));
    expectNoLeak(() =>
      tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.sum(causalSelfAttention(a as tf.Tensor4D, b as tf.Tensor4D, c as tf.Tensor4D)),
      )([q, k, v]),
    );
  });

  it('names the argument, the shape received and the shape expected on bad input', () => {
    const q = tf.zeros([2, 4, 8, 16]) as tf.Tensor4D;
    expect(() => causalSelfAttention(q, tf.zeros([2, 4, 8, 8]) as tf.Tensor4D, q)).toThrow(
      "causalSelfAttention: argument 'k' has shape [2,4,8,8]; expected [B,H,Tk,D] = [2,4,Tk,16] " +
        '(B, H, D from q [2,4,8,16]).',
    );
    expect(() => causalSelfAttention(q, q, tf.zeros([2, 4, 7, 16]) as tf.Tensor4D)).toThrow(
      "argument 'v' has shape [2,4,7,16]; expected [B,H,Tk,D] = [2,4,8,16]",
    );
    expect(() => causalSelfAttention(tf.zeros([8, 16]) as unknown as tf.Tensor4D, q, q)).toThrow(
      "argument 'q' has shape [8,16]; expected [B,H,Tq,D].",
    );
    const short = tf.zeros([2, 4, 4, 16]) as tf.Tensor4D;
    expect(() => causalSelfAttention(q, short, short)).toThrow(
      /q has 8 positions but k and v only 4/,
    );
  });
});
