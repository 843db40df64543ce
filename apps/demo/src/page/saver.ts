// Saving the work in this browser: both models with the race and the text when a race ends or
// on “Save in this browser”, and each racer's checkpoint after every validation during a race.
// Each save is one IndexedDB transaction (see storage.ts), so a failed one leaves the previous
// save whole; it is reported on the page, and training goes on.
import { type ExportedCheckpoint, ROLE_LABEL, ROLES, type Role } from '../shared/protocol.js';
import type { CorpusPanel } from './corpus-panel.js';
import { byId } from './dom.js';
import type { KeepPanel } from './keep-panel.js';
import type { Lab } from './lab.js';
import type { Race } from './race.js';
import type { SettingsForm } from './settings-form.js';
import { type KeptState, keep, saveProblem } from './storage.js';

/** A model kept in IndexedDB by this page. */
export interface SavedModel {
  step: number;
  savedAt: string;
  raceId?: string;
}

export class Saver {
  /** What this page last kept of each model (what a reload, or a resume, would find). */
  readonly lastSaved: Partial<Record<Role, SavedModel>> = {};
  private readonly status = byId('save-status');
  /**
   * Each model's last failed save, shown until that model is saved again (so that the other
   * model's next checkpoint does not wipe the message); `race` when no model was in it.
   */
  private readonly problems = new Map<Role | 'race', string>();

  constructor(
    private readonly lab: Lab,
    private readonly race: Race,
    private readonly corpus: CorpusPanel,
    private readonly form: SettingsForm,
    private readonly keepPanel: KeepPanel,
  ) {}

  /** Keeps both models, the race and the person's own text; `why` ends the message. */
  async saveAll(why: string | undefined): Promise<void> {
    const models: Partial<Record<Role, ExportedCheckpoint>> = {};
    for (const role of ROLES) {
      const summary = this.lab.models[role];
      if (summary === undefined || this.lab.workers[role] === undefined) continue;
      const exported = await this.lab.worker(role).rpc.call('exportCheckpoint', {});
      exported.meta = { ...summary.meta };
      models[role] = exported;
    }
    if (!(await this.write(models))) return;
    const names = Object.values(models).map(
      (m) => `${ROLE_LABEL[m.meta.role]} (step ${m.meta.step})`,
    );
    this.keepPanel.say(
      `Saved ${names.join(' and ') || 'the race'} in this browser${why ? ` when ${why}` : ''}; it will all be here after a reload.`,
    );
  }

  /** Keeps a racer's checkpoint (a worker's `checkpoint` event); a failure does not stop the race. */
  async checkpoint(role: Role, checkpoint: ExportedCheckpoint): Promise<void> {
    const summary = this.lab.models[role];
    // The validation this checkpoint follows (its event may come just after the checkpoint's).
    const validation = this.race.history.validation[role].find(
      (p) => p.step === checkpoint.meta.step,
    );
    checkpoint.meta = {
      ...checkpoint.meta,
      source: summary?.meta.source ?? checkpoint.meta.source,
      raceId: this.race.id,
      ...(validation !== undefined ? { valLoss: validation.loss } : {}),
    };
    await this.write({ [role]: checkpoint });
  }

  /** Writes the models and the state in one transaction; reports the outcome, true when kept. */
  private async write(models: Partial<Record<Role, ExportedCheckpoint>>): Promise<boolean> {
    const savedAt = new Date().toISOString();
    const entries = Object.entries(models) as [Role, ExportedCheckpoint][];
    for (const [, model] of entries) model.meta.savedAt = savedAt;
    try {
      await keep(models, this.keptState());
    } catch (error) {
      const what = entries.map(([role, m]) => `${ROLE_LABEL[role]} at step ${m.meta.step}`);
      const kept = entries.flatMap(([role]) => {
        const saved = this.lastSaved[role];
        return saved ? [{ role, step: saved.step }] : [];
      });
      const previous =
        kept.length === 1
          ? `step ${kept[0]!.step}`
          : kept.map(({ role, step }) => `${ROLE_LABEL[role]} at step ${step}`).join(', ');
      const message = `Could not save ${what.join(' and ') || 'the race'} in this browser: ${saveProblem(error)} ${
        kept.length > 0
          ? `The previous save (${previous}) is kept as it was.`
          : 'Nothing was saved.'
      }${this.race.active ? ' Training goes on.' : ''}`;
      for (const key of entries.length > 0 ? entries.map(([role]) => role) : ['race' as const])
        this.problems.set(key, message);
      this.showStatus();
      this.keepPanel.say(message, true);
      console.warn(`primer-ez demo: ${message}`);
      return false;
    }
    this.problems.delete('race');
    for (const [role, model] of entries) {
      this.lastSaved[role] = {
        step: model.meta.step,
        savedAt,
        ...(model.meta.raceId !== undefined ? { raceId: model.meta.raceId } : {}),
      };
      const summary = this.lab.models[role];
      if (summary !== undefined && summary.meta.step === model.meta.step)
        summary.meta.savedAt = savedAt;
      this.status.dataset[`${role}Step`] = String(model.meta.step);
      this.problems.delete(role);
    }
    this.showStatus();
    this.lab.changed();
    return true;
  }

  /** The failures not yet made good, then what is kept. */
  private showStatus(): void {
    const kept = ROLES.filter((r) => this.lastSaved[r]).map(
      (r) =>
        `${ROLE_LABEL[r]} at step ${this.lastSaved[r]!.step} (${new Date(this.lastSaved[r]!.savedAt).toLocaleTimeString()})`,
    );
    this.status.textContent = [
      ...new Set(this.problems.values()),
      kept.length > 0 ? `Kept in this browser: ${kept.join(', ')}.` : '',
    ]
      .filter(Boolean)
      .join(' ');
    this.status.classList.toggle('error', this.problems.size > 0);
    if (this.problems.size > 0) this.status.dataset.failed = [...this.problems.keys()].join(' ');
    else delete this.status.dataset.failed;
  }

  private keptState(): KeptState {
    const current = this.corpus.current().corpus;
    const race = this.race.record();
    return {
      ...(race !== undefined ? { race } : {}),
      history: this.race.history.toJSON(),
      corpus:
        current && current.source !== 'moby'
          ? { name: current.name, text: current.text }
          : undefined,
      form: this.form.values(),
    };
  }
}
