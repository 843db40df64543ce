import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import {
  aggregateMarkdown,
  aggregateSeeds,
  parseSeeds,
  type SeedRun,
  seedSeries,
  spread,
} from './experiment-seeds.js';
import { type Curve, stepsToReach, summarize } from './experiment-summary.js';

/** A curve evaluated at steps 0, 100, 200, … with these losses. */
const curve = (arm: string, losses: number[]): Curve => ({
  arm,
  evals: losses.map((loss, i) => ({ step: 100 * i, seconds: i, loss })),
  seconds: losses.length - 1,
  tokensPerSecond: 0,
});

describe('spread', () => {
  it('gives the mean, the sample standard deviation, min and max', () => {
    const s = spread([1, 2, 3, 6])!;
    expect(s).toMatchObject({ n: 4, mean: 3, min: 1, max: 6 });
    // Σ(x − 3)² = 4 + 1 + 0 + 9 = 14, over n − 1 = 3.
    expect(s.sd).toBeCloseTo(Math.sqrt(14 / 3), 12);
  });

  it('has no standard deviation for one value and nothing for none', () => {
    expect(spread([1.5])).toEqual({ n: 1, mean: 1.5, sd: null, min: 1.5, max: 1.5 });
    expect(spread([])).toBeNull();
  });
});

describe('stepsToReach', () => {
  it('interpolates between the evaluation before and the first one at or below the target', () => {
    const evals = curve('a', [4, 3, 2, 1]).evals;
    expect(stepsToReach(evals, 2.5)).toBeCloseTo(150, 12);
    expect(stepsToReach(evals, 2)).toBe(200);
    expect(stepsToReach(evals, 0.5)).toBeNull();
  });

  it('never counts the untrained step 0 as reaching', () => {
    expect(stepsToReach(curve('a', [1, 0.5]).evals, 2)).toBe(100);
  });
});

