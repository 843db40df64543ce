// The training worker: one model, on the backend the page asks for (WebGL on a real GPU, wasm on
// software WebGL, cpu last — see @primer-ez/backend-browser), served over the rpc channel. All the
// tfjs work of the demo happens in workers like this one; the page never loads tfjs.
import { initBrowserBackend } from '@primer-ez/backend-browser';
// Registers the kernel gradients training needs.
import '@primer-ez/tensor-ops';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { ExportedCheckpoint, WorkerApi, WorkerEvent } from '../shared/protocol.js';
import type { Endpoint } from '../shared/rpc.js';
import { serve, transfer } from '../shared/rpc.js';
import { CONTEXT_LOST_MESSAGE, loseContext, memory, watchContext } from './gpu.js';
import { ModelSession } from './session.js';

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
    const context = watchContext(() => {
      // A warning, not an error: the page reports it and offers to resume.
      console.warn(`primer-ez demo: ${CONTEXT_LOST_MESSAGE}.`);
      events.emit({ type: 'lost', message: CONTEXT_LOST_MESSAGE } satisfies WorkerEvent);
    });
    session = new ModelSession(
      (event: WorkerEvent) =>
        events.emit(
          event.type === 'checkpoint' ? transfer(event, buffersOf(event.checkpoint)) : event,
        ),
      () => context.lost(),
    );
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
    return transfer(exported, buffersOf(exported));
  },
  async loadCheckpoint(params) {
    return ready().loadCheckpoint(params);
  },
  async resume(params) {
    return ready().resume(params);
  },
  memory() {
    return memory();
  },
  loseContext() {
    loseContext();
  },
};

/** A checkpoint's large buffers, moved to the page rather than copied. */
function buffersOf({ bundle, training }: ExportedCheckpoint): ArrayBuffer[] {
  const buffers = [bundle.weights.buffer, training?.optimizer.buffer].filter(
    (b): b is ArrayBuffer => b instanceof ArrayBuffer,
  );
  return [...new Set(buffers)];
}

function ready(): ModelSession {
  if (session === undefined) throw new Error('the worker has no backend yet (init first).');
  return session;
}

const events = serve(scope, api);
