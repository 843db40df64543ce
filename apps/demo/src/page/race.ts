// The race: both workers set up with the same seed, data and size, then trained side by side
// (one worker per model, so on two cores they really run at once), their step and validation
// events collected (race-log.ts) into the history the chart draws. When a worker loses its WebGL
// context the race is interrupted — the other racer waits — until `recover` restarts that worker
// from the racer's last checkpoint kept in IndexedDB.
import {
  type ExportedCheckpoint,
  type ModelSummary,
  ROLE_LABEL,
  ROLES,
  type Role,
  type TrainOutcome,
} from '../shared/protocol.js';
import { type RaceHistory, recentTokensPerSecond } from '../shared/race-history.js';
import type { RaceSettings } from '../shared/settings.js';
import type { Lab } from './lab.js';
import type { ModelWorker } from './model-worker.js';
import { RaceLog } from './race-log.js';
import { explainFailure, newRaceId, type RaceRecord, type RaceState } from './race-record.js';

export type { MemoryLogEntry, RaceRecord, RaceState } from './race-record.js';

export class Race extends RaceLog {
  state: RaceState = 'idle';
  /** Tells a checkpoint of this race from an older one kept in IndexedDB. */
  id = '';
  settings: RaceSettings | undefined;
  /** Why the race failed, when it did. */
  error: string | undefined;
  /** Why the race is paused by the page rather than by the person (e.g. to generate text). */
  pausedFor: string | undefined;
  /** What the last resume (after a lost context or a reload) trained again, in words. */
  resumeNote: string | undefined;
  private text = '';
  private corpusName = '';
  private stopRequested = false;

  constructor(
    lab: Lab,
    private readonly onChange: () => void,
    private readonly onEnd: () => Promise<void>,
  ) {
    super(lab);
    lab.onLost(() => {
      if (this.state === 'running') void this.pauseWorkers().catch(() => {});
      else if (this.state === 'paused') this.set('interrupted');
    });
  }

  get active(): boolean {
    return (
      this.state === 'preparing' ||
      this.state === 'running' ||
      this.state === 'paused' ||
      this.state === 'interrupted'
    );
  }

  /** Sets up fresh models on `text` and runs the race to the end (or a pause). */
  async start(settings: RaceSettings, text: string, corpusName: string): Promise<void> {
    if (this.active) throw new Error('a race is already under way; stop it first.');
    this.set('preparing');
    this.begin(settings, text, corpusName, newRaceId());
    this.history.clear();
    try {
      await Promise.all(ROLES.map((role) => this.setUp(role)));
      this.lab.changed();
    } catch (error) {
      this.fail(error);
      return;
    }
    await this.run();
  }

  /**
   * After a lost WebGL context: starts a fresh worker for each lost racer, on the same device,
   * loads its last checkpoint of this race (`saved`, read from IndexedDB) with the trainer's
   * state, forgets its steps after that checkpoint, and runs the race on. A racer with no
   * checkpoint of this race starts again from step 0 (same seed, same start).
   */
  async recover(saved: (role: Role) => Promise<ExportedCheckpoint | undefined>): Promise<void> {
    if (this.state !== 'interrupted' || this.settings === undefined) return;
    this.set('preparing');
    try {
      for (const role of ROLES) {
        if (this.lab.lost[role] === undefined) continue;
        const worker = await this.lab.restart(role);
        await this.resumeRacer(role, worker, await saved(role));
      }
      this.lab.changed();
    } catch (error) {
      this.fail(new Error(`could not resume: ${(error as Error).message}`));
      return;
    }
    await this.run();
  }

  /**
   * Continues a race the page was reloaded in: each racer resumes from its checkpoint of that race
   * kept in IndexedDB (`saved`; weights, optimiser moments, data position), or starts again from
   * step 0 when none was kept; their steps after it are dropped from `history` (the kept one) and
   * trained again, the same way.
   */
  async continueAfterReload(
    record: RaceRecord,
    text: string,
    history: RaceHistory,
    saved: Partial<Record<Role, ExportedCheckpoint>>,
  ): Promise<void> {
    if (this.active) throw new Error('a race is already under way; stop it first.');
    this.set('preparing');
    this.begin(record.settings, text, record.corpusName, record.id);
    this.history = history;
    try {
      for (const role of ROLES) await this.resumeRacer(role, this.lab.worker(role), saved[role]);
      this.lab.changed();
    } catch (error) {
      this.fail(new Error(`could not continue the race: ${(error as Error).message}`));
      return;
    }
    await this.run();
  }

  /** Resets the race's bookkeeping for a race (new, or continued after a reload). */
  private begin(settings: RaceSettings, text: string, corpusName: string, id: string): void {
    this.settings = settings;
    this.id = id;
    this.text = text;
    this.corpusName = corpusName;
    this.error = undefined;
    this.pausedFor = undefined;
    this.resumeNote = undefined;
    this.stopRequested = false;
    this.forgetRacers();
  }

  /** The race as kept with each save (undefined before the first race). */
  record(): RaceRecord | undefined {
    if (this.settings === undefined || this.id === '') return undefined;
    return {
      id: this.id,
      // A race left by a reload stays one that can be continued until it is ended.
      state:
        this.active || this.state === 'reloaded'
          ? 'running'
          : this.state === 'failed'
            ? 'failed'
            : 'finished',
      settings: this.settings,
      corpusName: this.corpusName,
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }

  /** Tokens per second of `role` over its last 20 steps (see `recentTokensPerSecond`). */
  recentRate(role: Role): number | undefined {
    const training = this.settings?.training;
    if (training === undefined) return undefined;
    return recentTokensPerSecond(this.history.train[role], training.batchSize * training.seqLen);
  }

