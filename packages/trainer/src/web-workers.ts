// Data-parallel training in the browser: a ReplicaPool of Web Workers, the twin of
// worker-threads.ts. The weights go out through one SharedArrayBuffer (written by the trainer,
// read by every replica when its version changes), each replica's gradient comes back through a
// SharedArrayBuffer of its own, and small control messages say what to compute. SharedArrayBuffer
// exists only where the page is cross-origin isolated (`crossOriginIsolated`: the host sends
// `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`).
// The workers are the caller's to create, because a bundler must see `new Worker(new URL(…))` in
// the app, and their entry module initialises a backend (which this package never names) and
// calls `serveWebReplica()`. Nothing here imports Node.
import { type Reply, type Request, SharedMemoryPool, serveRequests } from './shared-memory-pool.js';

/** What the pool needs of a Web Worker (a `Worker`, or anything that talks the same way). */
export interface WebWorkerLike {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'error', listener: (event: { message?: string }) => void): void;
  terminate(): void;
}

/** What {@link serveWebReplica} needs of the worker's global scope (`self` in a worker). */
export interface WebWorkerScope {
  postMessage(message: unknown): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
}

/** Options of {@link startWebWorkers}. */
export interface WebWorkersOptions {
  /** Web Workers to start (replicas besides the trainer's own model). */
  count: number;
  /**
   * Starts worker `index` (0-based), e.g.
   * `() => new Worker(new URL('./replica.ts', import.meta.url), { type: 'module' })`; its entry
   * module initialises the trainer's backend and the gradients, and calls {@link serveWebReplica}.
   */
  create: (index: number) => WebWorkerLike;
}

/** Whether this context can share memory with workers (a cross-origin isolated page or worker). */
export function canShareMemory(): boolean {
  return (
    typeof SharedArrayBuffer === 'function' &&
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true
  );
}

/**
 * Starts `count` Web Workers as a {@link ReplicaPool} for `Trainer.run` (with
 * `workers: count + 1`). Needs cross-origin isolation ({@link canShareMemory}). Close it when done.
 *
 * @example
 * ```ts
 * // replica.ts: serveWebReplica(self, initBrowserBackend('wasm').then(() => import('@primer-ez/tensor-ops')));
 * const pool = startWebWorkers({
 *   count: 1,
 *   create: () => new Worker(new URL('./replica.ts', import.meta.url), { type: 'module' }),
 * });
 * try {
 *   await new Trainer(model, data, { workers: 2 }).run({ replicas: pool });
 * } finally {
 *   pool.close();
 * }
 * ```
 */
export function startWebWorkers(options: WebWorkersOptions): WebWorkerPool {
  if (!(Number.isInteger(options.count) && options.count >= 1))
    throw new RangeError(`startWebWorkers: count = ${options.count} must be a positive integer.`);
  if (!canShareMemory())
    throw new Error(
      'startWebWorkers: this page is not cross-origin isolated, so it cannot share memory with workers; the host must send Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (or use workers: 1).',
    );
  return new WebWorkerPool(options);
}

/** A {@link ReplicaPool} of Web Workers; see {@link startWebWorkers}. */
export class WebWorkerPool extends SharedMemoryPool {
  private readonly workers: WebWorkerLike[];
  private closed = false;

  constructor({ count, create }: WebWorkersOptions) {
    super(count, 'replica worker');
    this.workers = [];
    for (let i = 0; i < count; i++) {
      const worker = create(i);
      worker.addEventListener('message', (event) => this.settle(event.data as Reply));
      worker.addEventListener('error', (event) =>
        this.fail(i, event.message || 'its script failed to load'),
      );
      this.workers.push(worker);
    }
  }

  /** Stops the workers; a request still waiting rejects. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const worker of this.workers) worker.terminate();
    this.fail(-1, 'the pool of workers was closed');
  }

  protected post(worker: number, message: Request): void {
    this.workers[worker]!.postMessage(message);
  }
}

/**
 * The worker side of {@link startWebWorkers}: call it at the top of the worker's entry module,
 * synchronously (a message that arrives before a listener is lost), with the promise of its
 * backend and gradients being ready. It builds the replica, loads the shared weights when they
 * change, and answers each request in turn, once `ready` resolves. An error — `ready`'s too — is
 * sent back (and fails the pool) rather than swallowed.
 */
export function serveWebReplica(scope: WebWorkerScope, ready: Promise<unknown>): void {
  serveRequests(
    (handler) => scope.addEventListener('message', (event) => handler(event.data)),
    (reply) => scope.postMessage(reply),
    ready,
  );
}
