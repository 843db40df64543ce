// The two workers (one per racer) and what each holds. Changing the device starts two new
// workers and moves the models over as checkpoint files (the optimiser state stays behind, so a
// moved model is for generating, scoring and saving). A worker whose WebGL context is lost is
// ended at once (its tensors are gone) and can be restarted on its own.
import type { BackendInfo, BrowserDevice } from '@primer-ez/backend-browser';
import {
  type ExportedCheckpoint,
  type ModelSummary,
  ROLE_LABEL,
  ROLES,
  type Role,
  type WorkerEvent,
} from '../shared/protocol.js';
import { ModelWorker } from './model-worker.js';

export class Lab {
  device: BrowserDevice = 'auto';
  readonly workers: Partial<Record<Role, ModelWorker>> = {};
  readonly models: Partial<Record<Role, ModelSummary>> = {};
  private readonly eventListeners = new Set<(event: WorkerEvent) => void>();
  private readonly changeListeners = new Set<() => void>();
  private readonly lostListeners = new Set<(role: Role) => void>();
  /** Racers whose worker lost its WebGL context, with the step they had reached. */
  readonly lost: Partial<Record<Role, { message: string; step: number }>> = {};
  /** Models on their way to new workers (kept if those fail to start, for the next try). */
  private carried: Partial<Record<Role, ExportedCheckpoint>> = {};

  constructor(private readonly onCrash: (message: string) => void) {}

  /** The backend the workers run on (both pick the same). */
  get backend(): BackendInfo | undefined {
    return (this.workers.primer ?? this.workers.vanilla)?.info;
  }

  /** Listens to both workers' events. */
  onEvent(listener: (event: WorkerEvent) => void): void {
    this.eventListeners.add(listener);
  }

  /** Listens to changes of backend or models. */
  onChange(listener: () => void): void {
    this.changeListeners.add(listener);
  }

  /** Listens to lost WebGL contexts (after the worker has been ended). */
  onLost(listener: (role: Role) => void): void {
    this.lostListeners.add(listener);
  }

  changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  /** The worker of a racer; throws when the backend is not up. */
  worker(role: Role): ModelWorker {
    const worker = this.workers[role];
    if (worker === undefined) {
      throw new Error(
        this.lost[role]
          ? `${ROLE_LABEL[role]} lost its WebGL context: press “Resume from the last checkpoint” first.`
          : 'the backend is not ready yet.',
      );
    }
    return worker;
  }

  /**
   * Starts both workers on `device`, moving any models from the previous ones (`carry`; a model
   * its worker can no longer export is left behind, and named in `dropped`). Without `carry` the
   * models go with the old workers (after a failure: their state is not to be trusted).
   */
  async start(
    device: BrowserDevice,
    { carry = true }: { carry?: boolean } = {},
  ): Promise<BackendInfo & { dropped: Role[] }> {
    const dropped: Role[] = [];
    for (const role of ROLES) {
      if (!carry || this.models[role] === undefined || this.workers[role] === undefined) continue;
      try {
        this.carried[role] = await this.worker(role).rpc.call('exportCheckpoint', {});
      } catch {
        dropped.push(role);
      }
    }
    if (!carry) this.carried = {};
    this.stop();
    this.device = device;
    this.changed();
    const started = await Promise.allSettled(
      ROLES.map((role) =>
        ModelWorker.start(role, device, (r, message) => {
          this.onCrash(`${ROLE_LABEL[r]} worker: ${message}`);
        }),
      ),
    );
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) {
      for (const s of started) if (s.status === 'fulfilled') s.value.terminate();
      this.changed();
      throw failed.reason;
    }
    ROLES.forEach((role, i) => {
      this.attach(role, (started[i] as PromiseFulfilledResult<ModelWorker>).value);
    });
    const carried = this.carried;
    this.carried = {};
    for (const [role, checkpoint] of Object.entries(carried) as [Role, ExportedCheckpoint][]) {
      await this.load(role, checkpoint);
    }
    this.changed();
    return { ...this.backend!, dropped };
  }

  /** Starts a fresh worker for one racer on the current device (after a lost context). */
  async restart(role: Role): Promise<ModelWorker> {
    this.workers[role]?.terminate();
    delete this.workers[role];
    const worker = await ModelWorker.start(role, this.device, (r, message) => {
      this.onCrash(`${ROLE_LABEL[r]} worker: ${message}`);
    });
    this.attach(role, worker);
    delete this.lost[role];
    this.changed();
    return worker;
  }

  private attach(role: Role, worker: ModelWorker): void {
    worker.rpc.onEvent((event) => {
      if (event.type === 'lost') this.markLost(role, event.message);
      else for (const listener of this.eventListeners) listener(event);
    });
    this.workers[role] = worker;
  }

  /** Ends a worker whose WebGL context is lost: nothing it holds can be computed with again. */
  private markLost(role: Role, message: string): void {
    const worker = this.workers[role];
    if (worker === undefined) return;
    this.lost[role] = { message, step: this.models[role]?.meta.step ?? 0 };
    worker.terminate();
    delete this.workers[role];
    delete this.models[role];
    for (const listener of this.lostListeners) listener(role);
    this.changed();
  }

  /** Loads a checkpoint into a racer's worker. */
  async load(role: Role, checkpoint: ExportedCheckpoint): Promise<ModelSummary> {
    const summary = await this.worker(role).rpc.call('loadCheckpoint', checkpoint);
    this.models[role] = summary;
    this.changed();
    return summary;
  }

  /** Ends both workers (their models go with them). */
  stop(): void {
    for (const role of ROLES) {
      this.workers[role]?.terminate();
      delete this.workers[role];
      delete this.models[role];
      delete this.lost[role];
    }
  }
}
