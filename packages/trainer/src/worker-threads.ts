// Data-parallel training in Node: a ReplicaPool of worker threads. The weights go out through one
// SharedArrayBuffer (written by the trainer, read by every replica when its version changes), each
// replica's gradient comes back through a SharedArrayBuffer of its own, and small control
// messages say what to compute. The worker's entry module is the caller's, because it must
// initialise a backend (which this package never names) before it calls `serveReplica()`.
import { parentPort, Worker } from 'node:worker_threads';
import { type Reply, type Request, SharedMemoryPool, serveRequests } from './shared-memory-pool.js';

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
export class WorkerThreadPool extends SharedMemoryPool {
  private readonly workers: Worker[];
  private closing = false;

  constructor({ count, script, workerData }: WorkerThreadsOptions) {
    super(count, 'worker thread');
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

  /** Stops the threads. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  protected post(worker: number, message: Request): void {
    this.workers[worker]!.postMessage(message);
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
  serveRequests(
    (handler) => port.on('message', handler),
    (reply) => port.postMessage(reply),
  );
}
