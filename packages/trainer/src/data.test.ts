import { values } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchSampler, batchAt, DataError, splitTokens, windowStarts } from './data.js';
import { Rng } from './rng.js';

const stream = Int32Array.from({ length: 100 }, (_, i) => i);

describe('data', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('splits the first 90% for training and the last 10% for validation', () => {
    const { train, validation } = splitTokens(stream);
    expect([train.length, validation.length]).toEqual([90, 10]);
    expect([train[89], validation[0]]).toEqual([89, 90]);
    expect(splitTokens(stream, 0.5).validation.length).toBe(50);
    expect(() => splitTokens(stream, 1)).toThrow(
      'splitTokens: trainFraction = 1 must be in (0, 1).',
    );
  });

  it('builds next-token batches: targets are the inputs shifted by one', () => {
    const { ids, targets } = batchAt(stream, [0, 10], 4);
    expect(ids.shape).toEqual([2, 4]);
    expect(ids.dtype).toBe('int32');
    expect(values(ids)).toEqual([0, 1, 2, 3, 10, 11, 12, 13]);
    expect(values(targets)).toEqual([1, 2, 3, 4, 11, 12, 13, 14]);
    tf.dispose([ids, targets]);
  });

  it('samples random windows reproducibly from the seed, and resumes from the generator state', () => {
    const a = new BatchSampler(stream, 8, 16, new Rng(3));
    const b = new BatchSampler(stream, 8, 16, new Rng(3));
    const first = a.nextStarts();
    expect(b.nextStarts()).toEqual(first);
    expect(first.every((s) => s >= 0 && s + 16 + 1 <= 100)).toBe(true);
    const rng = new Rng(a.rng.state);
    expect(new BatchSampler(stream, 8, 16, rng).nextStarts()).toEqual(a.nextStarts());
    expect(new BatchSampler(stream, 8, 16, new Rng(4)).nextStarts()).not.toEqual(first);
    // every start is reachable, including the last (N - T - 1)
    const starts = new Set<number>();
    const c = new BatchSampler(stream, 64, 98, new Rng(5));
    for (let i = 0; i < 10; i++) for (const s of c.nextStarts()) starts.add(s);
    expect([...starts].sort()).toEqual([0, 1]);
  });

  it('lists non-overlapping windows s = 0, T, 2T, … while s + T + 1 ≤ N, or an even subset', () => {
    expect(windowStarts(10, 3)).toEqual([0, 3, 6]);
    expect(windowStarts(9, 3)).toEqual([0, 3]);
    expect(windowStarts(4, 3)).toEqual([0]);
    expect(windowStarts(3, 3)).toEqual([]);
    expect(windowStarts(1001, 10, 4)).toEqual([0, 250, 500, 750]);
  });

  it('explains text too short for one window', () => {
    expect(() => new BatchSampler(stream.subarray(0, 5), 2, 8, new Rng(1))).toThrow(DataError);
    expect(() => new BatchSampler(stream.subarray(0, 5), 2, 8, new Rng(1))).toThrow(
      'the training text has 5 tokens, fewer than one window of seqLen + 1 = 9; use more text or a shorter sequence length.',
    );
  });
});
