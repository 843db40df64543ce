// Putting back what was kept in IndexedDB when the page loads (or after a failed race restarted
// the workers): the models, the chart, the settings and the text; a race the page was left in the
// middle of is offered to be continued.
import { ROLE_LABEL, ROLES } from '../shared/protocol.js';
import { RaceHistory } from '../shared/race-history.js';
import type { CorpusPanel } from './corpus-panel.js';
import { byId } from './dom.js';
import type { KeepPanel } from './keep-panel.js';
import type { Lab } from './lab.js';
import { continueMessage } from './left-race.js';
import type { Race } from './race.js';
import type { RaceRecord } from './race-record.js';
import type { Saver } from './saver.js';
import type { SettingsForm } from './settings-form.js';
import { restore } from './storage.js';

/** What the page notes beside its panels: set while restoring, read by the status line. */
export interface PageNotes {
  /** The race a reload interrupted, while it can be continued. */
  reloaded: { record: RaceRecord; history: RaceHistory } | undefined;
  /** What the page did after the last failed race (restarted the workers, restored models). */
  failureNote: string;
}

/** The panels that restoring fills. */
export interface RestoreTargets {
  readonly lab: Lab;
  readonly race: Race;
  readonly form: SettingsForm;
  readonly corpus: CorpusPanel;
  readonly saver: Saver;
  readonly keepPanel: KeepPanel;
}

/**
 * Puts back what was kept in IndexedDB. With `announce` (a page load) a race left mid-way is
 * noted in `notes.reloaded` (before the race shows its state, which reads it) and the restored
 * models are said; without (after a failure) the race stays failed. Returns the models restored,
 * in words, and the race they belong to.
 */
export async function restoreWork(
  { lab, race, form, corpus, saver, keepPanel }: RestoreTargets,
  notes: PageNotes,
  { announce }: { announce: boolean },
): Promise<{ restored: string[]; kept: RaceRecord | undefined }> {
  const { models, state } = await restore();
  if (state.form) form.set(state.form);
  if (state.corpus) corpus.useFile(state.corpus.name, state.corpus.text);
  const restored: string[] = [];
  for (const role of ROLES) {
    const checkpoint = models[role];
    if (checkpoint === undefined) continue;
    await lab.load(role, checkpoint);
    if (checkpoint.meta.savedAt !== undefined) {
      saver.lastSaved[role] = {
        step: checkpoint.meta.step,
        savedAt: checkpoint.meta.savedAt,
        ...(checkpoint.meta.raceId !== undefined ? { raceId: checkpoint.meta.raceId } : {}),
      };
    }
    restored.push(`${ROLE_LABEL[role]} (step ${checkpoint.meta.step})`);
  }
  const history = RaceHistory.fromJSON(state.history);
  if (announce && state.race?.state === 'running') {
    // The chart goes back to the checkpoints: what came after them is lost (and said so).
    for (const role of ROLES) {
      const checkpoint = models[role];
      history.rewind(role, checkpoint?.meta.raceId === state.race.id ? checkpoint.meta.step : 0);
    }
    notes.reloaded = { record: state.race, history };
    byId('continue-message').textContent = continueMessage(state.race, models);
  }
  if (announce && state.race?.state === 'failed')
    notes.failureNote = 'The models and the chart are those kept before it.';
  // After a failure the race stays failed; it takes the kept race's settings and chart.
  race.restore(history, state.race, { keepState: !announce });
  if (restored.length > 0 && announce) {
    keepPanel.say(`Restored from this browser: ${restored.join(' and ')}.`);
    byId('keep-status').dataset.restored = String(restored.length);
  }
  return { restored, kept: state.race };
}
