// A replica worker of a model worker (see cores.ts): the same backend as its model worker — named
// at the end of the worker's name, `primer-ez replica 1 (wasm)` — and one replica of the model, answering the
// trainer's requests through shared memory (@primer-ez/trainer/web-workers).
import { initBrowserBackend, parseBrowserDevice } from '@primer-ez/backend-browser';
// Registers the kernel gradients training needs.
import '@primer-ez/tensor-ops';
import { serveWebReplica, type WebWorkerScope } from '@primer-ez/trainer/web-workers';
import { WASM_PATHS } from './wasm-files.js';

// Requests answered, for the page's tests (`primerReplicaRequests()` in this worker).
let requests = 0;
self.addEventListener('message', () => requests++);
Object.assign(self, { primerReplicaRequests: () => requests });

// Listening at once: a request that came before the backend is ready waits for it.
serveWebReplica(
  self as unknown as WebWorkerScope,
  (async () => {
    const device = parseBrowserDevice(/\((\w+)\)$/.exec(self.name)?.[1] ?? '');
    await initBrowserBackend(device, {
      purpose: 'train',
      timeoutMs: 30_000,
      wasmPaths: WASM_PATHS,
      wasmThreads: false,
    });
  })(),
);
