import { describe, expect, it } from 'vitest';
import { DivergenceError, HealthMonitor } from './health.js';

const step = (n: number, loss: number, skipped = false) => ({ step: n, loss, lr: 1e-3, skipped });

describe('HealthMonitor', () => {
  it('lets a learning run through and stops one whose loss explodes past its running level', () => {
    const health = new HealthMonitor(80); // char-level: uniform guessing scores ln 80 ≈ 4.38
    expect(health.limit).toBeCloseTo(2 * Math.log(80));
    for (let i = 1; i <= 50; i++) health.observe(step(i, 4.4 - i * 0.05)); // falling to 1.9
    health.observe(step(51, 8)); // a spike, still under 2·ln V
    health.observe(step(52, Number.NaN, true)); // skipped non-finite steps are not its business
    expect(() => health.observe(step(53, 1e6))).toThrow(DivergenceError);
    expect(() => health.observe(step(53, 1e6))).toThrow(
      /training loss exploded to 1\.000e\+6 at step 53 \(running level \d\.\d{4}, learning rate 1\.00e-3\): the model has diverged/,
    );
  });

  it('uses three times the running level when that is higher than 2·ln V', () => {
    const health = new HealthMonitor(4096);
    for (let i = 1; i <= 10; i++) health.observe(step(i, 7));
    expect(health.limit).toBeCloseTo(21);
    expect(() => health.observe(step(11, 22))).toThrow(DivergenceError);
  });
});
