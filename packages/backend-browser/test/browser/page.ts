// The page of the browser conformance suite: loads checkpoints served by the test's server and
// runs the shared procedure (@primer-ez/test-utils/conformance) on the backend the test asks for.
// The test drives it through `window.primerParity`.
/// <reference types="vite/client" />

import * as layers from '@primer-ez/primer-layers';
import {
  type Batch,
  type ConformanceLibrary,
  encodeResult,
  runConformance,
} from '@primer-ez/test-utils/conformance/procedure';
import * as trainer from '@primer-ez/trainer';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo, BrowserBackendOptions, BrowserDevice } from '../../src/index.js';
import { initBrowserBackend } from '../../src/index.js';

const lib = { ...layers, ...trainer } as unknown as ConformanceLibrary;

function toBase64(a: Float32Array): string {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return response;
}

/** The .wasm files, served by Vite (the README's recommended setup); used unless a test passes paths. */
const WASM_URLS = {
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
};

const api = {
  init(device: BrowserDevice, options: BrowserBackendOptions): Promise<BackendInfo> {
    return initBrowserBackend(device, { wasmPaths: WASM_URLS, ...options });
  },
  /** The active backend, as tfjs sees it. */
  backend(): string {
    return tf.getBackend();
  },
  /**
   * Makes WebGL behave as on a GPU that cannot render float32 (tfjs then uses float16 textures).
   * Call before the first WebGL initialisation.
   */
  async forceFloat16(): Promise<void> {
    await import('@tensorflow/tfjs-backend-webgl'); // registers the WEBGL_* flags
    tf.env().set('WEBGL_RENDER_FLOAT32_CAPABLE', false);
  },
  /** The logits of the checkpoint `/case/<name>/` on its batch (inference only), base64. */
  async forward(name: string): Promise<string> {
    const base = `/case/${encodeURIComponent(name)}/`;
    const [config, weights, batch] = await Promise.all([
      fetchOk(`${base}config.json`).then((r) => r.text()),
      fetchOk(`${base}model.safetensors`).then(async (r) => new Uint8Array(await r.arrayBuffer())),
      fetchOk(`${base}batch.json`).then((r) => r.json() as Promise<Batch>),
    ]);
    const model = lib.deserializeCheckpoint({ config, weights });
    try {
      const logits = model.forward(batch.ids);
      const values = Float32Array.from(await logits.data());
      logits.dispose();
      return toBase64(values);
    } finally {
      model.dispose();
    }
  },
  /** Runs the checkpoint `/case/<name>/` on the active backend. */
  async run(name: string): Promise<unknown> {
    const base = `/case/${encodeURIComponent(name)}/`;
    const [config, weights, batch] = await Promise.all([
      fetchOk(`${base}config.json`).then((r) => r.text()),
      fetchOk(`${base}model.safetensors`).then(async (r) => new Uint8Array(await r.arrayBuffer())),
      fetchOk(`${base}batch.json`).then((r) => r.json() as Promise<Batch>),
    ]);
    return encodeResult(await runConformance(lib, { config, weights }, batch), toBase64);
  },
};

(window as unknown as { primerParity: typeof api }).primerParity = api;
document.title = 'ready';
