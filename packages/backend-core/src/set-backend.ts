// Switching the tfjs backend safely: under a deadline, with tfjs's reason for a failure in the
// error, and the previous backend back in place when it fails.
import * as tf from '@tensorflow/tfjs-core';
import { TimeoutError, withTimeout } from './timeout.js';

/** tfjs's registration priorities of its backends (used when re-registering one). */
const PRIORITY: Record<string, number> = { tensorflow: 3, webgpu: 3, webgl: 2, wasm: 2, cpu: 1 };

/**
 * `tf.setBackend(name)` within `timeoutMs`. On failure it switches back to the backend that was
 * active before and throws an Error that gives tfjs's reason (tfjs only prints it).
 */
export async function switchBackend(name: string, timeoutMs: number): Promise<void> {
  const previous = tf.engine().backendName;
  const warnings: string[] = [];
  const warn = console.warn;
  // tfjs reports why an initialisation failed through console.warn only: keep a copy (the
  // warnings still go through) to put the reason into the error.
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(' '));
    warn.apply(console, args);
  };
  let ok: boolean;
  try {
    ok = await withTimeout(tf.setBackend(name), timeoutMs, `tf.setBackend('${name}')`);
  } catch (error) {
    if (error instanceof TimeoutError) abandon(name);
    await restoreBackend(previous);
    throw error;
  } finally {
    console.warn = warn;
  }
  if (!ok) {
    await restoreBackend(previous);
    const at = warnings.findIndex((w) => w.startsWith(`Initialization of backend ${name} failed`));
    const reason = at >= 0 ? warnings[at + 1]?.split('\n')[0] : undefined;
    throw new Error(`tf.setBackend('${name}') failed${reason ? `: ${reason}` : ''}.`);
  }
}

/**
 * Makes a hung initialisation of `name` obsolete. NOTE: until it settles, tfjs refuses every op
 * ("Backend 'webgl' has not yet been initialized"), even after switching to another backend;
 * removing the backend is the public way to drop the pending promise. Its factory is registered
 * again, so a later attempt can retry.
 */
function abandon(name: string): void {
  const factory = tf.findBackendFactory(name);
  if (factory === null || tf.engine().backendName !== name) return;
  tf.removeBackend(name);
  tf.registerBackend(name, factory, PRIORITY[name] ?? 1);
}

/** Switches back to `previous` (when there was one and it is not active). */
export async function restoreBackend(previous: string | null | undefined): Promise<void> {
  if (previous && tf.engine().backendName !== previous) await tf.setBackend(previous);
}
