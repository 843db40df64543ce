// `primer-ez experiment primer-vs-vanilla --seeds 0,1,2`: the per-seed tables (experiment-summary.ts)
// joined into one, paired by seed: mean and spread of each arm's final loss and speed-ups.
import { UsageError } from '../errors.js';
import type { Series } from '../svg.js';
import { type ArmResult, type Curve, summarize } from './experiment-summary.js';

/** Mean, sample standard deviation (null for one value), min and max of `n` values. */
export interface Spread {
  n: number;
  mean: number;
  sd: number | null;
  min: number;
  max: number;
}

/** The {@link Spread} of `xs`, or null when there are none. */
export function spread(xs: readonly number[]): Spread | null {
  const n = xs.length;
  if (n === 0) return null;
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : null;
  return { n, mean, sd, min: Math.min(...xs), max: Math.max(...xs) };
}

/** One seed's finished arms (each trained with that seed, in `OUT/seed-S/`). */
export interface SeedRun {
  seed: number;
  curves: Curve[];
}

/** One arm in one seed, against vanilla of the same seed. */
export interface SeedResult {
  seed: number;
  final: number;
  /** Interpolated step reaching this seed's vanilla final loss; null if not reached or no vanilla. */
  stepToVanillaFinal: number | null;
  stepSpeedup: number | null;
  /** stepSpeedup × (this arm's tokens/s ÷ vanilla's), from the throughput measured in this run. */
  timeSpeedup: number | null;
}

/** One row of the multi-seed table. */
export interface ArmAggregate {
  arm: string;
  perSeed: SeedResult[];
  finalLoss: Spread;
  /** Seeds in which both this arm and vanilla finished. */
  paired: number;
  /** Of those, the seeds in which this arm reached vanilla's final loss. */
  reached: number;
  /** Over the seeds that reached (see {@link reached}). */
  stepSpeedup: Spread | null;
  tokensPerSecond: number | null;
  /** tokensPerSecond ÷ vanilla's tokensPerSecond. */
  throughputRatio: number | null;
  timeSpeedup: Spread | null;
}

/**
 * Joins the seeds: per arm, the spread of its final validation loss over the seeds it finished,
 * and its step speed-up to vanilla's final loss paired by seed (seed S against vanilla seed S,
 * interpolated as in the single-seed table, {@link summarize}). With `throughput` (tokens/s per
 * arm, measured together), the time speed-up of each seed is its step speed-up × the arm's
 * tokens/s ÷ vanilla's.
 *
 * @param order the arms in table order; arms finished in no seed are left out.
 */
export function aggregateSeeds(
  runs: readonly SeedRun[],
  steps: number,
  order: readonly string[],
  throughput?: Readonly<Record<string, number>>,
): ArmAggregate[] {
  const bySeed = runs.map((run) => ({ seed: run.seed, results: summarize(run.curves, steps) }));
  const vanillaRate = throughput?.vanilla;
  return order.flatMap((arm) => {
    const rate = throughput?.[arm];
    const ratio = rate !== undefined && vanillaRate ? rate / vanillaRate : null;
    const perSeed: SeedResult[] = [];
    let paired = 0;
    for (const { seed, results } of bySeed) {
      const r: ArmResult | undefined = results.find((x) => x.arm === arm);
      if (r === undefined) continue;
      if (results.some((x) => x.arm === 'vanilla')) paired++;
      const stepSpeedup = r.interpolatedStepSpeedup;
      perSeed.push({
        seed,
        final: r.final,
        stepToVanillaFinal: r.interpolatedStepToVanillaFinal,
        stepSpeedup,
        timeSpeedup: stepSpeedup !== null && ratio !== null ? stepSpeedup * ratio : null,
      });
    }
    const finalLoss = spread(perSeed.map((s) => s.final));
    if (finalLoss === null) return [];
    const reachedSeeds = perSeed.filter((s) => s.stepSpeedup !== null);
    return [
      {
        arm,
        perSeed,
        finalLoss,
        paired,
        reached: reachedSeeds.length,
        stepSpeedup: spread(reachedSeeds.map((s) => s.stepSpeedup as number)),
        tokensPerSecond: rate ?? null,
        throughputRatio: ratio,
        timeSpeedup: spread(
          reachedSeeds.flatMap((s) => (s.timeSpeedup === null ? [] : [s.timeSpeedup])),
        ),
      },
    ];
  });
}

/** What the multi-seed table says about its run, above the table. */
export interface AggregateMeta {
  command: string;
  seeds: number[];
  steps: number;
  backend: string;
  workers: number;
  corpus: string;
  date: string;
  /** Timed steps per arm for tokens/s (0: not measured). */
  throughputSteps: number;
}

