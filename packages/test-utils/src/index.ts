// Shared test harness of the primer-ez packages: run a suite once per backend available in
// Node, compare tensors, check gradients by finite differences, catch tensor leaks.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect } from 'vitest';

/** The backends every op must run and train on in Node. WebGL is covered by the browser suite. */
export const BACKENDS = ['cpu', 'wasm'] as const;
export type BackendName = (typeof BACKENDS)[number];

/** Runs `suite` once per backend, with that backend active. */
export function describeEachBackend(name: string, suite: (backend: BackendName) => void): void {
  describe.each(BACKENDS)(`${name} [%s]`, (backend) => {
    beforeAll(async () => {
      const ok = await tf.setBackend(backend);
      if (!ok) throw new Error(`backend ${backend} failed to initialise`);
      await tf.ready();
    });
    suite(backend);
  });
}

/** Runs `fn` on `backend`, then restores the previous backend. */
export async function onBackend<T>(backend: BackendName, fn: () => T): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend(backend);
  try {
    return fn();
  } finally {
    await tf.setBackend(previous);
  }
}

/** Reads a tensor (or an array of numbers) as a flat array of numbers. */
export function values(x: tf.Tensor | ArrayLike<number>): number[] {
  return Array.from(x instanceof tf.Tensor ? x.dataSync() : x);
}

/** Asserts `actual ≈ expected` elementwise: |a - e| ≤ atol + rtol·|e|, naming the worst index. */
export function expectClose(
  actual: tf.Tensor | ArrayLike<number>,
  expected: tf.Tensor | ArrayLike<number>,
  { atol = 1e-5, rtol = 1e-4 }: { atol?: number; rtol?: number } = {},
): void {
  if (actual instanceof tf.Tensor && expected instanceof tf.Tensor) {
    expect(actual.shape).toEqual(expected.shape);
  }
  const a = values(actual);
  const e = values(expected);
  expect(a.length).toBe(e.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const excess =
      Math.abs((a[i] as number) - (e[i] as number)) - (atol + rtol * Math.abs(e[i] as number));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Number.POSITIVE_INFINITY : excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `values differ at index ${worst}: got ${a[worst]}, expected ${e[worst]} ` +
        `(atol ${atol}, rtol ${rtol}); ${a.length} values compared`,
    );
  }
}

/** A seeded standard-normal tensor. */
export function randn(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/**
 * Central finite differences of the scalar `f` with respect to one input, at a sample of
 * positions (all of them when there are at most `maxPositions`). Returns positions and slopes.
 */
export function finiteDifferences(
  f: (...inputs: tf.Tensor[]) => tf.Scalar,
  inputs: tf.Tensor[],
  which: number,
  { eps = 1e-2, maxPositions = 24 }: { eps?: number; maxPositions?: number } = {},
): { positions: number[]; slopes: number[] } {
  const target = inputs[which] as tf.Tensor;
  const base = Float32Array.from(target.dataSync());
  const size = base.length;
  const step = Math.max(1, Math.floor(size / maxPositions));
  const positions: number[] = [];
  const slopes: number[] = [];
  const evalAt = (data: Float32Array) =>
    tf.tidy(() => {
      const replaced = inputs.map((t, i) => (i === which ? tf.tensor(data, t.shape) : t));
      return f(...replaced).dataSync()[0] as number;
    });
  for (let p = 0; p < size; p += step) {
    const plus = base.slice();
    const minus = base.slice();
    plus[p] = (base[p] as number) + eps;
    minus[p] = (base[p] as number) - eps;
    positions.push(p);
    slopes.push((evalAt(plus) - evalAt(minus)) / (2 * eps));
  }
  return { positions, slopes };
}

/**
 * Checks the analytic gradients of `f` with respect to each of `inputs` (float inputs only)
 * against central finite differences.
 */
export function expectGradientsMatchFiniteDifferences(
  f: (...inputs: tf.Tensor[]) => tf.Scalar,
  inputs: tf.Tensor[],
  { eps = 1e-2, atol = 2e-3, rtol = 2e-2 }: { eps?: number; atol?: number; rtol?: number } = {},
): void {
  const grads = tf.grads(f)(inputs);
  inputs.forEach((input, i) => {
    if (input.dtype !== 'float32') return;
    const analytic = (grads[i] as tf.Tensor).dataSync();
    const { positions, slopes } = finiteDifferences(f, inputs, i, { eps });
    expectClose(
      positions.map((p) => analytic[p] as number),
      slopes,
      { atol, rtol },
    );
  });
  tf.dispose(grads);
}

/** Asserts that `fn` leaves no tensor behind once its result is disposed, over `times` calls. */
export function expectNoLeak(fn: () => tf.TensorContainer, times = 3): void {
  tf.dispose(fn()); // warm-up: first calls may create cached kernels
  const before = tf.memory().numTensors;
  for (let i = 0; i < times; i++) {
    tf.dispose(fn());
    expect(tf.memory().numTensors).toBe(before);
  }
}

/** A random weighting `w` and the scalar `Σ y·w`, to turn an op's output into a loss. */
export function weightedSum(y: tf.Tensor, seed: number): tf.Scalar {
  return tf.sum(tf.mul(y, randn(y.shape, seed)));
}

/** `x` with `amount` added to every entry at position `t` of axis `axis`. */
export function bumpPosition<T extends tf.Tensor>(x: T, axis: number, t: number, amount = 100): T {
  const shape = x.shape.map((size, i) => (i === axis ? size : 1));
  const delta = new Float32Array(x.shape[axis] as number);
  delta[t] = amount;
  return tf.add(x, tf.tensor(delta, shape)) as T;
}
