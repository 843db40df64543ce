// Starting libtensorflow through tfjs-node-gpu (cuda) or tfjs-node (tensorflow), and noticing
// when the GPU package silently computes on the CPU.
import { availableParallelism } from 'node:os';
import { restoreBackend, switchBackend, withTimeout } from '@primer-ez/backend-core';
import * as tf from '@tensorflow/tfjs-core';
import { diagnoseGpuFallback, LIBTENSORFLOW_VERSION } from './cuda.js';
import type { BackendInfo, ResolvedNodeDevice } from './devices.js';
import type { Environment } from './init-backend.js';
import {
  BackendInitError,
  describeLoadFailure,
  NATIVE_PACKAGES,
  type NativeDevice,
} from './load-errors.js';

/** The part of tfjs-node's `NodeJSKernelBackend` read here (declared in its dist/*.d.ts). */
interface TensorflowBackend {
  isGPUPackage?: boolean;
  isUsingGpuDevice?: boolean;
  binding?: { TF_Version?: string };
}

/**
 * Loads the native package of `device` and switches to its 'tensorflow' backend. With `auto`, a
 * GPU package that found no GPU is accepted as the `tensorflow` device (with notes) instead of
 * refused.
 */
export async function initNative(
  environment: Environment,
  device: NativeDevice,
  timeoutMs: number,
  auto: boolean,
  notes: string[],
): Promise<BackendInfo> {
  const pkg = NATIVE_PACKAGES[device];
  const previous = tf.engine().backendName;
  // Both packages register the backend 'tensorflow' (and switch to it as they load). Loading the
  // second native library into one process would clash, so reuse whichever is loaded already.
  const loaded = tf.findBackendFactory('tensorflow') !== null;
  try {
    if (!loaded) {
      await withTimeout(
        quietReregistration(() => environment.importPackage(pkg)),
        timeoutMs,
        `loading ${pkg}`,
      );
    }
    await switchBackend('tensorflow', timeoutMs);
  } catch (error) {
    await restoreBackend(previous);
    throw new BackendInitError(device, describeLoadFailure(device, error), { cause: error });
  }
  const backend = tf.backend() as TensorflowBackend;
  const version = backend.binding?.TF_Version ?? LIBTENSORFLOW_VERSION;
  const threads = availableParallelism();
  const info = (on: ResolvedNodeDevice, accelerator: 'gpu' | 'cpu', devices: string[]) => ({
    device: on,
    backend: tf.getBackend(),
    threads,
    simd: true,
    accelerator,
    devices,
    tensorflowVersion: version,
    notes,
  });

  if (device === 'tensorflow') {
    const which = backend.isGPUPackage ? `${NATIVE_PACKAGES.cuda} (already loaded)` : pkg;
    const gpu = backend.isUsingGpuDevice === true;
    notes.push(
      `tensorflow: ${which}, libtensorflow ${version} on the ${gpu ? 'GPU' : `CPU (${threads} threads)`}.`,
    );
    return info('tensorflow', gpu ? 'gpu' : 'cpu', []);
  }

  if (!backend.isGPUPackage) {
    const message = `device 'cuda': ${NATIVE_PACKAGES.tensorflow} (the CPU build) is already loaded in this process, and only one libtensorflow can be; start a new process and ask for 'cuda' first.`;
    await restoreBackend(previous);
    throw new BackendInitError('cuda', message);
  }
  const probe = await environment.probeCuda();
  if (backend.isUsingGpuDevice === true) {
    const gpus = probe.nvidiaSmi?.gpus ?? [];
    notes.push(
      `cuda: ${pkg}, libtensorflow ${version} on the GPU${gpus.length > 0 ? ` (${gpus.join('; ')})` : ''}.`,
    );
    return info('cuda', 'gpu', gpus);
  }
  // tfjs-node-gpu loaded, but TensorFlow found no GPU and computes on the CPU.
  const diagnosis = diagnoseGpuFallback(probe);
  if (!auto) {
    await restoreBackend(previous);
    throw new BackendInitError(
      'cuda',
      `device 'cuda': ${diagnosis} ${WEBGPU_ALTERNATIVE} Ask for 'tensorflow' or 'auto' to run on the CPU knowingly.`,
    );
  }
  notes.push(`cuda: skipped, ${diagnosis} ${WEBGPU_ALTERNATIVE}`);
  notes.push(
    `tensorflow: ${pkg}'s libtensorflow ${version} on the CPU (${threads} threads), in place of ${NATIVE_PACKAGES.tensorflow}.`,
  );
  return info('tensorflow', 'cpu', []);
}

/** The GPU path that needs no CUDA, named wherever cuda fails. */
const WEBGPU_ALTERNATIVE =
  "The alternative without CUDA: device 'webgpu' (npm install webgpu@0.6) runs on this GPU through Vulkan.";

/** What tfjs-core prints for each kernel registered a second time under 'tensorflow'. */
const REREGISTERED = /^The kernel '\w+' for backend 'tensorflow' is already registered$/;

/**
 * Runs `load` with tfjs-core's "kernel already registered" warnings for 'tensorflow' dropped.
 * NOTE: both packages register their ~170 kernels before they load the native addon, so when the
 * first one failed (a broken install) loading the second would print one line per kernel.
 */
async function quietReregistration<T>(load: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && REREGISTERED.test(args[0])) return;
    warn.apply(console, args);
  };
  try {
    return await load();
  } finally {
    console.warn = warn;
  }
}