describe('aggregateSeeds', () => {
  // Seed 0: vanilla ends at 2.0, the arm crosses 2.0 half-way between steps 200 and 300.
  // Seed 1: vanilla ends at 1.8, the arm crosses it at step 200 exactly.
  // Seed 2: the arm alone (vanilla has not finished): its loss counts, no speed-up.
  const runs: SeedRun[] = [
    {
      seed: 0,
      curves: [curve('vanilla', [4, 3, 2.5, 2.2, 2.0]), curve('arm', [4, 2.8, 2.2, 1.8, 1.7])],
    },
    {
      seed: 1,
      curves: [curve('vanilla', [4, 3, 2.4, 2.0, 1.8]), curve('arm', [4, 2.5, 1.8, 1.7, 1.6])],
    },
    { seed: 2, curves: [curve('arm', [4, 2.5, 1.9, 1.8, 1.75])] },
  ];

  it('pairs each seed with vanilla of the same seed, and spreads the final loss over all seeds', () => {
    const [vanilla, arm] = aggregateSeeds(runs, 400, ['vanilla', 'arm', 'absent']);
    expect(vanilla!.arm).toBe('vanilla');
    expect(vanilla!.stepSpeedup).toMatchObject({ n: 2, mean: 1, min: 1, max: 1 });
    expect(arm!.finalLoss.n).toBe(3);
    expect(arm!.finalLoss.mean).toBeCloseTo((1.7 + 1.6 + 1.75) / 3, 12);
    expect(arm!.finalLoss).toMatchObject({ min: 1.6, max: 1.75 });
    expect(arm!.paired).toBe(2);
    expect(arm!.reached).toBe(2);
    expect(arm!.perSeed.map((s) => s.seed)).toEqual([0, 1, 2]);
    const [at0, at1, at2] = arm!.perSeed.map((s) => s.stepToVanillaFinal);
    expect(at0).toBeCloseTo(250, 9);
    expect(at1).toBeCloseTo(200, 9);
    expect(at2).toBeNull();
    const [s0, s1] = [400 / at0!, 400 / at1!];
    expect(arm!.stepSpeedup).toMatchObject({ n: 2, min: s0, max: s1 });
    expect(arm!.stepSpeedup!.mean).toBeCloseTo((s0 + s1) / 2, 12);
    expect(arm!.stepSpeedup!.sd).toBeCloseTo(Math.abs(s1 - s0) / Math.SQRT2, 12);
    expect(arm!.timeSpeedup).toBeNull();
    // An arm finished in no seed has no row.
    expect(aggregateSeeds(runs, 400, ['absent'])).toEqual([]);
  });

  it('uses the single-seed table for each seed', () => {
    const [, arm] = aggregateSeeds(runs, 400, ['vanilla', 'arm']);
    const single = summarize(runs[0]!.curves, 400).find((r) => r.arm === 'arm')!;
    expect(arm!.perSeed[0]!.stepSpeedup).toBe(single.interpolatedStepSpeedup);
    expect(arm!.perSeed[0]!.final).toBe(single.final);
  });

  it('scales each seed’s step speed-up by the throughput ratio for the time speed-up', () => {
    const [vanilla, arm] = aggregateSeeds(runs, 400, ['vanilla', 'arm'], {
      vanilla: 1000,
      arm: 800,
    });
    expect(vanilla!.throughputRatio).toBe(1);
    expect(arm!.throughputRatio).toBeCloseTo(0.8, 12);
    const [t0, t1, t2] = arm!.perSeed.map((s) => s.timeSpeedup);
    expect(t0).toBeCloseTo((400 / 250) * 0.8, 9);
    expect(t1).toBeCloseTo((400 / 200) * 0.8, 9);
    expect(t2).toBeNull();
    expect(arm!.timeSpeedup!.mean).toBeCloseTo(((400 / 250 + 400 / 200) / 2) * 0.8, 9);
  });

  it('counts seeds that never reach vanilla’s final loss', () => {
    const slow: SeedRun[] = [
      { seed: 0, curves: [curve('vanilla', [4, 2]), curve('arm', [4, 2.5])] },
      { seed: 1, curves: [curve('vanilla', [4, 2]), curve('arm', [4, 1.5])] },
    ];
    const [, arm] = aggregateSeeds(slow, 100, ['vanilla', 'arm']);
    expect(arm).toMatchObject({ paired: 2, reached: 1 });
    expect(arm!.stepSpeedup!.n).toBe(1);
    const md = aggregateMarkdown(
      {
        command: 'primer-ez experiment primer-vs-vanilla --seeds 0,1',
        seeds: [0, 1],
        steps: 100,
        backend: 'wasm',
        workers: 2,
        corpus: 'Moby-Dick',
        date: 'today',
        throughputSteps: 10,
      },
      aggregateSeeds(slow, 100, ['vanilla', 'arm'], { vanilla: 100, arm: 50 }),
    );
    expect(md).toMatch(
      /\| arm \| 2 \| 2\.0000 ± 0\.7071 \(1\.5000–2\.5000\) \|.*1 of 2 seeds reached/,
    );
    expect(md).toMatch(/quiet machine/);
  });
});

describe('seedSeries', () => {
  it('draws each arm’s mean curve over its seeds, and each seed faintly', () => {
    const runs: SeedRun[] = [
      { seed: 3, curves: [curve('arm', [4, 2])] },
      { seed: 5, curves: [curve('arm', [4, 3])] },
    ];
    const series = seedSeries(runs, ['vanilla', 'arm']);
    expect(series.map((s) => [s.name, s.faint ?? false])).toEqual([
      ['arm seed 3', true],
      ['arm seed 5', true],
      ['arm (mean of 2)', false],
    ]);
    expect(series[2]!.points).toEqual([
      [0, 4],
      [100, 2.5],
    ]);
  });
});

describe('parseSeeds', () => {
  it('reads a comma-separated list', () => {
    expect(parseSeeds('0,1,2')).toEqual([0, 1, 2]);
    expect(parseSeeds('7')).toEqual([7]);
  });

  it.each([
    ['0,0', /--seeds "0,0" lists seed 0 twice/],
    ['0,x', /--seeds "0,x": "x" is not a non-negative integer/],
    ['-1', /"-1" is not a non-negative integer/],
    ['1.5', /"1.5" is not a non-negative integer/],
    ['0,,1', /"" is not a non-negative integer/],
  ])('refuses %s, naming the flag', (raw, message) => {
    expect(() => parseSeeds(raw)).toThrow(UsageError);
    expect(() => parseSeeds(raw)).toThrow(message);
  });
});
