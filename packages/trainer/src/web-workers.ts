// Data-parallel training in the browser: a ReplicaPool of Web Workers, the twin of
// worker-threads.ts. The weights go out through one SharedArrayBuffer (written by the trainer,
// read by every replica when its version changes), each replica's gradient comes back through a
// SharedArrayBuffer of its own, and small control messages say what to compute. SharedArrayBuffer
// exists only where the page is cross-origin isolated (`crossOriginIsolated`: the host sends
// `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`).
// The workers are the caller's to create, because a bundler must see `new Worker(new URL(…))` in
// the app, and their entry module initialises a backend (which this package never names) and
// calls `serveWebReplica()`. Nothing here imports Node.
import type { PrimerConfig } from '@primer-ez/primer-layers';
import {
  type GradientResult,
  type GradientTask,
  Replica,
  type ReplicaPool,
  type WindowShare,
} from './replicas.js';

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
export class WebWorkerPool implements ReplicaPool {
  readonly size: number;
  private readonly workers: WebWorkerLike[];
  private readonly pending = new Map<
    number,
    { resolve: (value: number) => void; reject: (error: Error) => void }
  >();
  private failure: Error | undefined;
  private closed = false;
  private nextId = 0;
  private version = 0;
  private prepared: string | undefined;
  private weights: Float32Array = new Float32Array(0);
  private grads: Float32Array[] = [];

  constructor({ count, create }: WebWorkersOptions) {
    this.size = count;
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

  /** Stops the workers; a request still waiting rejects. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const worker of this.workers) worker.terminate();
    this.fail(-1, 'the pool of workers was closed');
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

  /** A failed worker fails the pool: every waiting and later request rejects with its error. */
  private fail(worker: number, why: string): void {
    this.failure ??= new Error(
      worker >= 0 ? `replica worker ${worker + 1} of ${this.size} failed: ${why}` : why,
    );
    for (const { reject } of this.pending.values()) reject(this.failure);
    this.pending.clear();
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
  const started = ready.then(
    () => undefined,
    (error: Error) => {
      throw new Error(`the replica's backend did not start: ${error?.message ?? String(error)}`);
    },
  );
  started.catch(() => {}); // reported with each request
  let queue: Promise<unknown> = started.catch(() => {});
  scope.addEventListener('message', (event) => {
    const m = event.data as Request;
    queue = queue.then(() =>
      started
        .then(() => handle(m))
        .then(
          (value) => scope.postMessage({ id: m.id, value } satisfies Reply),
          (error: Error) =>
            scope.postMessage({ id: m.id, error: error?.message ?? String(error) } satisfies Reply),
        ),
    );
  });
}
