// What the page says when a worker loses its WebGL context, and the way back: “Resume from the
// last checkpoint” starts a fresh worker and loads the racer's last checkpoint kept in this
// browser — training on from there during a race, or just bringing the model back otherwise.
import { ROLE_LABEL, ROLES, type Role } from '../shared/protocol.js';
import { byId, run } from './dom.js';
import type { Lab } from './lab.js';
import type { Race } from './race.js';
import type { Saver } from './saver.js';
import { restoreModel } from './storage.js';

export class RecoveryPanel {
  private readonly box = byId('recovery');
  private readonly message = byId('recovery-message');
  private readonly button = byId('resume-lost', HTMLButtonElement);
  /** Why the last resume failed, shown until the next one. */
  private problem = '';

  constructor(
    private readonly lab: Lab,
    private readonly race: Race,
    private readonly saver: Saver,
  ) {
    this.button.addEventListener('click', () =>
      run(
        () => this.resume(),
        (message) => {
          this.problem = `Could not resume: ${message}`;
          this.refresh();
        },
      ),
    );
  }

  private lostRoles(): Role[] {
    return ROLES.filter((role) => this.lab.lost[role] !== undefined);
  }

  /** Shows or hides the message and the button (after every change of the page). */
  refresh(): void {
    const lost = this.lostRoles();
    this.box.hidden = lost.length === 0;
    if (lost.length === 0) return;
    const training = this.race.state === 'interrupted';
    this.message.textContent = [
      ...lost.map((role) => {
        const { step, message } = this.lab.lost[role]!;
        const saved = this.saver.lastSaved[role];
        const ofThisRace = saved !== undefined && saved.raceId === this.race.id;
        const from = training
          ? ofThisRace
            ? `Resume from the last checkpoint: step ${saved.step}, kept in this browser at ${new Date(saved.savedAt).toLocaleTimeString()}.`
            : 'No checkpoint of this race was kept yet: Resume starts it again from step 0.'
          : 'Resume brings back the model last kept in this browser, if there is one.';
        return `${ROLE_LABEL[role]} stopped at step ${step}: ${message}. ${from}`;
      }),
      this.problem,
    ]
      .filter(Boolean)
      .join(' ');
    this.button.disabled = this.race.state === 'preparing';
  }

  private async resume(): Promise<void> {
    this.button.disabled = true;
    this.problem = '';
    if (this.race.state === 'interrupted') {
      await this.race.recover(restoreModel);
      return;
    }
    // No race to go on with: bring each lost model back as it was last kept.
    for (const role of this.lostRoles()) {
      await this.lab.restart(role);
      const saved = await restoreModel(role);
      if (saved !== undefined) await this.lab.load(role, saved);
    }
  }
}
