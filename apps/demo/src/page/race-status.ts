// The race's status line: what the race is doing, in one sentence for each state.
import { formatLoss } from '../shared/format.js';
import { ROLE_LABEL, ROLES } from '../shared/protocol.js';
import type { Lab } from './lab.js';
import type { Race } from './race.js';

/** The status line for the race's state; `failureNote` says what the page did after a failure. */
export function raceStatusText(race: Race, lab: Lab, failureNote: string): string {
  const steps = ROLES.map((role) => `${ROLE_LABEL[role]} step ${race.latestStep[role]?.step ?? 0}`);
  const losses = ROLES.map(
    (role) =>
      `${ROLE_LABEL[role]} ${formatLoss(race.latestEval[role]?.loss ?? lab.models[role]?.meta.valLoss)}`,
  );
  return {
    idle: 'Choose the settings and press Start race.',
    preparing: 'Preparing: building the tokenizer, both models and their trainers…',
    running: `Racing on ${lab.backend?.backend ?? 'the backend'}: both models are training.${race.resumeNote ? ` ${race.resumeNote}` : ''}`,
    paused: race.pausedFor
      ? `Paused ${race.pausedFor} (${steps.join(', ')}); the race goes on when it is done.`
      : `Paused (${steps.join(', ')}). Resume, or Stop to end the race.`,
    interrupted: `Interrupted: ${ROLES.filter((role) => lab.lost[role])
      .map((role) => ROLE_LABEL[role])
      .join(
        ' and ',
      )} lost the WebGL context; the race waits. Resume from the last checkpoint (below), or Stop to end the race.`,
    finished: `Finished. Validation loss: ${losses.join(', ')}.`,
    failed: `Failed: ${race.error ?? 'unknown error'}${failureNote ? ` ${failureNote}` : ''}`,
    reloaded:
      'Interrupted by a reload of the page: continue the race from its last checkpoint (below), or start a new one.',
  }[race.state];
}
