import { describe, expect, it } from 'vitest';
import {
  chartData,
  downsample,
  RaceHistory,
  realTimeDifference,
  recentTokensPerSecond,
  smooth,
  verdict,
} from './race-history.js';

function history(): RaceHistory {
  const h = new RaceHistory();
  // Primer EZ steps take 110 ms, vanilla's 100 ms.
  for (let step = 1; step <= 4; step++) {
    h.addStep('primer', { step, ms: step * 110, loss: 4 - step * 0.5 });
    h.addStep('vanilla', { step, ms: step * 100, loss: 4 - step * 0.3 });
  }
  h.addEval('primer', { step: 0, ms: 0, loss: 4.4 });
  h.addEval('vanilla', { step: 0, ms: 0, loss: 4.4 });
  h.addEval('primer', { step: 2, ms: 220, loss: 3.0 });
  h.addEval('vanilla', { step: 2, ms: 200, loss: 3.5 });
  h.addEval('primer', { step: 4, ms: 440, loss: 2.2 });
  h.addEval('vanilla', { step: 4, ms: 400, loss: 2.9 });
  return h;
}

describe('smooth', () => {
  it('is a debiased moving average', () => {
    expect(smooth([4, 4, 4], 0.9)).toEqual([4, 4, 4].map((v) => expect.closeTo(v, 12)));
    const s = smooth([1, 0], 0.5);
    expect(s[0]).toBeCloseTo(1);
    expect(s[1]).toBeCloseTo(1 / 3); // (0.5·0.5·1 + 0.5·0) / (1 − 0.25)
    expect(smooth([3, 1], 0)).toEqual([3, 1]);
  });
});

describe('downsample', () => {
  it('keeps the ends and at most max points', () => {
    const points = Array.from({ length: 101 }, (_, i) => i);
    const thin = downsample(points, 11);
    expect(thin).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(downsample([1, 2, 3], 10)).toEqual([1, 2, 3]);
  });
});

describe('chartData', () => {
  it('shares the step axis between both models', () => {
    const [x, vanillaTrain, vanillaVal, primerTrain, primerVal] = chartData(
      history().toJSON(),
      'step',
      { smoothing: 0 },
    );
    expect(x).toEqual([0, 1, 2, 3, 4]);
    expect(primerTrain).toEqual([null, 3.5, 3, 2.5, 2]);
    expect(primerVal).toEqual([4.4, null, 3.0, null, 2.2]);
    expect(vanillaTrain).toEqual(
      [null, 3.7, 3.4, 3.1, 2.8].map((v) => (v === null ? null : expect.closeTo(v, 12))),
    );
    expect(vanillaVal).toEqual([4.4, null, 3.5, null, 2.9]);
  });

  it('merges both models’ times into one sorted axis, in seconds', () => {
    const [x, vanillaTrain, , primerTrain] = chartData(history().toJSON(), 'time', {
      smoothing: 0,
    });
    expect(x).toEqual([0, 0.1, 0.11, 0.2, 0.22, 0.3, 0.33, 0.4, 0.44]);
    expect(primerTrain![2]).toBe(3.5);
    expect(vanillaTrain![2]).toBeNull();
    expect(vanillaTrain![1]).toBeCloseTo(3.7);
  });

  it('copes with an empty race', () => {
    expect(chartData(new RaceHistory().toJSON(), 'step')).toEqual([[], [], [], [], []]);
  });
});

