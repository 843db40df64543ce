// The single-seed table of `primer-ez experiment primer-vs-vanilla`: one arm's curve → one row.

/** One arm's validation curve (and its training time), as trained or read from `finished.json`. */
export interface Curve {
  arm: string;
  evals: { step: number; seconds: number; loss: number }[];
  seconds: number;
  tokensPerSecond: number;
}

/** One row of the results table. */
export interface ArmResult {
  arm: string;
  lossAt: Record<number, number | null>;
  final: number;
  /** First evaluated step whose validation loss is ≤ vanilla's final loss, or null. */
  stepToVanillaFinal: number | null;
  stepSpeedup: number | null;
  /**
   * The step at which the curve crosses vanilla's final loss, linearly interpolated between the
   * evaluation before and the first one at or below it (finer than `--eval-every`), or null.
   */
  interpolatedStepToVanillaFinal: number | null;
  /** The steps trained ÷ {@link interpolatedStepToVanillaFinal}, or null. */
  interpolatedStepSpeedup: number | null;
  timeSpeedup: number | null;
  tokensPerSecond: number;
}

/**
 * The step at which `evals` first reaches `target` (loss ≤ target), linearly interpolated
 * between the evaluation before it and the first evaluation at or below it; null if never.
 * The evaluation at step 0 (no training) never counts as reaching, but starts the first segment.
 *
 * @example stepsToReach([{ step: 0, loss: 4 }, { step: 100, loss: 2 }, { step: 200, loss: 1 }], 1.5) // 150
 */
export function stepsToReach(
  evals: readonly { step: number; loss: number }[],
  target: number,
): number | null {
  const at = evals.findIndex((e) => e.step > 0 && e.loss <= target);
  if (at < 0) return null;
  const reach = evals[at]!;
  const before = evals[at - 1];
  // Nothing to interpolate from when the evaluation before was already at or below the target
  // (only the untrained step 0 can be: later ones would have reached it).
  if (before === undefined || !(before.loss > target)) return reach.step;
  // before.loss > target ≥ reach.loss: the crossing lies in (before.step, reach.step].
  return (
    before.step + ((reach.step - before.step) * (before.loss - target)) / (before.loss - reach.loss)
  );
}

/** The table: loss at fixed steps, and speed-ups to vanilla's final validation loss. */
export function summarize(curves: Curve[], steps: number): ArmResult[] {
  const vanilla = curves.find((c) => c.arm === 'vanilla');
  const target = vanilla?.evals.at(-1)?.loss ?? Number.NEGATIVE_INFINITY;
  const marks = [250, 500, 1000, 1500, 2000].filter((s) => s <= steps);
  return curves.map((c) => {
    const reach = c.evals.find((e) => e.step > 0 && e.loss <= target);
    const interpolated = vanilla ? stepsToReach(c.evals, target) : null;
    const lossAt = Object.fromEntries(
      marks.map((m) => [m, c.evals.find((e) => e.step === m)?.loss ?? null]),
    );
    return {
      arm: c.arm,
      lossAt,
      final: c.evals.at(-1)!.loss,
      stepToVanillaFinal: reach?.step ?? null,
      stepSpeedup: reach ? steps / reach.step : null,
      interpolatedStepToVanillaFinal: interpolated,
      interpolatedStepSpeedup: interpolated === null ? null : steps / interpolated,
      timeSpeedup: reach && vanilla ? vanilla.seconds / reach.seconds : null,
      tokensPerSecond: c.tokensPerSecond,
    };
  });
}

/** The single-seed table as Markdown, headed by the command that made it. */
export function resultsMarkdown(
  meta: Record<string, unknown>,
  results: ArmResult[],
  steps: number,
): string {
  const marks = Object.keys(results[0]?.lossAt ?? {});
  const f = (x: number | null, d = 4) => (x === null ? '–' : x.toFixed(d));
  const cells = (xs: string[]) => xs.map((x) => ` ${x} |`).join('');
  const head = `| arm |${cells(marks.map((m) => `val loss @${m}`))} final | step reaching vanilla's final | step speed-up | time speed-up | tokens/s |`;
  const rule = `|---|${marks.map(() => '---:|').join('')}---:|---:|---:|---:|---:|`;
  const rows = results.map(
    (r) =>
      `| ${r.arm} |${cells(marks.map((m) => f(r.lossAt[Number(m)] ?? null)))} ${f(r.final)} | ${r.stepToVanillaFinal ?? '–'} | ${r.stepSpeedup === null ? '–' : `${r.stepSpeedup.toFixed(2)}×`} | ${r.timeSpeedup === null ? '–' : `${r.timeSpeedup.toFixed(2)}×`} | ${Math.round(r.tokensPerSecond)} |`,
  );
  const about = [`${steps} steps per arm`, `corpus ${meta.corpus}`, `backend ${meta.backend}`];
  if (meta.seed !== undefined) about.push(`seed ${meta.seed}`);
  return `${[`Command: \`${meta.command}\` (${about.join(', ')}, ${meta.date})`, '', head, rule, ...rows].join('\n')}\n`;
}
