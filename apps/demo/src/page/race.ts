// The race: both workers set up with the same seed, data and size, then trained side by side
// (one worker per model, so on two cores they really run at once), their step and validation
// events collected into the history the chart draws.
import {
  type EvalEvent,
  ROLE_LABEL,
  ROLES,
  type Role,
  type StepEvent,
  type TrainOutcome,
} from '../shared/protocol.js';
import { RaceHistory } from '../shared/race-history.js';
import type { RaceSettings } from '../shared/settings.js';
import type { Lab } from './lab.js';

export type RaceState = 'idle' | 'preparing' | 'running' | 'paused' | 'finished' | 'failed';

export class Race {
  state: RaceState = 'idle';
  history = new RaceHistory();
  readonly latestStep: Partial<Record<Role, StepEvent>> = {};
  readonly latestEval: Partial<Record<Role, EvalEvent>> = {};
  /** Each worker's tensor count after each step (the debug panel's leak check, over the run). */
  readonly tensorLog: Record<Role, { step: number; numTensors: number }[]> = {
    primer: [],
    vanilla: [],
  };
  settings: RaceSettings | undefined;
  /** Why the race failed, when it did. */
  error: string | undefined;
  private stopRequested = false;

  constructor(
    private readonly lab: Lab,
    private readonly onChange: () => void,
    private readonly onEnd: () => Promise<void>,
  ) {
    lab.onEvent((event) => {
      if (event.type === 'step') {
        this.latestStep[event.role] = event;
        this.history.addStep(event.role, { step: event.step, ms: event.trainMs, loss: event.loss });
        const log = this.tensorLog[event.role];
        log.push({ step: event.step, numTensors: event.memory.numTensors });
        if (log.length > 1000) log.shift();
        const model = this.lab.models[event.role];
        if (model) model.meta.step = event.step;
      } else if (event.type === 'eval') {
        this.latestEval[event.role] = event;
        this.history.addEval(event.role, { step: event.step, ms: event.trainMs, loss: event.loss });
        const model = this.lab.models[event.role];
        if (model) model.meta.valLoss = event.loss;
      }
    });
  }

  get active(): boolean {
    return this.state === 'preparing' || this.state === 'running' || this.state === 'paused';
  }

  /** Sets up fresh models on `text` and runs the race to the end (or a pause). */
  async start(settings: RaceSettings, text: string, corpusName: string): Promise<void> {
    if (this.active) throw new Error('a race is already under way; stop it first.');
    this.set('preparing');
    this.settings = settings;
    this.error = undefined;
    this.stopRequested = false;
    this.history.clear();
    for (const role of ROLES) {
      delete this.latestStep[role];
      delete this.latestEval[role];
      this.tensorLog[role].length = 0;
    }
    try {
      const summaries = await Promise.all(
        ROLES.map((role) =>
          this.lab.worker(role).rpc.call('setup', {
            role,
            text,
            preset: settings.preset,
            sizes: settings.sizes,
            training: settings.training,
          }),
        ),
      );
      ROLES.forEach((role, i) => {
        const summary = summaries[i]!;
        summary.meta.source = `trained in the browser on ${corpusName}`;
        this.lab.models[role] = summary;
      });
      this.lab.changed();
    } catch (error) {
      this.fail(error);
      return;
    }
    await this.run();
  }

  /** Continues a paused race. */
  async resume(): Promise<void> {
    if (this.state !== 'paused') return;
    await this.run();
  }

  /** Pauses after the current step of each model. */
  async pause(): Promise<void> {
    if (this.state !== 'running') return;
    await this.pauseWorkers();
  }

  /** Ends the race; the models stay for generating and saving. */
  async stop(): Promise<void> {
    if (this.state === 'paused') {
      this.finish();
      await this.onEnd();
    } else if (this.state === 'running') {
      this.stopRequested = true;
      await this.pauseWorkers();
    }
  }

  /** Shows a restored race (from IndexedDB) as finished. */
  restore(history: RaceHistory): void {
    this.history = history;
    this.set(history.empty ? 'idle' : 'finished');
  }

  private async pauseWorkers(): Promise<void> {
    await Promise.all(ROLES.map((role) => this.lab.worker(role).rpc.call('pause', {})));
  }

  private async run(): Promise<void> {
    this.set('running');
    let outcomes: TrainOutcome[];
    try {
      outcomes = await Promise.all(
        ROLES.map((role) =>
          this.lab
            .worker(role)
            .rpc.call('train', {})
            .catch(async (error: Error) => {
              // One racer failed (e.g. its loss diverged): hold the other one too.
              await this.pauseWorkers().catch(() => {});
              throw new Error(`${ROLE_LABEL[role]}: ${error.message}`);
            }),
        ),
      );
    } catch (error) {
      this.fail(error);
      await this.onEnd();
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

  private fail(error: unknown): void {
    this.error = error instanceof Error ? error.message : String(error);
    this.set('failed');
  }

  private set(state: RaceState): void {
    this.state = state;
    this.onChange();
  }
}
