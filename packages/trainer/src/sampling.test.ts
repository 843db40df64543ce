import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';
import { nextTokenProbabilities, sampleNext } from './sampling.js';

/** An Rng whose every draw is `u`, to probe the inverse CDF at a chosen point. */
function fixedRng(u: number): Rng {
  return { next: () => u } as unknown as Rng;
}

function softmax(x: number[]): number[] {
  const max = Math.max(...x);
  const e = x.map((v) => Math.exp(v - max));
  const total = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / total);
}

function expectProbabilities(actual: Float64Array, expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  expected.forEach((p, i) => {
    expect(actual[i]).toBeCloseTo(p, 12);
  });
}

describe('sampleNext', () => {
  it('temperature 0 is the argmax, ties to the lowest id, without drawing', () => {
    const rng = new Rng(3);
    const before = rng.state;
    expect(sampleNext(Float32Array.of(1, 3, 3, 2), rng, { temperature: 0 }, [])).toBe(1);
    expect(sampleNext(Float32Array.of(-5, -1, -2), rng, { temperature: 0 }, [])).toBe(1);
    expect(rng.state).toEqual(before);
  });

  it('applies the repetition penalty as defined: positive logits divided, negative multiplied', () => {
    // Penalty 2 on a positive logit halves it: [2, 0] with 0 seen samples like [1, 0].
    const halved = nextTokenProbabilities(Float32Array.of(2, 0), { repetitionPenalty: 2 }, [0]);
    expectProbabilities(halved, softmax([1, 0]));
    // On a negative logit it doubles it: [-1, 0] with 0 seen samples like [-2, 0].
    const doubled = nextTokenProbabilities(Float32Array.of(-1, 0), { repetitionPenalty: 2 }, [0]);
    expectProbabilities(doubled, softmax([-2, 0]));
    // Each id once, however often it was seen; unseen ids untouched; penalty < 1 rewards.
    const logits = Float32Array.of(2, -1, 0.5, 1);
    expectProbabilities(
      nextTokenProbabilities(logits, { repetitionPenalty: 2 }, [0, 0, 1, 0]),
      softmax([1, -2, 0.5, 1]),
    );
    expectProbabilities(
      nextTokenProbabilities(logits, { repetitionPenalty: 0.5 }, [0, 3]),
      softmax([4, -1, 0.5, 2]),
    );
    // The penalty comes before the temperature.
    expectProbabilities(
      nextTokenProbabilities(logits, { repetitionPenalty: 2, temperature: 0.5 }, [0]),
      softmax([2, -2, 1, 2]),
    );
    // And it changes the greedy choice: 2 → 1 falls below 1.5.
    expect(
      sampleNext(
        Float32Array.of(2, 1.5),
        new Rng(0),
        { temperature: 0, repetitionPenalty: 2 },
        [0],
      ),
    ).toBe(1);
  });

  it('samples by the inverse CDF of rng.next(), in id order', () => {
    // softmax([2, 0] with penalty 2 on id 0) = [0.7311, 0.2689].
    const logits = Float32Array.of(2, 0);
    const options = { repetitionPenalty: 2 };
    expect(sampleNext(logits, fixedRng(0.73), options, [0])).toBe(0);
    expect(sampleNext(logits, fixedRng(0.732), options, [0])).toBe(1);
    // Without the penalty p(0) = 0.8808.
    expect(sampleNext(logits, fixedRng(0.88), {}, [0])).toBe(0);
    expect(sampleNext(logits, fixedRng(0.999999), {}, [0])).toBe(1);
  });

  it('draws with the frequencies of the distribution', () => {
    const logits = Float32Array.of(0, 1, 2, -1);
    const expected = softmax([0, 1, 2, -1].map((v) => v / 0.7));
    const rng = new Rng(11);
    const counts = [0, 0, 0, 0];
    const draws = 20_000;
    for (let i = 0; i < draws; i++) counts[sampleNext(logits, rng, { temperature: 0.7 }, [])]! += 1;
    counts.forEach((c, i) => {
      expect(Math.abs(c / draws - expected[i]!)).toBeLessThan(0.012);
    });
  });

  it('scales by the temperature, then keeps the top k', () => {
    const logits = Float32Array.of(1, 4, 2, 3);
    expectProbabilities(
      nextTokenProbabilities(logits, { temperature: 2 }, []),
      softmax([0.5, 2, 1, 1.5]),
    );
    const [p4, p3] = softmax([4, 3]) as [number, number];
    expectProbabilities(nextTokenProbabilities(logits, { topK: 2 }, []), [0, p4, 0, p3]);
    expectProbabilities(nextTokenProbabilities(logits, { topK: 9 }, []), softmax([1, 4, 2, 3]));
  });

  it('keeps the smallest nucleus reaching topP, on the top-k survivors, renormalised', () => {
    const logits = Float64Array.from([0.5, 0.3, 0.2], Math.log);
    expectProbabilities(nextTokenProbabilities(logits, { topP: 0.6 }, []), [0.625, 0.375, 0]);
    expectProbabilities(nextTokenProbabilities(logits, { topP: 0.45 }, []), [1, 0, 0]);
    expectProbabilities(nextTokenProbabilities(logits, { topP: 0.85 }, []), [0.5, 0.3, 0.2]);
    // top-k 2 first: [0.625, 0.375], whose 0.6-nucleus is the first token alone.
    expectProbabilities(nextTokenProbabilities(logits, { topK: 2, topP: 0.6 }, []), [1, 0, 0]);
  });

  it('topK 1 and a tiny topP are greedy, ties included', () => {
    const rng = new Rng(5);
    for (let trial = 0; trial < 50; trial++) {
      const logits = Float32Array.from({ length: 9 }, () => Math.round(rng.next() * 4));
      const greedy = sampleNext(logits, rng, { temperature: 0 }, []);
      expect(sampleNext(logits, rng, { topK: 1 }, [])).toBe(greedy);
      expect(sampleNext(logits, rng, { topP: 1e-9, temperature: 1.5 }, [])).toBe(greedy);
    }
  });

  it('handles masked (-Infinity) logits and overflow at tiny temperatures', () => {
    const masked = Float32Array.of(Number.NEGATIVE_INFINITY, 0, Number.NEGATIVE_INFINITY, 0);
    expectProbabilities(nextTokenProbabilities(masked, {}, []), [0, 0.5, 0, 0.5]);
    expectProbabilities(nextTokenProbabilities(masked, { topK: 1 }, []), [0, 1, 0, 0]);
    const close = Float32Array.of(1, 2, 2);
    expectProbabilities(nextTokenProbabilities(close, { temperature: 1e-308 }, []), [0, 0.5, 0.5]);
  });

  it('rejects bad options, NaN logits and bad history ids by name', () => {
    const logits = Float32Array.of(0, 1);
    const rng = new Rng(0);
    expect(() => sampleNext(logits, rng, { temperature: -0.5 }, [])).toThrow(
      new RangeError('temperature = -0.5 must be a finite number ≥ 0 (0 means greedy).'),
    );
    expect(() => sampleNext(logits, rng, { topK: 1.5 }, [])).toThrow(/^topK = 1.5 must be/);
    expect(() => sampleNext(logits, rng, { topP: 0 }, [])).toThrow(/^topP = 0 must be in \(0, 1]/);
    expect(() => sampleNext(logits, rng, { repetitionPenalty: 0 }, [])).toThrow(
      /^repetitionPenalty = 0 must be a finite number > 0/,
    );
    expect(() => sampleNext(Float32Array.of(0, Number.NaN), rng, {}, [])).toThrow(
      'logits[1] is NaN',
    );
    expect(() => sampleNext(logits, rng, { repetitionPenalty: 1.2 }, [2])).toThrow(
      'history id 2 is not in 0..1',
    );
    expect(() => sampleNext(new Float32Array(0), rng, {}, [])).toThrow('logits are empty');
  });
});
