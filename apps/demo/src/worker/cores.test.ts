import { describe, expect, it } from 'vitest';
import { askedWorkers, corePlan } from './cores.js';

describe('corePlan', () => {
  it('gives each of the two racers half the cores on wasm and cpu when the page is isolated', () => {
    expect(corePlan('wasm', true, 8).workers).toBe(4);
    expect(corePlan('cpu', true, 5).workers).toBe(2);
    expect(corePlan('wasm', true, 8).note).toMatch(/^4 cores per model/);
    expect(corePlan('wasm', true, 2)).toEqual({
      workers: 1,
      note: 'One core per model: the 2 cores here are shared by the two racers.',
    });
    expect(corePlan('wasm', true, 2, 3).workers).toBe(3);
  });

  it('falls back to one core, saying why, when the page is not isolated', () => {
    const plan = corePlan('wasm', false, 16, 4);
    expect(plan.workers).toBe(1);
    expect(plan.note).toMatch(/not cross-origin isolated.*COOP\/COEP/);
  });

  it('keeps one worker on the GPU backends, with no note', () => {
    expect(corePlan('webgl', true, 16)).toEqual({ workers: 1, note: undefined });
    expect(corePlan('webgpu', true, 16, 4)).toEqual({ workers: 1, note: undefined });
  });
});

describe('askedWorkers', () => {
  it('reads a positive ?workers=N and ignores anything else', () => {
    expect(askedWorkers('?device=wasm&workers=2')).toBe(2);
    expect(askedWorkers('?device=wasm')).toBeUndefined();
    for (const bad of ['0', '-1', '1.5', 'two', '', '10000'])
      expect(askedWorkers(`?workers=${bad}`)).toBeUndefined();
  });
});