/** The multi-seed table as Markdown, with how to read it. */
export function aggregateMarkdown(meta: AggregateMeta, rows: readonly ArmAggregate[]): string {
  const x = (v: number) => `${v.toFixed(2)}×`;
  const loss = (s: Spread) =>
    `${s.mean.toFixed(4)} ± ${s.sd === null ? '–' : s.sd.toFixed(4)} (${s.min.toFixed(4)}–${s.max.toFixed(4)})`;
  const speed = (s: Spread | null, r: ArmAggregate) => {
    if (r.paired === 0) return '–';
    const range = s === null ? 'never' : `${x(s.mean)} (${x(s.min)}–${x(s.max)})`;
    return r.reached < r.paired ? `${range}; ${r.reached} of ${r.paired} seeds reached` : range;
  };
  const perSeed = (r: ArmAggregate) =>
    r.perSeed
      .map((s) => `${s.seed}: ${s.stepSpeedup === null ? '–' : x(s.stepSpeedup)}`)
      .join(', ');
  const head =
    '| arm | seeds | final val loss: mean ± sd (min–max) | step speed-up: mean (min–max) | per seed | tokens/s | ÷ vanilla | time speed-up: mean (min–max) |';
  const rule = '|---|---:|---:|---:|---|---:|---:|---:|';
  const rows_ = rows.map(
    (r) =>
      `| ${r.arm} | ${r.finalLoss.n} | ${loss(r.finalLoss)} | ${speed(r.stepSpeedup, r)} | ${perSeed(r)} | ${r.tokensPerSecond === null ? '–' : Math.round(r.tokensPerSecond)} | ${r.throughputRatio === null ? '–' : r.throughputRatio.toFixed(3)} | ${r.tokensPerSecond === null ? '–' : speed(r.timeSpeedup, r)} |`,
  );
  const notes = [
    `Step speed-up: ${meta.steps} ÷ the step at which the arm's validation loss reaches the final validation loss of vanilla trained with the same seed (paired by seed; linearly interpolated between evaluations). sd is the sample standard deviation over seeds.`,
    meta.throughputSteps > 0
      ? `tokens/s: measured in this process after the training, ${meta.throughputSteps} timed step${meta.throughputSteps === 1 ? '' : 's'} per arm after warm-up, arms interleaved, on ${meta.backend} with ${meta.workers} worker${meta.workers === 1 ? '' : 's'}. Time speed-up = step speed-up × (the arm's tokens/s ÷ vanilla's). Read the time columns only from a run on a quiet machine.`
      : 'tokens/s: not measured (--throughput-steps 0), so no time speed-up.',
  ];
  return `${[
    `Command: \`${meta.command}\` (seeds ${meta.seeds.join(', ')}; ${meta.steps} steps per arm; corpus ${meta.corpus}; backend ${meta.backend}, ${meta.workers} worker${meta.workers === 1 ? '' : 's'}; ${meta.date})`,
    '',
    head,
    rule,
    ...rows_,
    '',
    ...notes.flatMap((n) => [n, '']),
  ]
    .join('\n')
    .trimEnd()}\n`;
}

/**
 * The chart's lines: each arm's mean validation curve over its seeds (at the steps every seed
 * evaluated), and each seed's curve faintly behind it.
 */
export function seedSeries(runs: readonly SeedRun[], order: readonly string[]): Series[] {
  return order.flatMap((arm) => {
    const curves = runs.flatMap((run) =>
      run.curves.filter((c) => c.arm === arm).map((c) => ({ ...c, seed: run.seed })),
    );
    if (curves.length === 0) return [];
    const steps = curves[0]!.evals
      .map((e) => e.step)
      .filter((step) => curves.every((c) => c.evals.some((e) => e.step === step)));
    const mean: [number, number][] = steps.map((step) => [
      step,
      curves.reduce((a, c) => a + c.evals.find((e) => e.step === step)!.loss, 0) / curves.length,
    ]);
    return [
      ...curves.map((c) => ({
        name: `${arm} seed ${c.seed}`,
        points: c.evals.map((e): [number, number] => [e.step, e.loss]),
        dashed: false,
        group: arm,
        faint: true,
      })),
      { name: `${arm} (mean of ${curves.length})`, points: mean, dashed: false, group: arm },
    ];
  });
}

/**
 * `--seeds`: a comma-separated list of distinct non-negative integers (`0,1,2`).
 * @throws UsageError naming the flag and the bad value.
 */
export function parseSeeds(raw: string): number[] {
  const parts = raw.split(',').map((p) => p.trim());
  const seeds = parts.map((p) => {
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(Number(p)))
      throw new UsageError(
        `experiment: --seeds ${JSON.stringify(raw)}: ${JSON.stringify(p)} is not a non-negative integer; give a comma-separated list such as --seeds 0,1,2.`,
      );
    return Number(p);
  });
  const twice = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (twice !== undefined)
    throw new UsageError(
      `experiment: --seeds ${JSON.stringify(raw)} lists seed ${twice} twice; give each seed once.`,
    );
  return seeds;
}
