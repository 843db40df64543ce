// Starting WebGPU in the browser (navigator.gpu): the adapter named and classed as hardware or
// software, a first computation checked.

import {
  formatGpuAdapter,
  type GpuAdapterInfoLike,
  type GpuAdapterSummary,
  summariseGpuAdapter,
} from '@primer-ez/backend-core';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo } from './devices.js';
import {
  activate,
  BackendInitError,
  isolated,
  type Settings,
  smokeTest,
  step,
} from './start-steps.js';

/** The part of `navigator.gpu` used here. */
interface Gpu {
  requestAdapter(options?: {
    powerPreference?: 'high-performance' | 'low-power';
  }): Promise<{ info?: GpuAdapterInfoLike; isFallbackAdapter?: boolean } | null>;
}

/** Why WebGPU is missing, for the messages. */
const NO_WEBGPU =
  'WebGPU is not available here (no navigator.gpu): it needs Chrome or Edge 113+, Safari 26+ or Firefox 141+ (Windows), and a secure context (https:// or http://localhost)';

/** The page's WebGPU adapter, summarised; throws when there is none. */
export async function probeWebgpu(settings: Settings): Promise<GpuAdapterSummary> {
  const gpu = (globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu;
  if (gpu === undefined) throw new BackendInitError('webgpu', `${NO_WEBGPU}.`);
  const adapter = await step(
    'webgpu',
    settings,
    gpu.requestAdapter({ powerPreference: 'high-performance' }),
    'navigator.gpu.requestAdapter()',
  );
  if (adapter === null) {
    throw new BackendInitError(
      'webgpu',
      'the browser offers no WebGPU adapter (the GPU or its driver is blocklisted, or WebGPU is disabled: see chrome://gpu).',
    );
  }
  return summariseGpuAdapter(adapter.info ?? {}, adapter.isFallbackAdapter === true);
}

/** Starts tfjs-backend-webgpu on the adapter `probeWebgpu` found. */
export async function initWebgpu(
  settings: Settings,
  notes: string[],
  adapter?: GpuAdapterSummary,
): Promise<BackendInfo> {
  const summary = adapter ?? (await probeWebgpu(settings));
  const previous = tf.engine().backendName;
  await step(
    'webgpu',
    settings,
    import('@tensorflow/tfjs-backend-webgpu'),
    'loading @tensorflow/tfjs-backend-webgpu',
  );
  if (tf.findBackendFactory('webgpu') === null) {
    throw new BackendInitError('webgpu', `${NO_WEBGPU}; tfjs-backend-webgpu did not register.`);
  }
  await activate('webgpu', settings);
  await smokeTest('webgpu', settings, previous);
  notes.push(
    `webgpu: on ${formatGpuAdapter(summary)}${summary.software ? ', computing on the CPU: slower than wasm' : ''}.`,
  );
  return {
    device: 'webgpu',
    backend: tf.getBackend(),
    webglVersion: undefined,
    renderer: summary.description || undefined,
    softwareRenderer: summary.software,
    float32: true,
    simd: undefined,
    threads: 1,
    crossOriginIsolated: isolated(),
    adapter: summary,
    notes,
  };
}
