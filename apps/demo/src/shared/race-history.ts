// The race's numbers: each model's training and validation losses against steps and training
// time, shaped for the chart (one shared x array, gaps as null), and the verdict — how much
// sooner Primer EZ reaches the vanilla baseline's best validation loss.
import type { Role } from './protocol.js';

/** One measurement: at `step`, after `ms` of training, the loss was `loss`. */
export interface Point {
  step: number;
  ms: number;
  loss: number;
}

/** Everything the chart and the verdict need, per model. */
export interface HistoryData {
  train: Record<Role, Point[]>;
  validation: Record<Role, Point[]>;
}

/** The race so far. Plain data, so it goes into IndexedDB as is. */
export class RaceHistory {
  readonly train: Record<Role, Point[]> = { primer: [], vanilla: [] };
  readonly validation: Record<Role, Point[]> = { primer: [], vanilla: [] };

  addStep(role: Role, point: Point): void {
    this.train[role].push(point);
  }

  addEval(role: Role, point: Point): void {
    this.validation[role].push(point);
  }

  /** Drops `role`'s points after `step` (a racer resumed from its checkpoint at `step`). */
  rewind(role: Role, step: number): void {
    for (const points of [this.train[role], this.validation[role]]) {
      const kept = points.filter((p) => p.step <= step);
      points.splice(0, points.length, ...kept);
    }
  }

  clear(): void {
    for (const role of ['primer', 'vanilla'] as const) {
      this.train[role].length = 0;
      this.validation[role].length = 0;
    }
  }

  /** Whether there is anything to plot. */
  get empty(): boolean {
    return (['primer', 'vanilla'] as const).every(
      (r) => this.train[r].length === 0 && this.validation[r].length === 0,
    );
  }

  toJSON(): HistoryData {
    return { train: this.train, validation: this.validation };
  }

  /** A history from its JSON (e.g. read back from IndexedDB); bad entries are dropped. */
  static fromJSON(data: unknown): RaceHistory {
    const history = new RaceHistory();
    const d = data as Partial<HistoryData> | undefined;
    for (const role of ['primer', 'vanilla'] as const) {
      history.train[role].push(...validPoints(d?.train?.[role]));
      history.validation[role].push(...validPoints(d?.validation?.[role]));
    }
    return history;
  }
}

function validPoints(points: unknown): Point[] {
  if (!Array.isArray(points)) return [];
  return points.filter(
    (p): p is Point =>
      typeof p === 'object' &&
      p !== null &&
      Number.isFinite(p.step) &&
      Number.isFinite(p.ms) &&
      Number.isFinite(p.loss),
  );
}

/**
 * TensorBoard's smoothing: an exponential moving average, debiased so the first values are not
 * pulled towards 0. `weight` 0 returns the values unchanged.
 */
export function smooth(values: readonly number[], weight = 0.9): number[] {
  let average = 0;
  return values.map((v, i) => {
    average = weight * average + (1 - weight) * v;
    return weight === 0 ? v : average / (1 - weight ** (i + 1));
  });
}

/** At most `max` points, evenly strided, always keeping the first and the last. */
export function downsample<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max || max < 2) return [...points];
  const out: T[] = [];
  const stride = (points.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(points[Math.round(i * stride)]!);
  return out;
}

/** The chart's x axis: optimiser steps, or training time in seconds. */
export type Axis = 'step' | 'time';

/** The order of the chart's series after x: the baseline first, so Primer EZ is drawn on top. */
export const SERIES = [
  { role: 'vanilla', kind: 'train' },
  { role: 'vanilla', kind: 'validation' },
  { role: 'primer', kind: 'train' },
  { role: 'primer', kind: 'validation' },
] as const satisfies readonly { role: Role; kind: 'train' | 'validation' }[];

/**
 * uPlot's aligned data: `[x, vanilla train, vanilla validation, primer train, primer validation]`,
 * x sorted and shared, `null` where a series has no point at that x. Training losses are
 * smoothed (`smoothing`) before being thinned to `maxPoints` per series.
 */
