// The race in words and numbers: the table of latest values (what the chart shows, readable by
// everyone), and the verdict — how much sooner Primer EZ reached vanilla's best validation loss.
import { formatCount, formatDuration, formatLoss, formatRatio } from '../shared/format.js';
import { ROLES } from '../shared/protocol.js';
import { realTimeDifference, verdict } from '../shared/race-history.js';
import { byId } from './dom.js';
import type { Lab } from './lab.js';
import type { Race } from './race.js';

/**
 * The verdict as a sentence, by one rule at every moment (see `verdict`): only validations both
 * models have done count; training time is named only when the difference is real.
 */
export function verdictText(race: Race): string {
  const v = verdict(race.history.toJSON());
  if (v === undefined) return 'The verdict appears once both models have been validated.';
  const ongoing = race.active || race.state === 'reloaded';
  const over = ongoing ? `so far (both validated to step ${v.upTo})` : 'of the race';
  const target = `vanilla's best validation loss ${over} (${formatLoss(v.target)} at step ${v.vanilla.step})`;
  if (v.primer === undefined) {
    const behind = `Primer EZ's best is ${formatLoss(v.primerBest)}`;
    return ongoing
      ? `Primer EZ has not reached ${target} yet: ${behind}.`
      : `Primer EZ did not reach ${target}: ${behind}.`;
  }
  const steps =
    v.stepRatio === undefined || v.stepRatio === 1
      ? 'in as many steps'
      : v.stepRatio > 1
        ? `${formatRatio(v.stepRatio)} fewer steps`
        : `${formatRatio(1 / v.stepRatio)} more steps`;
  const time = realTimeDifference(v.timeRatio)
    ? v.timeRatio > 1
      ? ` and ${formatRatio(v.timeRatio)} less training time`
      : ` but ${formatRatio(1 / v.timeRatio)} more training time`
    : '';
  return `Primer EZ reached ${target} at step ${v.primer.step}: ${steps}${time}.`;
}

export function updateScoreboard(race: Race, lab: Lab): void {
  for (const role of ROLES) {
    const row = byId(`row-${role}`);
    const cell = (name: string) => row.querySelector<HTMLElement>(`[data-cell="${name}"]`)!;
    const step = race.latestStep[role];
    const evaluation = race.latestEval[role];
    const model = lab.models[role];
    cell('params').textContent = model ? formatCount(model.parameterCount) : '—';
    const current = step?.step ?? model?.meta.step;
    const total = step?.totalSteps ?? race.settings?.training.steps;
    cell('step-text').textContent =
      current === undefined ? '—' : total ? `${current} / ${total}` : String(current);
    const progress = byId(`progress-${role}`, HTMLProgressElement);
    progress.max = total ?? 1;
    progress.value = current ?? 0;
    cell('loss').textContent = formatLoss(step?.loss);
    cell('val').textContent = formatLoss(evaluation?.loss ?? model?.meta.valLoss);
    const rate = race.active || race.state === 'finished' ? race.recentRate(role) : undefined;
    cell('speed').textContent = rate !== undefined ? formatCount(rate) : '—';
    cell('time').textContent = step ? formatDuration(step.trainMs) : '—';
  }
  byId('verdict').textContent = verdictText(race);
}
