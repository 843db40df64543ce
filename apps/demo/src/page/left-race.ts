// A race the page was left in the middle of (a reload, a closed tab): where it stood when the page
// went away is noted in localStorage, so that the next load can say what was kept and what lost.
import { type ExportedCheckpoint, ROLE_LABEL, ROLES, type Role } from '../shared/protocol.js';
import type { Race } from './race.js';
import type { RaceRecord } from './race-record.js';

const LEFT_RACE_KEY = 'primer-ez-demo:left-race';

/** Notes how far each racer of an active race got, as the page is left. */
export function noteLeftRace(race: Race): void {
  if (!race.active) return;
  const steps = Object.fromEntries(
    ROLES.map((role) => [role, race.history.train[role].at(-1)?.step ?? 0]),
  );
  localStorage.setItem(LEFT_RACE_KEY, JSON.stringify({ id: race.id, steps }));
}

/** Forgets the note (once the page has read it). */
export function forgetLeftRace(): void {
  localStorage.removeItem(LEFT_RACE_KEY);
}

/** What a reload mid-race kept and lost, in words. */
export function continueMessage(
  record: RaceRecord,
  models: Partial<Record<Role, ExportedCheckpoint>>,
): string {
  let left: { id?: string; steps?: Partial<Record<Role, number>> } = {};
  try {
    left = JSON.parse(localStorage.getItem(LEFT_RACE_KEY) ?? '{}');
  } catch {
    // Nothing known about where the race was when the page was left.
  }
  const reached = left.id === record.id ? left.steps : undefined;
  const kept: string[] = [];
  const lost: string[] = [];
  for (const role of ROLES) {
    const checkpoint = models[role];
    const ofRace = checkpoint?.meta.raceId === record.id && checkpoint.training !== undefined;
    const from = ofRace ? checkpoint.meta.step : 0;
    if (ofRace) kept.push(`${ROLE_LABEL[role]} at step ${from}`);
    const at = reached?.[role];
    if (at !== undefined && at > from)
      lost.push(
        `${ROLE_LABEL[role]} ${at === from + 1 ? `step ${at}` : `steps ${from + 1}–${at}`}`,
      );
    else if (!ofRace) lost.push(`everything of ${ROLE_LABEL[role]} (it starts again from step 0)`);
  }
  const { training } = record.settings;
  return [
    `The page was reloaded during a race (${record.corpusName}, ${record.settings.preset}, ${training.steps} steps).`,
    kept.length > 0
      ? `Kept in this browser: ${kept.join(' and ')}, with the optimiser state and the data position (saved after each validation).`
      : 'Nothing of this race had been kept yet (a model is saved after each validation).',
    lost.length > 0
      ? `Lost: ${lost.join(', ')}, and their training time. Continuing trains them again, the same way (same seed, same batches).`
      : reached === undefined
        ? 'Lost: whatever was trained after the last validation; continuing trains it again, the same way.'
        : 'Nothing was lost.',
  ].join(' ');
}