describe('verdict', () => {
  it('says how much sooner Primer EZ reached vanilla’s best validation loss', () => {
    expect(verdict(history().toJSON())).toEqual({
      upTo: 4,
      target: 2.9,
      vanilla: { step: 4, ms: 400 },
      primer: { step: 4, ms: 440 },
      primerBest: 2.2,
      stepRatio: 1,
      timeRatio: 400 / 440,
    });
    const h = new RaceHistory();
    for (const [step, loss] of [
      [0, 4.4],
      [2, 3.0],
      [3, 2.5],
      [4, 2.2],
    ] as const)
      h.addEval('primer', { step, ms: step * 110, loss });
    for (const [step, loss] of [
      [0, 4.4],
      [2, 3.5],
      [4, 2.9],
    ] as const)
      h.addEval('vanilla', { step, ms: step * 100, loss });
    const v = verdict(h.toJSON());
    expect(v?.primer).toEqual({ step: 3, ms: 330 });
    expect(v?.stepRatio).toBeCloseTo(4 / 3);
    expect(v?.timeRatio).toBeCloseTo(400 / 330);
  });

  it('waits for validations after step 0, and says when Primer EZ is behind', () => {
    const h = new RaceHistory();
    h.addEval('primer', { step: 0, ms: 0, loss: 4.4 });
    h.addEval('vanilla', { step: 0, ms: 0, loss: 4.4 });
    expect(verdict(h.toJSON())).toBeUndefined();
    h.addEval('primer', { step: 10, ms: 1000, loss: 3.2 });
    h.addEval('vanilla', { step: 10, ms: 900, loss: 3.0 });
    expect(verdict(h.toJSON())).toEqual({
      upTo: 10,
      target: 3.0,
      vanilla: { step: 10, ms: 900 },
      primerBest: 3.2,
    });
  });

  it('counts only the validations both have done, so a racer a validation ahead changes nothing', () => {
    const h = new RaceHistory();
    for (const role of ['primer', 'vanilla'] as const) h.addEval(role, { step: 0, ms: 0, loss: 4 });
    h.addEval('vanilla', { step: 10, ms: 100, loss: 3.0 });
    h.addEval('primer', { step: 10, ms: 110, loss: 3.1 });
    const before = verdict(h.toJSON());
    expect(before).toMatchObject({ upTo: 10, target: 3.0, primerBest: 3.1 });
    expect(before?.primer).toBeUndefined();
    // Vanilla validates at step 20 first: the verdict waits for Primer EZ's step 20.
    h.addEval('vanilla', { step: 20, ms: 200, loss: 2.5 });
    expect(verdict(h.toJSON())).toEqual(before);
    h.addEval('primer', { step: 20, ms: 220, loss: 2.4 });
    expect(verdict(h.toJSON())).toMatchObject({
      upTo: 20,
      target: 2.5,
      primer: { step: 20, ms: 220 },
      stepRatio: 1,
    });
  });

  it('round-trips through JSON (IndexedDB), dropping damaged points', () => {
    const h = history();
    const back = RaceHistory.fromJSON(JSON.parse(JSON.stringify(h)));
    expect(back.toJSON()).toEqual(h.toJSON());
    const damaged = RaceHistory.fromJSON({ train: { primer: [{ step: 1 }, null] }, validation: 5 });
    expect(damaged.empty).toBe(true);
  });
});

describe('RaceHistory.rewind', () => {
  it("drops one racer's points after its checkpoint step, and leaves the other racer alone", () => {
    const h = history();
    h.rewind('primer', 2);
    expect(h.train.primer.map((p) => p.step)).toEqual([1, 2]);
    expect(h.validation.primer.map((p) => p.step)).toEqual([0, 2]);
    expect(h.train.vanilla.map((p) => p.step)).toEqual([1, 2, 3, 4]);
    expect(h.validation.vanilla.map((p) => p.step)).toEqual([0, 2, 4]);
    // Resumed steps take their place: one point per step, as if the race had never stopped.
    h.addStep('primer', { step: 3, ms: 330, loss: 2.5 });
    expect(h.train.primer.map((p) => p.step)).toEqual([1, 2, 3]);
    h.rewind('vanilla', 0);
    expect(h.train.vanilla).toEqual([]);
    expect(h.validation.vanilla.map((p) => p.step)).toEqual([0]);
  });
});

describe('realTimeDifference', () => {
  it('is a difference of at least 10% either way', () => {
    expect(realTimeDifference(1.04)).toBe(false);
    expect(realTimeDifference(1 / 1.05)).toBe(false);
    expect(realTimeDifference(1.1)).toBe(true);
    expect(realTimeDifference(0.8)).toBe(true);
    expect(realTimeDifference(undefined)).toBe(false);
  });
});

describe('recentTokensPerSecond', () => {
  it('is the rate over the last steps, leaving out a slow first step', () => {
    // Step 1 took 5 s (shader compilation), each later step 100 ms; 256 tokens a step.
    const points = Array.from({ length: 30 }, (_, i) => ({
      step: i + 1,
      ms: 5000 + i * 100,
      loss: 3,
    }));
    expect(recentTokensPerSecond(points.slice(0, 1), 256)).toBeUndefined();
    expect(recentTokensPerSecond(points.slice(0, 2), 256)).toBeCloseTo(2560);
    expect(recentTokensPerSecond(points, 256, 20)).toBeCloseTo(2560);
    // A slowdown shows at once.
    points.push({ step: 31, ms: 5000 + 29 * 100 + 2100, loss: 3 });
    expect(recentTokensPerSecond(points, 256, 1)).toBeCloseTo(256 / 2.1);
  });
});
