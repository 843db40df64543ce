// A training worker as the page sees it: started on a device, called through the rpc client,
// and ended for good (a worker whose backend failed, or one replaced by a change of device).
import type { BackendInfo, BrowserDevice } from '@primer-ez/backend-browser';
import type { Role, WorkerApi, WorkerEvent } from '../shared/protocol.js';
import { type Endpoint, RpcClient } from '../shared/rpc.js';
import { askedWorkers } from '../worker/cores.js';

export class ModelWorker {
  readonly rpc: RpcClient<WorkerApi, WorkerEvent>;
  private readonly worker: Worker;
  info: BackendInfo | undefined;

  private constructor(
    readonly role: Role,
    onCrash: (role: Role, message: string) => void,
  ) {
    this.worker = new Worker(new URL('../worker/worker.ts', import.meta.url), {
      type: 'module',
      name: `primer-ez ${role}`,
    });
    this.rpc = new RpcClient<WorkerApi, WorkerEvent>(this.worker as unknown as Endpoint);
    this.worker.addEventListener('error', (event) => {
      const message = event.message || 'the worker failed to load';
      this.rpc.close(new Error(`the ${role} worker stopped: ${message}`));
      onCrash(role, message);
    });
  }

  /** Starts a worker and its backend; throws the backend's own explanation if it fails. */
  static async start(
    role: Role,
    device: BrowserDevice,
    onCrash: (role: Role, message: string) => void,
  ): Promise<ModelWorker> {
    const worker = new ModelWorker(role, onCrash);
    try {
      // `?workers=N` asks for N cores per model where the page can share memory (cores.ts).
      const workers = askedWorkers(location.search);
      worker.info = await worker.rpc.call('init', { device, workers });
      return worker;
    } catch (error) {
      worker.terminate();
      throw error;
    }
  }

  terminate(): void {
    this.rpc.close(new Error(`the ${this.role} worker was shut down`));
    this.worker.terminate();
  }
}
