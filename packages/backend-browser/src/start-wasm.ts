// Starting wasm: the .wasm files where the page serves them, threads only when cross-origin
// isolated, a first computation checked.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo } from './devices.js';
import type { WebglProbe } from './renderer.js';
import {
  activate,
  BackendInitError,
  isolated,
  messageOf,
  type Settings,
  smokeTest,
  step,
} from './start-steps.js';

/** The .wasm files of @tensorflow/tfjs-backend-wasm, which the page must serve. */
export const WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
] as const;

/** Where the .wasm files are: a URL prefix ending in `/`, or the URL of each of the three. */
export type WasmPaths = string | Record<(typeof WASM_FILES)[number], string>;

/** Starts tfjs-backend-wasm; `probe` only passes WebGL's description through to the info. */
export async function initWasm(
  settings: Settings,
  notes: string[],
  probe?: WebglProbe,
): Promise<BackendInfo> {
  const previous = tf.engine().backendName;
  const wasm = await step(
    'wasm',
    settings,
    import('@tensorflow/tfjs-backend-wasm'),
    'loading @tensorflow/tfjs-backend-wasm',
  );
  if (settings.wasmPaths !== undefined) {
    try {
      wasm.setWasmPaths(settings.wasmPaths);
    } catch (error) {
      // tfjs allows no second start with other paths after a failed one.
      const again = /already initialized/.test(messageOf(error));
      const why = again ? ' (a wasm start failed before: reload the page to try other paths)' : '';
      throw new BackendInitError('wasm', `setWasmPaths failed: ${messageOf(error)}${why}.`, {
        cause: error,
      });
    }
  }
  const env = tf.env();
  // NOTE: threads need SharedArrayBuffer, i.e. a cross-origin isolated page (COOP same-origin +
  // COEP require-corp). Decide here rather than leave tfjs to probe: a threaded start that fails
  // (e.g. a minified Vite 8 build breaks tfjs's worker script) never settles.
  const threaded = settings.wasmThreads !== false && isolated();
  if (!threaded) env.set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (threaded && typeof settings.wasmThreads === 'number')
    wasm.setThreadsCount(settings.wasmThreads);
  try {
    await activate('wasm', settings);
  } catch (error) {
    if (!threaded) throw error;
    // Once more without threads: the backend factory reads the flag again on each attempt.
    notes.push(`wasm: the threaded start failed (${messageOf(error)}); retrying on one thread.`);
    env.set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    await activate('wasm', settings);
  }
  await smokeTest('wasm', settings, previous);
  const simd = (await env.getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = wasm.getThreadsCount();
  const why =
    settings.wasmThreads === false
      ? ' (threads off: wasmThreads is false)'
      : !isolated()
        ? ' (the page is not cross-origin isolated: serve it with COOP same-origin and COEP require-corp for threads)'
        : env.getBool('WASM_HAS_MULTITHREAD_SUPPORT')
          ? ' (the threaded build: the page is cross-origin isolated)'
          : ' (threads off: the threaded start failed)';
  notes.push(
    `wasm: XNNPACK with${simd ? '' : 'out'} SIMD, ${threads} thread${threads === 1 ? '' : 's'}${why}.`,
  );
  return {
    device: 'wasm',
    backend: tf.getBackend(),
    webglVersion: probe?.version,
    renderer: probe?.renderer,
    softwareRenderer: probe?.software,
    float32: true,
    simd,
    threads,
    crossOriginIsolated: isolated(),
    notes,
  };
}
