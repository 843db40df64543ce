// The race in words and numbers: the table of latest values (what the chart shows, readable by
// everyone), and the verdict — how much sooner Primer EZ reached vanilla's best validation loss.
import { formatCount, formatDuration, formatLoss, formatRatio } from '../shared/format.js';
import { ROLES } from '../shared/protocol.js';
import { verdict } from '../shared/race-history.js';
import { byId } from './dom.js';
import type { Lab } from './lab.js';
import type { Race } from './race.js';

/** The verdict as a sentence. */
export function verdictText(race: Race): string {
  const v = verdict(race.history.toJSON());
  if (v === undefined) return 'The verdict appears once both models have been validated.';
  const target = `vanilla's best validation loss (${formatLoss(v.target)}, at step ${v.vanilla.step} after ${formatDuration(v.vanilla.ms)})`;
  if (v.primer === undefined)
    return `Primer EZ has not reached ${target} yet; its best so far is ${formatLoss(v.primerBest)}.`;
  const ratios = [
    v.stepRatio !== undefined && v.stepRatio > 1 ? `${formatRatio(v.stepRatio)} fewer steps` : '',
    v.timeRatio !== undefined && v.timeRatio > 1
      ? `${formatRatio(v.timeRatio)} less training time`
      : '',
  ].filter(Boolean);
  return `Primer EZ reached ${target} at step ${v.primer.step}, after ${formatDuration(v.primer.ms)}${ratios.length ? `: ${ratios.join(' and ')}` : ''}.`;
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
    cell('speed').textContent = step ? formatCount(step.tokensPerSecond) : '—';
    cell('time').textContent = step ? formatDuration(step.trainMs) : '—';
  }
  byId('verdict').textContent = verdictText(race);
}