  private async setUp(role: Role): Promise<void> {
    const settings = this.settings!;
    this.adopt(
      role,
      await this.lab.worker(role).rpc.call('setup', {
        role,
        text: this.text,
        preset: settings.preset,
        sizes: settings.sizes,
        training: settings.training,
      }),
    );
  }

  /**
   * Puts `role` back at `checkpoint` when it is one of this race's (weights, optimiser moments,
   * data position), else sets it up afresh at step 0; its steps after that are forgotten.
   */
  private async resumeRacer(
    role: Role,
    worker: ModelWorker,
    checkpoint: ExportedCheckpoint | undefined,
  ): Promise<void> {
    let from = 0;
    if (checkpoint?.meta.raceId === this.id && checkpoint.training !== undefined) {
      this.adopt(
        role,
        await worker.rpc.call('resume', {
          checkpoint,
          text: this.text,
          evalEvery: this.settings!.training.evalEvery,
        }),
      );
      from = checkpoint.meta.step;
    } else {
      await this.setUp(role);
    }
    this.rewind(role, from);
    this.resumedFrom[role] = from;
  }

  private adopt(role: Role, summary: ModelSummary): void {
    summary.meta.source = `trained in the browser on ${this.corpusName}`;
    summary.meta.raceId = this.id;
    this.lab.models[role] = summary;
  }

  /** Continues a paused race. */
  async resume(): Promise<void> {
    if (this.state !== 'paused') return;
    this.pausedFor = undefined;
    await this.run();
  }

  /**
   * Pauses after the current step of each model; resolves once both have stopped. `why` says
   * that the page paused it (e.g. "while text is generated"), not the person.
   */
  async pause(why?: string): Promise<void> {
    if (this.state !== 'running') return;
    this.pausedFor = why;
    const paused = new Promise<void>((resolve) => this.whenSettled.push(resolve));
    await this.pauseWorkers();
    await paused;
  }

  /** Resolved when `run` returns (paused, finished, failed or interrupted). */
  private whenSettled: (() => void)[] = [];

  /** Ends the race; the models stay for generating and saving. */
  async stop(): Promise<void> {
    if (this.state === 'paused' || this.state === 'interrupted') {
      this.finish();
      await this.onEnd();
    } else if (this.state === 'running') {
      this.stopRequested = true;
      await this.pauseWorkers();
    }
  }

  /**
   * Shows a restored race (from IndexedDB): finished, or failed with its reason; a race that was
   * running when the page was left shows as interrupted-by-reload (`continueAfterReload` goes on).
   */
  restore(
    history: RaceHistory,
    record: RaceRecord | undefined,
    { keepState = false }: { keepState?: boolean } = {},
  ): void {
    this.history = history;
    // The table shows the restored models' numbers, not those of a race that failed meanwhile.
    this.forgetLatest();
    if (record !== undefined) {
      this.settings = record.settings;
      this.id = record.id;
      this.corpusName = record.corpusName;
      if (!keepState) this.error = record.error;
    }
    if (keepState) this.onChange();
    else if (record?.state === 'failed') this.set('failed');
    else if (record?.state === 'running') this.set('reloaded');
    else this.set(history.empty ? 'idle' : 'finished');
  }

  /** Ends a race left by a reload without continuing it: its kept models stay. */
  endReloaded(): void {
    if (this.state === 'reloaded') this.set('finished');
  }

  /** Pauses the workers there are (a lost racer has none). */
  private async pauseWorkers(): Promise<void> {
    await Promise.all(ROLES.map((role) => this.lab.workers[role]?.rpc.call('pause', {})));
  }

  private async train(role: Role): Promise<TrainOutcome> {
    try {
      return await this.lab.worker(role).rpc.call('train', {});
    } catch (error) {
      // A lost context ends the worker, and with it this call: the race waits for a resume.
      const lost = this.lab.lost[role];
      if (lost !== undefined) return { reason: 'lost', step: lost.step };
      // One racer failed (e.g. its loss diverged): hold the other one too.
      await this.pauseWorkers().catch(() => {});
      throw new Error(`${ROLE_LABEL[role]}: ${(error as Error).message}`);
    }
  }

  private async run(): Promise<void> {
    try {
      await this.runOnce();
    } finally {
      for (const resolve of this.whenSettled.splice(0)) resolve();
    }
  }

  private async runOnce(): Promise<void> {
    this.set('running');
    let outcomes: TrainOutcome[];
    try {
      outcomes = await Promise.all(ROLES.map((role) => this.train(role)));
    } catch (error) {
      // Nothing is saved: the models of a failed step are not to be kept over good ones.
      this.fail(error);
      return;
    }
    if (outcomes.some((o) => o.reason === 'lost')) {
      this.set('interrupted');
      return;
    }
    for (const role of ROLES) {
      const model = this.lab.models[role];
      if (model) model.trainable = outcomes[ROLES.indexOf(role)]!.reason === 'paused';
    }
    if (outcomes.every((o) => o.reason === 'finished') || this.stopRequested) {
      this.finish();
      await this.onEnd();
    } else {
      this.set('paused');
    }
  }

  private finish(): void {
    for (const role of ROLES) {
      const model = this.lab.models[role];
      if (model) model.trainable = false;
    }
    this.set('finished');
  }

  /** Marks the race failed (the page restarts the workers: see main.ts). */
  fail(error: unknown): void {
    this.error = explainFailure(error instanceof Error ? error.message : String(error));
    this.set('failed');
  }

  private set(state: RaceState): void {
    this.state = state;
    this.onChange();
  }
}
