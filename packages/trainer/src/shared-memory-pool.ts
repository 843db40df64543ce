// The pool and serving logic shared by worker-threads.ts (Node) and web-workers.ts (browser): a
// ReplicaPool whose weights go out through one SharedArrayBuffer (written by the trainer, read by
// every replica when its version changes), whose replicas' gradients come back through a
// SharedArrayBuffer each, and whose small control messages say what to compute. Each entry
// supplies only its transport (Node's Worker/parentPort, or a Web Worker/`self`). Nothing here
// imports Node.
import type { PrimerConfig } from '@primer-ez/primer-layers';
import {
  type GradientResult,
  type GradientTask,
  Replica,
  type ReplicaPool,
  type WindowShare,
} from './replicas.js';

/** A control message from the pool to a replica. */
export type Request =
  | {
      type: 'prepare';
      id: number;
      config: PrimerConfig;
      weights: SharedArrayBuffer;
      grads: SharedArrayBuffer;
    }
  | { type: 'gradients'; id: number; version: number; task: GradientTask }
  | { type: 'crossEntropy'; id: number; version: number; share: WindowShare };
/** A replica's answer to a {@link Request}. */
export type Reply = { id: number; value: number } | { id: number; error: string };

/**
 * A {@link ReplicaPool} over shared memory; a subclass starts the workers, sends their messages
 * ({@link post}) and reports their replies ({@link settle}) and failures ({@link fail}).
 */
export abstract class SharedMemoryPool implements ReplicaPool {
  readonly size: number;
  private readonly pending = new Map<
    number,
    { resolve: (value: number) => void; reject: (error: Error) => void }
  >();
  private failure: Error | undefined;
  private nextId = 0;
  private version = 0;
  private prepared: string | undefined;
  private weights: Float32Array = new Float32Array(0);
  private grads: Float32Array[] = [];

  /** `workerName` names a worker in a failure, e.g. `worker thread` (… 1 of 2 failed: …). */
  protected constructor(
    size: number,
    private readonly workerName: string,
  ) {
    this.size = size;
  }

  /** Sends `message` to worker `worker` (0-based). */
  protected abstract post(worker: number, message: Request): void;

  async prepare(config: PrimerConfig, parameterCount: number): Promise<void> {
    const key = JSON.stringify([config, parameterCount]);
    if (this.prepared === key) return;
    const bytes = parameterCount * Float32Array.BYTES_PER_ELEMENT;
    const weights = new SharedArrayBuffer(bytes);
    const grads = Array.from({ length: this.size }, () => new SharedArrayBuffer(bytes));
    await Promise.all(
      grads.map((buffer, i) =>
        this.request(i, { type: 'prepare', id: 0, config, weights, grads: buffer }),
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

  private checkCount(n: number): void {
    if (n > this.size) throw new RangeError(`${n} tasks for a pool of ${this.size} replicas.`);
  }

  private request(worker: number, message: Request): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.nextId;
    return new Promise<number>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post(worker, { ...message, id });
    });
  }

  /** Resolves (or, for an error, fails the pool and rejects) the request `reply` answers. */
  protected settle(reply: Reply): void {
    const waiting = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if ('error' in reply) {
      this.fail(-1, reply.error);
      waiting?.reject(this.failure!);
    } else waiting?.resolve(reply.value);
  }

  /**
   * A failed worker (`worker` ≥ 0; -1 for the pool itself) fails the pool: every waiting and
   * later request rejects with its error.
   */
  protected fail(worker: number, why: string): void {
    this.failure ??= new Error(
      worker >= 0 ? `${this.workerName} ${worker + 1} of ${this.size} failed: ${why}` : why,
    );
    for (const { reject } of this.pending.values()) reject(this.failure);
    this.pending.clear();
  }
}

/**
 * The replica side: `listen` registers a handler for each incoming message and `post` sends a
 * reply. It builds the replica, loads the shared weights when they change, and answers each
 * request in turn (once `ready`, if given, resolves). An error — `ready`'s too — is sent back
 * (and fails the pool) rather than swallowed.
 */
export function serveRequests(
  listen: (handler: (message: unknown) => void) => void,
  post: (reply: Reply) => void,
  ready?: Promise<unknown>,
): void {
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
  const started =
    ready === undefined
      ? Promise.resolve()
      : ready.then(
          () => undefined,
          (error: Error) => {
            throw new Error(
              `the replica's backend did not start: ${error?.message ?? String(error)}`,
            );
          },
        );
  started.catch(() => {}); // reported with each request
  let queue: Promise<unknown> = started.catch(() => {});
  listen((message) => {
    const m = message as Request;
    queue = queue.then(() =>
      started
        .then(() => handle(m))
        .then(
          (value) => post({ id: m.id, value }),
          (error: Error) => post({ id: m.id, error: error?.message ?? String(error) }),
        ),
    );
  });
}
