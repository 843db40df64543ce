// The one vocabulary of Node devices, and what initialising one reports.
import type { GpuAdapterSummary } from '@primer-ez/backend-core';

/** Every device `initBackend` takes, fastest first after `auto`. */
export const NODE_DEVICES = ['auto', 'cuda', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

/**
 * A Node device: `cuda` (@tensorflow/tfjs-node-gpu), `tensorflow` (@tensorflow/tfjs-node, the
 * CPU build of libtensorflow), `webgpu` (@tensorflow/tfjs-backend-webgpu on Dawn, the npm package
 * `webgpu`: any GPU through Vulkan, Metal or Direct3D 12), `wasm` (@tensorflow/tfjs-backend-wasm),
 * `cpu` (plain JavaScript), or `auto`: the first of those that initialises, in that order
 * (`webgpu` only on a hardware adapter).
 */
export type NodeDevice = (typeof NODE_DEVICES)[number];

/** A device `initBackend` can end up on (`auto` resolves to one of these). */
export type ResolvedNodeDevice = Exclude<NodeDevice, 'auto'>;

/** The order `auto` tries devices in. */
export const AUTO_ORDER: readonly ResolvedNodeDevice[] = [
  'cuda',
  'tensorflow',
  'webgpu',
  'wasm',
  'cpu',
];

/** What `initBackend` chose. */
export interface BackendInfo {
  /** The device in use (`auto` resolved). */
  readonly device: ResolvedNodeDevice;
  /** The active tfjs backend, `tf.getBackend()`: `tensorflow` for cuda too, `wasm`, `cpu`. */
  readonly backend: string;
  /** Threads the backend computes with (libtensorflow's pool: the machine's cores). */
  readonly threads: number;
  /** Whether the backend uses SIMD instructions (libtensorflow and wasm do; cpu does not). */
  readonly simd: boolean;
  /** Where the arithmetic happens. */
  readonly accelerator: 'gpu' | 'cpu';
  /** Devices found where known, e.g. `GPU 0: NVIDIA A100-SXM4-40GB` (from `nvidia-smi -L`). */
  readonly devices: readonly string[];
  /** The libtensorflow version (cuda and tensorflow only), e.g. `2.9.1`. */
  readonly tensorflowVersion: string | undefined;
  /** The WebGPU adapter (webgpu only): vendor, architecture, and whether it is software. */
  readonly adapter?: GpuAdapterSummary;
  /** Why this device was chosen, what was skipped and why, and any caveat. */
  readonly notes: readonly string[];
}

/**
 * Reads a device name (a CLI flag, an environment variable), throwing an error that lists the
 * valid values.
 *
 * @example
 * ```ts
 * parseNodeDevice(process.env.PRIMER_DEVICE ?? 'auto'); // 'auto'
 * parseNodeDevice('gpu'); // throws: unknown device 'gpu'; expected one of auto, cuda, …
 * ```
 */
export function parseNodeDevice(value: string): NodeDevice {
  const device = value.trim().toLowerCase();
  if ((NODE_DEVICES as readonly string[]).includes(device)) return device as NodeDevice;
  const hint = device === 'gpu' ? " (any GPU: 'webgpu'; NVIDIA with CUDA 11.2: 'cuda')" : '';
  throw new RangeError(
    `unknown device '${value}'${hint}; expected one of ${NODE_DEVICES.join(', ')}.`,
  );
}
