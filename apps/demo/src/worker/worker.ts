// The training worker: one model, on the backend the page asks for (WebGL on a real GPU, wasm on
// software WebGL, cpu last — see @primer-ez/backend-webgl), served over the rpc channel. All the
// tfjs work of the demo happens in workers like this one; the page never loads tfjs.
import { initBrowserBackend } from '@primer-ez/backend-webgl';
// Registers the kernel gradients training needs.
import '@primer-ez/tensor-ops';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { WorkerApi, WorkerEvent } from '../shared/protocol.js';
import type { Endpoint } from '../shared/rpc.js';
import { serve, transfer } from '../shared/rpc.js';
import { ModelSession, memory } from './session.js';

const scope = self as unknown as Endpoint;
let session: ModelSession | undefined;

const api: WorkerApi = {
  async init({ device }) {
    const info = await initBrowserBackend(device, {
      purpose: 'train',
      timeoutMs: 30_000,
      wasmPaths: {
        'tfjs-backend-wasm.wasm': wasmPlain,
        'tfjs-backend-wasm-simd.wasm': wasmSimd,
        'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
      },
      // NOTE: the race already runs two workers, one per core on a small machine; wasm threads
      // would only compete with the other racer (and a minified Vite 8 build breaks tfjs's
      // threaded worker script anyway, see BROWSER.md).
      wasmThreads: false,
    });
    session = new ModelSession((event: WorkerEvent) => events.emit(event));
    return { ...info, notes: [...info.notes] };
  },
  async setup(params) {
    return ready().setup(params);
  },
  train() {
    return ready().train();
  },
  pause() {
    ready().pause();
  },
  score({ text }) {
    return ready().score(text);
  },
  generate(params) {
    return ready().generate(params);
  },
  stopGenerating({ generationId }) {
    ready().stopGenerating(generationId);
  },
  async exportCheckpoint() {
    const exported = await ready().exportCheckpoint();
    return transfer(exported, [exported.bundle.weights.buffer as ArrayBuffer]);
  },
  async loadCheckpoint(params) {
    return ready().loadCheckpoint(params);
  },
  memory() {
    return memory();
  },
};

function ready(): ModelSession {
  if (session === undefined) throw new Error('the worker has no backend yet (init first).');
  return session;
}

const events = serve(scope, api);
