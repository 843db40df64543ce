// A small typed request/reply channel over postMessage (a Worker, a worker's global scope or a
// MessagePort), plus one-way events. Errors cross as { name, message } and are rethrown as
// RemoteError, so the page can show a worker's message as is.

/** What both sides of a worker conversation have: a Worker, `self` in a worker, a MessagePort. */
export interface Endpoint {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** The methods one side serves: each takes one structured-clonable argument. */
export type Api<A> = { [K in keyof A]: (params: never) => unknown };

type Params<F> = F extends (params: infer P) => unknown ? P : never;
type Result<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/** The messages on the wire. */
export type WireMessage =
  | { kind: 'request'; id: number; method: string; params: unknown }
  | { kind: 'response'; id: number; ok: true; value: unknown }
  | { kind: 'response'; id: number; ok: false; error: { name: string; message: string } }
  | { kind: 'event'; event: unknown };

/** An error thrown on the other side, with its name and message. */
export class RemoteError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

const transfers = new WeakMap<object, Transferable[]>();

/**
 * Marks a reply (or event) whose buffers should be moved rather than copied, e.g. a checkpoint's
 * weights: `return transfer(files, [files.weights.buffer])`.
 */
export function transfer<T extends object>(value: T, list: Transferable[]): T {
  transfers.set(value, list);
  return value;
}

function isWire(data: unknown): data is WireMessage {
  return typeof data === 'object' && data !== null && 'kind' in data;
}

function start(endpoint: Endpoint): void {
  // MessagePorts deliver nothing to addEventListener until started; Workers have no start().
  (endpoint as { start?: () => void }).start?.();
}

/** The calling side: `client.call('train', { steps: 100 })`, and `onEvent` for one-way events. */
export class RpcClient<A extends Api<A>, E> {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private readonly listeners = new Set<(event: E) => void>();
  private closed: Error | undefined;
  private readonly onMessage = (message: MessageEvent) => {
    const data = message.data as unknown;
    if (!isWire(data)) return;
    if (data.kind === 'event') {
      for (const listener of this.listeners) listener(data.event as E);
      return;
    }
    if (data.kind !== 'response') return;
    const waiting = this.pending.get(data.id);
    if (waiting === undefined) return;
    this.pending.delete(data.id);
    if (data.ok) waiting.resolve(data.value);
    else waiting.reject(new RemoteError(data.error.name, data.error.message));
  };

  constructor(private readonly endpoint: Endpoint) {
    endpoint.addEventListener('message', this.onMessage);
    start(endpoint);
  }

  /** Calls `method` on the other side; rejects with a {@link RemoteError} if it throws there. */
  call<M extends keyof A & string>(
    method: M,
    params: Params<A[M]>,
    transferList: Transferable[] = [],
  ): Promise<Result<A[M]>> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise<Result<A[M]>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      const request: WireMessage = { kind: 'request', id, method, params };
      this.endpoint.postMessage(request, transferList);
    });
  }

  /** Listens to the other side's events; returns the function that stops listening. */
  onEvent(listener: (event: E) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Rejects every pending and future call with `reason` (the worker died or was terminated). */
  close(reason: Error): void {
    this.closed = reason;
    this.endpoint.removeEventListener('message', this.onMessage);
    for (const { reject } of this.pending.values()) reject(reason);
    this.pending.clear();
    this.listeners.clear();
  }
}

/** The serving side: answers requests with `handlers`, and can `emit` events. */
export function serve<A extends Api<A>>(
  endpoint: Endpoint,
  handlers: A,
): { emit(event: unknown): void } {
  const post = (message: WireMessage, value?: unknown) => {
    const list = typeof value === 'object' && value !== null ? transfers.get(value) : undefined;
    endpoint.postMessage(message, list ?? []);
  };
  endpoint.addEventListener('message', (message: MessageEvent) => {
    const data = message.data as unknown;
    if (!isWire(data) || data.kind !== 'request') return;
    const { id, method, params } = data;
    const handler = Object.hasOwn(handlers, method)
      ? (handlers[method as keyof A] as unknown as (params: unknown) => unknown)
      : undefined;
    Promise.resolve()
      .then(() => {
        if (handler === undefined) throw new Error(`unknown method '${method}'`);
        return handler(params);
      })
      .then(
        (value) => post({ kind: 'response', id, ok: true, value }, value),
        (error: unknown) => {
          const e =
            error instanceof Error ? error : new Error(`non-Error thrown: ${String(error)}`);
          post({ kind: 'response', id, ok: false, error: { name: e.name, message: e.message } });
        },
      );
  });
  start(endpoint);
  return {
    emit(event: unknown) {
      post({ kind: 'event', event }, event);
    },
  };
}
