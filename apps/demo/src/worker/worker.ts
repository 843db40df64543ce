// The training worker: one model, on the backend the page asks for (WebGL on a real GPU, wasm on
// software WebGL, cpu last — see @primer-ez/backend-browser), served over the rpc channel. All the
// tfjs work of the demo happens in workers like this one; the page never loads tfjs.
import { initBrowserBackend } from '@primer-ez/backend-browser';
// Registers the kernel gradients training needs.
import '@primer-ez/tensor-ops';
import {
  canShareMemory,
  startWebWorkers,
  type WebWorkerPool,
} from '@primer-ez/trainer/web-workers';
import type { ExportedCheckpoint, WorkerApi, WorkerEvent } from '../shared/protocol.js';
import type { Endpoint } from '../shared/rpc.js';
import { serve, transfer } from '../shared/rpc.js';
import { corePlan } from './cores.js';
import { CONTEXT_LOST_MESSAGE, loseContext, memory, watchContext } from './gpu.js';
import { ModelSession } from './session.js';
import { WASM_PATHS } from './wasm-files.js';

const scope = self as unknown as Endpoint;
let session: ModelSession | undefined;

const api: WorkerApi = {
  async init({ device, workers: asked }) {
    const info = await initBrowserBackend(device, {
      purpose: 'train',
      timeoutMs: 30_000,
      wasmPaths: WASM_PATHS,
      // NOTE: more cores come from replicas in workers of our own (cores.ts), not wasm threads:
      // a minified Vite 8 build breaks tfjs's threaded worker script (see BROWSER.md).
      wasmThreads: false,
    });
    const cores = corePlan(info.backend, canShareMemory(), navigator.hardwareConcurrency, asked);
    let replicas: WebWorkerPool | undefined;
    try {
      if (cores.workers > 1)
        replicas = startWebWorkers({
          count: cores.workers - 1,
          create: (i) =>
            new Worker(new URL('./replica.ts', import.meta.url), {
              type: 'module',
              name: `primer-ez replica ${i + 1} (${info.backend})`,
            }),
        });
    } catch (error) {
      // A browser with no workers inside workers: one core, and the details say why.
      cores.workers = 1;
      cores.note = `One core per model: no replica workers could start here (${(error as Error).message}).`;
    }
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
      replicas,
    );
    return { ...info, notes: [...info.notes, ...(cores.note ? [cores.note] : [])] };
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
