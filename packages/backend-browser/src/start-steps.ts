// The steps every backend start shares: a deadline on each, errors that name the device, a first
// computation that must come out right, and the previous backend restored on failure.

import { restoreBackend, switchBackend, TimeoutError, withTimeout } from '@primer-ez/backend-core';
import * as tf from '@tensorflow/tfjs-core';
import type { Purpose, ResolvedBrowserDevice } from './devices.js';
import type { WasmPaths } from './start-wasm.js';

/** Thrown when a requested device cannot be initialised; the message says why and what to do. */
export class BackendInitError extends Error {
  override name = 'BackendInitError';

  constructor(
    /** The device that failed. */
    readonly device: ResolvedBrowserDevice,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The options of initBrowserBackend with their defaults filled in. */
export interface Settings {
  timeoutMs: number;
  wasmPaths: WasmPaths | undefined;
  allowSoftwareWebgl: boolean;
  purpose: Purpose;
  wasmThreads: boolean | number;
}

/** `promise` under the deadline, failures wrapped as this device's BackendInitError. */
export async function step<T>(
  device: ResolvedBrowserDevice,
  settings: Settings,
  promise: Promise<T>,
  what: string,
): Promise<T> {
  try {
    return await withTimeout(promise, settings.timeoutMs, what);
  } catch (error) {
    if (error instanceof BackendInitError) throw error;
    throw new BackendInitError(device, `${what} failed: ${messageOf(error)}`, { cause: error });
  }
}

/** `tf.setBackend(name)` under the deadline; failures become this device's BackendInitError. */
export async function activate(name: ResolvedBrowserDevice, settings: Settings): Promise<void> {
  try {
    await switchBackend(name, settings.timeoutMs);
  } catch (error) {
    const refused = name === 'wasm' && !(error instanceof TimeoutError);
    const hint = refused ? ' Are the .wasm files served where wasmPaths says?' : '';
    throw new BackendInitError(name, `${messageOf(error)}${hint}`, { cause: error });
  }
}

/**
 * A 2×2 product read back under the deadline: the backend compiles, runs and downloads, and gets
 * the right numbers. On failure the previous backend is restored.
 */
export async function smokeTest(
  name: ResolvedBrowserDevice,
  settings: Settings,
  previous: string | null | undefined,
): Promise<void> {
  try {
    const product = tf.tidy(() =>
      tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])),
    );
    const values = await step(
      name,
      settings,
      product.data(),
      `a first computation on ${name}`,
    ).finally(() => product.dispose());
    if (Array.from(values).join() !== '19,22,43,50') {
      throw new BackendInitError(
        name,
        `${name} computes wrongly: [[1,2],[3,4]]·[[5,6],[7,8]] gave [${Array.from(values)}].`,
      );
    }
  } catch (error) {
    await restoreBackend(previous);
    throw error;
  }
}

/** Whether the page is cross-origin isolated (SharedArrayBuffer, so wasm threads, allowed). */
export function isolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/** An error's message (or the thrown value as text). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
