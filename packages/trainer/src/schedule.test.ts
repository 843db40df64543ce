import { describe, expect, it } from 'vitest';
import { learningRate, validateSchedule } from './schedule.js';

describe('learning-rate schedules', () => {
  it('constant, with an optional linear warmup', () => {
    expect(learningRate({ type: 'constant' }, 2.5e-4, 1)).toBe(2.5e-4);
    expect(learningRate({ type: 'constant', warmup: 10 }, 1, 5)).toBe(0.5);
    expect(learningRate({ type: 'constant', warmup: 10 }, 1, 10)).toBe(1);
  });

  it('cosine: warmup to lr, then decay to minRatio·lr at the last step', () => {
    const s = { type: 'cosine', warmup: 100, totalSteps: 2000, minRatio: 0.1 } as const;
    expect(learningRate(s, 1e-3, 50)).toBeCloseTo(5e-4, 12);
    expect(learningRate(s, 1e-3, 100)).toBeCloseTo(1e-3, 12);
    expect(learningRate(s, 1e-3, 1050)).toBeCloseTo(1e-3 * (0.1 + 0.9 * 0.5), 12);
    expect(learningRate(s, 1e-3, 2000)).toBeCloseTo(1e-4, 12);
    expect(learningRate(s, 1e-3, 2500)).toBeCloseTo(1e-4, 12);
  });

  it('noam: lr·d^-0.5·min(step^-0.5, step·warmup^-1.5), peaking at the warmup step', () => {
    const s = { type: 'noam', warmup: 4000, dModel: 512 } as const;
    expect(learningRate(s, 1, 4000)).toBeCloseTo(512 ** -0.5 * 4000 ** -0.5, 12);
    expect(learningRate(s, 1, 1000)).toBeCloseTo(512 ** -0.5 * 1000 * 4000 ** -1.5, 12);
    expect(learningRate(s, 1, 3999)).toBeLessThan(learningRate(s, 1, 4000));
    expect(learningRate(s, 1, 4001)).toBeLessThan(learningRate(s, 1, 4000));
  });

  it('rejects bad fields, naming them', () => {
    expect(() => validateSchedule({ type: 'cosine', totalSteps: 0 })).toThrow(
      'schedule cosine: totalSteps = 0 must be a positive integer',
    );
    expect(() => validateSchedule({ type: 'cosine', totalSteps: 10, minRatio: 2 })).toThrow(
      'minRatio = 2 must be in [0, 1]',
    );
    expect(() => validateSchedule({ type: 'noam', warmup: 0, dModel: 8 })).toThrow(
      'warmup = 0 must be ≥ 1 for noam',
    );
    expect(() => validateSchedule({ type: 'linear' } as never)).toThrow(
      "must be 'constant', 'cosine' or 'noam'",
    );
  });
});
