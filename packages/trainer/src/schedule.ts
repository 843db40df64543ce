/**
 * Learning-rate schedules. Steps count from 1 (the first optimiser step).
 *
 * - `constant`: `lr`, after an optional linear warmup.
 * - `cosine`: linear warmup over `warmup` steps, then cosine decay to `minRatio·lr` at `totalSteps`.
 * - `noam` (Vaswani et al. 2017, labml's default): `lr · d_model^-0.5 · min(step^-0.5, step·warmup^-1.5)`.
 */
export type Schedule =
  | { type: 'constant'; warmup?: number }
  | { type: 'cosine'; warmup?: number; totalSteps: number; minRatio?: number }
  | { type: 'noam'; warmup: number; dModel: number };

/** The learning rate at `step` (1-based) for base rate `lr`. */
export function learningRate(schedule: Schedule, lr: number, step: number): number {
  const warmup = schedule.warmup ?? 0;
  switch (schedule.type) {
    case 'constant':
      return step < warmup ? (lr * step) / warmup : lr;
    case 'cosine': {
      if (step < warmup) return (lr * step) / warmup;
      const { totalSteps, minRatio = 0.1 } = schedule;
      const span = Math.max(1, totalSteps - warmup);
      const progress = Math.min(1, Math.max(0, (step - warmup) / span));
      return lr * (minRatio + ((1 - minRatio) * (1 + Math.cos(Math.PI * progress))) / 2);
    }
    case 'noam':
      return lr * schedule.dModel ** -0.5 * Math.min(step ** -0.5, step * schedule.warmup ** -1.5);
  }
}

/** Checks a schedule, throwing a RangeError that names the bad field. */
export function validateSchedule(schedule: Schedule): Schedule {
  const bad = (field: string, value: unknown, why: string) =>
    new RangeError(`schedule ${schedule.type}: ${field} = ${JSON.stringify(value)} ${why}.`);
  if (!['constant', 'cosine', 'noam'].includes(schedule.type)) {
    throw new RangeError(
      `schedule: type ${JSON.stringify((schedule as { type: unknown }).type)} must be 'constant', 'cosine' or 'noam'.`,
    );
  }
  const warmup = schedule.warmup ?? 0;
  if (!(Number.isInteger(warmup) && warmup >= 0))
    throw bad('warmup', warmup, 'must be an integer ≥ 0');
  if (schedule.type === 'cosine') {
    if (!(Number.isInteger(schedule.totalSteps) && schedule.totalSteps >= 1)) {
      throw bad(
        'totalSteps',
        schedule.totalSteps,
        'must be a positive integer (the last step of the decay)',
      );
    }
    const m = schedule.minRatio ?? 0.1;
    if (!(m >= 0 && m <= 1)) throw bad('minRatio', m, 'must be in [0, 1]');
  }
  if (schedule.type === 'noam') {
    if (!(warmup >= 1)) throw bad('warmup', warmup, 'must be ≥ 1 for noam');
    if (!(schedule.dModel >= 1)) throw bad('dModel', schedule.dModel, 'must be ≥ 1');
  }
  return schedule;
}