export function chartData(
  history: HistoryData,
  axis: Axis,
  { smoothing = 0.9, maxPoints = 1500 }: { smoothing?: number; maxPoints?: number } = {},
): (number | null)[][] {
  const columns = SERIES.map(({ role, kind }) => {
    const points = kind === 'train' ? history.train[role] : history.validation[role];
    const losses =
      kind === 'train'
        ? smooth(
            points.map((p) => p.loss),
            smoothing,
          )
        : undefined;
    const shaped = points.map((p, i) => ({
      x: axis === 'step' ? p.step : p.ms / 1000,
      y: losses ? losses[i]! : p.loss,
    }));
    return downsample(shaped, maxPoints);
  });
  const rows = new Map<number, (number | null)[]>();
  columns.forEach((points, series) => {
    for (const { x, y } of points) {
      let row = rows.get(x);
      if (row === undefined) {
        row = SERIES.map(() => null);
        rows.set(x, row);
      }
      row[series] = y;
    }
  });
  const xs = [...rows.keys()].sort((a, b) => a - b);
  return [xs, ...SERIES.map((_, series) => xs.map((x) => rows.get(x)![series] ?? null))];
}

/** When each model reached the target loss. */
export interface Verdict {
  /**
   * The last step both models have been validated at: the comparison covers their validations
   * after step 0 up to here, so a racer that is a validation ahead counts for nothing yet.
   */
  upTo: number;
  /** The vanilla baseline's best validation loss up to `upTo`. */
  target: number;
  /** Where vanilla first reached it. */
  vanilla: { step: number; ms: number };
  /** Where Primer EZ first reached it, if it has. */
  primer?: { step: number; ms: number };
  /** Primer EZ's best validation loss up to `upTo`. */
  primerBest: number;
  /** vanilla steps / Primer EZ steps to the target (> 1: Primer EZ got there sooner). */
  stepRatio?: number;
  /** The same in training time. */
  timeRatio?: number;
}

/**
 * Compares the runs the way the paper does: how many steps (and how much time) Primer EZ needs
 * to reach the vanilla baseline's best validation loss. The same rule at every moment: only the
 * validations both models have done count (after step 0, up to the last step both have been
 * validated at), so the verdict moves only when both have a new validation. `undefined` until
 * then.
 */
export function verdict(history: HistoryData): Verdict | undefined {
  const lastOf = (points: Point[]) => points.at(-1)?.step ?? 0;
  const upTo = Math.min(lastOf(history.validation.vanilla), lastOf(history.validation.primer));
  const counted = (points: Point[]) => points.filter((p) => p.step > 0 && p.step <= upTo);
  const vanilla = counted(history.validation.vanilla);
  const primer = counted(history.validation.primer);
  if (vanilla.length === 0 || primer.length === 0) return undefined;
  const best = vanilla.reduce((a, b) => (b.loss < a.loss ? b : a));
  const reached = primer.find((p) => p.loss <= best.loss);
  const result: Verdict = {
    upTo,
    target: best.loss,
    vanilla: { step: best.step, ms: best.ms },
    primerBest: Math.min(...primer.map((p) => p.loss)),
  };
  if (reached !== undefined) {
    result.primer = { step: reached.step, ms: reached.ms };
    result.stepRatio = best.step / reached.step;
    if (reached.ms > 0) result.timeRatio = best.ms / reached.ms;
  }
  return result;
}

/**
 * NOTE: training time per step wobbles by several percent (other tabs, the other racer, garbage
 * collection), so a time ratio within 10% of 1 says nothing: the verdict leaves it out.
 */
export const TIME_NOISE = 0.1;

/** Whether a time ratio is a real difference (see {@link TIME_NOISE}). */
export function realTimeDifference(ratio: number | undefined): ratio is number {
  return (
    ratio !== undefined &&
    Number.isFinite(ratio) &&
    Math.abs(Math.log(ratio)) >= Math.log1p(TIME_NOISE)
  );
}

/**
 * Training tokens per second over the last `window` steps (from the cumulative training time of
 * the steps), so the first step — on WebGL, mostly compiling shaders — stops counting after one
 * more step; `undefined` before two steps.
 */
export function recentTokensPerSecond(
  points: readonly Point[],
  tokensPerStep: number,
  window = 20,
): number | undefined {
  if (points.length < 2) return undefined;
  const last = points.at(-1)!;
  const first = points[Math.max(0, points.length - 1 - window)]!;
  const ms = last.ms - first.ms;
  const steps = last.step - first.step;
  if (!(ms > 0) || steps <= 0) return undefined;
  return (tokensPerStep * steps) / (ms / 1000);
}
