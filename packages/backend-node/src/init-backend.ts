// Choosing and initialising the tfjs backend in Node: the only place that names a Node backend.

import { formatGpuAdapter, switchBackend, withTimeout } from '@primer-ez/backend-core';
import * as tf from '@tensorflow/tfjs-core';
import { type CudaProbe, probeCuda } from './cuda.js';
import {
  AUTO_ORDER,
  type BackendInfo,
  type NodeDevice,
  parseNodeDevice,
  type ResolvedNodeDevice,
} from './devices.js';
import { initNative } from './init-native.js';
import { initWebgpu } from './init-webgpu.js';
import { BackendInitError, describeSkip } from './load-errors.js';

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** Give up on a device whose loading or initialisation takes longer (ms). Default 60 000. */
  timeoutMs?: number;
}

/**
 * What initialisation needs from the outside world; tests replace it to simulate the native
 * packages (present, broken, on the CPU).
 * @internal
 */
export interface Environment {
  /** `import()` of an optional package by name. */
  importPackage(name: string): Promise<unknown>;
  /** The CUDA heuristics (nvidia-smi, library search). */
  probeCuda(): Promise<CudaProbe>;
}

/** The only packages {@link Environment.importPackage} loads: the optional native backends. */
const OPTIONAL_PEERS = new Set(['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu']);

const nodeEnvironment: Environment = {
  // NOTE: a specifier in a variable, so that neither TypeScript nor a bundler insists on the
  // optional peer dependency being installed.
  importPackage: (name) => {
    if (!OPTIONAL_PEERS.has(name)) throw new Error(`internal: ${name} is not an optional peer`);
    return import(name); // supply-chain-ok: one of OPTIONAL_PEERS, never data
  },
  probeCuda: () => probeCuda(),
};

/**
 * Sets the tfjs backend for `device` and reports what it chose. `auto` tries `cuda`
 * (@tensorflow/tfjs-node-gpu), `tensorflow` (@tensorflow/tfjs-node), `webgpu` (Dawn, the npm
 * package `webgpu`, on a hardware adapter only), `wasm` and `cpu` in that order and takes the
 * first that initialises, saying in `notes` why the others were skipped.
 * A device asked for by name either works or throws a {@link BackendInitError} that says what to
 * install; in particular `cuda` throws when tfjs-node-gpu loads but TensorFlow finds no GPU (with
 * a CUDA other than 11.x it silently computes on the CPU).
 *
 * @param device one of `auto`, `cuda`, `tensorflow`, `webgpu`, `wasm`, `cpu`.
 * @example
 * ```ts
 * const info = await initBackend('auto');
 * console.log(info.backend, info.notes.join('\n')); // e.g. 'wasm', 'cuda: skipped, …'
 * ```
 */
export function initBackend(
  device: NodeDevice = 'auto',
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  return initBackendIn(nodeEnvironment, device, options);
}

/**
 * {@link initBackend} with the outside world given.
 * @internal
 */
export async function initBackendIn(
  environment: Environment,
  device: NodeDevice,
  { timeoutMs = 60_000 }: InitBackendOptions = {},
): Promise<BackendInfo> {
  const requested = parseNodeDevice(device);
  if (requested !== 'auto') return initDevice(environment, requested, timeoutMs, false, []);
  const notes: string[] = [];
  for (const candidate of AUTO_ORDER) {
    try {
      return await initDevice(environment, candidate, timeoutMs, true, notes);
    } catch (error) {
      const cause = error instanceof BackendInitError ? error.cause : error;
      const native = candidate === 'cuda' || candidate === 'tensorflow';
      notes.push(
        native && cause !== undefined
          ? describeSkip(candidate, cause)
          : `${candidate}: skipped, ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  throw new BackendInitError('cpu', `no tfjs backend initialised. ${notes.join(' ')}`);
}

async function initDevice(
  environment: Environment,
  device: ResolvedNodeDevice,
  timeoutMs: number,
  auto: boolean,
  notes: string[],
): Promise<BackendInfo> {
  switch (device) {
    case 'cuda':
    case 'tensorflow':
      return initNative(environment, device, timeoutMs, auto, notes);
    case 'webgpu':
      return initWebgpu(environment, timeoutMs, auto, notes);
    case 'wasm':
      return initWasm(timeoutMs, notes);
    case 'cpu':
      return initCpu(timeoutMs, notes);
  }
}

async function initWasm(timeoutMs: number, notes: string[]): Promise<BackendInfo> {
  const wasm = await withTimeout(
    import('@tensorflow/tfjs-backend-wasm'),
    timeoutMs,
    'loading @tensorflow/tfjs-backend-wasm',
  );
  await activate('wasm', timeoutMs);
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = wasm.getThreadsCount();
  notes.push(
    `wasm: XNNPACK with${simd ? '' : 'out'} SIMD, ${threads} thread${threads === 1 ? '' : 's'} (tfjs does not run wasm threads in Node).`,
  );
  return {
    device: 'wasm',
    backend: tf.getBackend(),
    threads,
    simd,
    accelerator: 'cpu',
    devices: [],
    tensorflowVersion: undefined,
    notes,
  };
}

/** The first sentence of the banner tfjs-backend-cpu prints on its first tensor in Node. */
const CPU_BANNER = 'Hi, looks like you are running TensorFlow.js in Node.js';

async function initCpu(timeoutMs: number, notes: string[]): Promise<BackendInfo> {
  await withTimeout(
    import('@tensorflow/tfjs-backend-cpu'),
    timeoutMs,
    'loading @tensorflow/tfjs-backend-cpu',
  );
  await activate('cpu', timeoutMs);
  // NOTE: the cpu backend prints a banner recommending tfjs-node on its first tensor write when
  // IS_NODE. Write one tensor now with that one message filtered out; the choice is in `notes`.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes(CPU_BANNER)) return;
    warn.apply(console, args);
  };
  try {
    tf.dispose(tf.scalar(0));
  } finally {
    console.warn = warn;
  }
  notes.push('cpu: plain JavaScript, one thread, no SIMD (the slowest; fine for tests).');
  return {
    device: 'cpu',
    backend: tf.getBackend(),
    threads: 1,
    simd: false,
    accelerator: 'cpu',
    devices: [],
    tensorflowVersion: undefined,
    notes,
  };
}

/** `tf.setBackend(name)` under the deadline; failures become this device's BackendInitError. */
async function activate(name: 'wasm' | 'cpu', timeoutMs: number): Promise<void> {
  try {
    await switchBackend(name, timeoutMs);
  } catch (error) {
    throw new BackendInitError(name, error instanceof Error ? error.message : String(error), {
      cause: error,
    });
  }
}

/**
 * One line for logs: the device, the backend and how it computes.
 *
 * @example
 * ```ts
 * formatBackendInfo(await initBackend('wasm')); // 'wasm (backend wasm, cpu, SIMD, 1 thread)'
 * ```
 */
export function formatBackendInfo(info: BackendInfo): string {
  const parts = [
    `backend ${info.backend}`,
    info.accelerator,
    ...(info.simd ? ['SIMD'] : []),
    ...(info.adapter ? [] : [`${info.threads} thread${info.threads === 1 ? '' : 's'}`]),
    ...(info.tensorflowVersion ? [`libtensorflow ${info.tensorflowVersion}`] : []),
    ...(info.adapter ? [formatGpuAdapter(info.adapter)] : info.devices),
  ];
  return `${info.device} (${parts.join(', ')})`;
}
