// What a race has seen of its two racers: the history the chart draws, each racer's latest step
// and validation, each worker's memory after every step, and where each resumed from. The Race
// (race.ts) drives the workers; this keeps their events.
import type { EvalEvent, Role, StepEvent } from '../shared/protocol.js';
import { ROLES } from '../shared/protocol.js';
import { RaceHistory } from '../shared/race-history.js';
import type { Lab } from './lab.js';
import type { MemoryLogEntry } from './race-record.js';

/** Entries of the memory log kept per racer (the oldest go first). */
const MEMORY_LOG_LENGTH = 1000;

export class RaceLog {
  history = new RaceHistory();
  readonly latestStep: Partial<Record<Role, StepEvent>> = {};
  readonly latestEval: Partial<Record<Role, EvalEvent>> = {};
  /**
   * Each worker's `tf.memory()` after each step (the debug panel's leak check over the run; on
   * WebGL with the texture counters).
   */
  readonly tensorLog: Record<Role, MemoryLogEntry[]> = { primer: [], vanilla: [] };
  /** Where each racer last resumed from after a lost context (for the page and the tests). */
  readonly resumedFrom: Partial<Record<Role, number>> = {};

  constructor(protected readonly lab: Lab) {
    lab.onEvent((event) => {
      if (event.type === 'step') {
        this.latestStep[event.role] = event;
        this.history.addStep(event.role, { step: event.step, ms: event.trainMs, loss: event.loss });
        const log = this.tensorLog[event.role];
        log.push({ step: event.step, ...event.memory });
        if (log.length > MEMORY_LOG_LENGTH) log.shift();
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

  /** Forgets what `role` did after `step`: its resumed steps take their place. */
  protected rewind(role: Role, step: number): void {
    this.history.rewind(role, step);
    const log = this.tensorLog[role];
    log.splice(0, log.length, ...log.filter((e) => e.step <= step));
    delete this.latestStep[role];
    delete this.latestEval[role];
  }

  /** Forgets each racer's latest step and validation (the table then shows the models' own). */
  protected forgetLatest(): void {
    for (const role of ROLES) {
      delete this.latestStep[role];
      delete this.latestEval[role];
    }
  }

  /** Forgets everything but the history, for a new race (or one continued after a reload). */
  protected forgetRacers(): void {
    this.forgetLatest();
    for (const role of ROLES) {
      delete this.resumedFrom[role];
      this.tensorLog[role].length = 0;
    }
  }
}
