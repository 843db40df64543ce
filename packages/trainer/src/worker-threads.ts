// Data-parallel training in Node: a ReplicaPool of worker threads. The weights go out through one
// SharedArrayBuffer (written by the trainer, read by every replica when its version changes), each
// replica's gradient comes back through a SharedArrayBuffer of its own, and small control
// messages say what to compute. The worker's entry module is the caller's, because it must
// initialise a backend (which this package never names) before it calls `serveReplica()`.
import { parentPort, Worker } from 'node:worker_threads';
import type { PrimerConfig } from '@primer-ez/primer-layers';
import {
  type GradientResult,
  type GradientTask,
  Replica,
  type ReplicaPool,
  type WindowShare,
} from './replicas.js';

/** Options of {@link startWorkerThreads}. */
export interface WorkerThreadsOptions {
  /** Worker threads to start (replicas besides the trainer's own model). */
  count: number;
  /**
   * The worker's entry module: it initialises the backend (the same one the trainer uses) and
   * the gradients (`import '@primer-ez/tensor-ops'`), then calls {@link serveReplica}.
   */
  script: URL | string;
  /** Given to the entry module as `workerData` (e.g. which backend to initialise). */
  workerData?: unknown;
}

type Request =
  | {
      type: 'prepare';
      id: number;
      config: PrimerConfig;
      weights: SharedArrayBuffer;
      grads: SharedArrayBuffer;
    }
  | { type: 'gradients'; id: number; version: number; task: GradientTask }
  | { type: 'crossEntropy'; id: number; version: number; share: WindowShare };
type Reply = { id: number; value: number } | { id: number; error: string };

/**
 * Starts `count` worker threads running `script`, as a {@link ReplicaPool} for `Trainer.run`
 * (with `workers: count + 1`). Close it when done: its threads keep the process alive.
 *
 * @example
 * ```ts
 * // replica-worker.js: await initBackend('wasm'); await import('@primer-ez/tensor-ops'); serveReplica();
 * const pool = startWorkerThreads({ count: 1, script: new URL('./replica-worker.js', import.meta.url) });
 * try {
 *   await new Trainer(model, data, { workers: 2 }).run({ replicas: pool });
 * } finally {
 *   await pool.close();
 * }
 * ```
 */
export function startWorkerThreads(options: WorkerThreadsOptions): WorkerThreadPool {
  if (!(Number.isInteger(options.count) && options.count >= 1))
    throw new RangeError(
      `startWorkerThreads: count = ${options.count} must be a positive integer.`,
    );
  return new WorkerThreadPool(options);
}

/** A {@link ReplicaPool} of worker threads; see {@link startWorkerThreads}. */
export class WorkerThreadPool implements ReplicaPool {
  readonly size: number;
  private readonly workers: Worker[];
  private readonly pending = new Map<
    number,
    { resolve: (value: number) => void; reject: (error: Error) => void }
  >();
  private failure: Error | undefined;
  private closing = false;
  private nextId = 0;
  private version = 0;
  private prepared: string | undefined;
  private weights: Float32Array = new Float32Array(0);
  private grads: Float32Array[] = [];

  constructor({ count, script, workerData }: WorkerThreadsOptions) {
    this.size = count;
    this.workers = Array.from({ length: count }, (_, i) => {
      const worker = new Worker(script, { workerData });
      worker.on('message', (reply: Reply) => this.settle(reply));
      worker.on('error', (error) => this.fail(i, error.message));
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(i, `it exited (code ${code})`);
      });
      return worker;
    });
  }

  async prepare(config: PrimerConfig, parameterCount: number): Promise<void> {
    const key = JSON.stringify([config, parameterCount]);
    if (this.prepared === key) return;
    const bytes = parameterCount * Float32Array.BYTES_PER_ELEMENT;
    const weights = new SharedArrayBuffer(bytes);
    const grads = this.workers.map(() => new SharedArrayBuffer(bytes));
    await Promise.all(
      this.workers.map((_, i) =>
        this.request(i, { type: 'prepare', id: 0, config, weights, grads: grads[i]! }),
      ),
    );
    this.weights = new Float32Array(weights);
    this.grads = grads.map((buffer) => new Float32Array(buffer));
    this.prepared = key;
  }

  setWeights(weights: Float32Array): void {
    this.weights.set(weights);
    this.version++;
  }

  gradients(tasks: readonly GradientTask[]): Promise<GradientResult[]> {
    this.checkCount(tasks.length);
    return Promise.all(
      tasks.map((task, i) =>
        this.request(i, { type: 'gradients', id: 0, version: this.version, task }).then((loss) => ({
          loss,
          grads: this.grads[i]!,
        })),
      ),
    );
  }

  crossEntropy(shares: readonly WindowShare[]): Promise<number[]> {
    this.checkCount(shares.length);
    return Promise.all(
      shares.map((share, i) =>
        this.request(i, { type: 'crossEntropy', id: 0, version: this.version, share }),
      ),
    );
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private checkCount(n: number): void {
    if (n > this.size) throw new RangeError(`${n} tasks for a pool of ${this.size} replicas.`);
  }

  private request(worker: number, message: Request): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.nextId;
    return new Promise<number>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[worker]!.postMessage({ ...message, id });
    });
  }

  private settle(reply: Reply): void {
    const waiting = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if ('error' in reply) {
      this.fail(-1, reply.error);
      waiting?.reject(this.failure!);
    } else waiting?.resolve(reply.value);
  }

  /** A failed thread fails the pool: every waiting and later request rejects with its error. */
  private fail(worker: number, why: string): void {
    this.failure ??= new Error(
      worker >= 0 ? `worker thread ${worker + 1} of ${this.size} failed: ${why}` : why,
    );
    for (const { reject } of this.pending.values()) reject(this.failure);
    this.pending.clear();
  }
}

/**
 * The worker side of {@link startWorkerThreads}: call it from the worker's entry module once the
 * backend is ready. It builds the replica, loads the shared weights when they change, and answers
 * each request in turn. An error is sent back (and fails the pool) rather than swallowed.
 */
export function serveReplica(): void {
  const port = parentPort;
  if (port === null) throw new Error('serveReplica: call it in a worker thread.');
  let replica: Replica | undefined;
  let weights: Float32Array = new Float32Array(0);
  let grads: Float32Array = new Float32Array(0);
  let loaded = -1;
  const sync = (version: number) => {
    if (version !== loaded) replica!.load(weights);
    loaded = version;
  };
  const handle = async (m: Request): Promise<number> => {
    if (m.type === 'prepare') {
      replica?.dispose();
      replica = new Replica(m.config);
      weights = new Float32Array(m.weights);
      grads = new Float32Array(m.grads);
      loaded = -1;
      return 0;
    }
    if (replica === undefined) throw new Error(`internal: ${m.type} before prepare`);
    sync(m.version);
    return m.type === 'gradients'
      ? replica.gradients(m.task, grads)
      : replica.crossEntropy(m.share);
  };
  let queue = Promise.resolve();
  port.on('message', (m: Request) => {
    queue = queue.then(() =>
      handle(m).then(
        (value) => port.postMessage({ id: m.id, value } satisfies Reply),
        (error: Error) =>
          port.postMessage({ id: m.id, error: error?.message ?? String(error) } satisfies Reply),
      ),
    );
  });
}
