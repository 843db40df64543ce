// WebGPU in Node: Dawn through the npm package `webgpu` (an optional peer, like tfjs-node), set up
// as `navigator.gpu` for @tensorflow/tfjs-backend-webgpu. Vulkan on Linux, Metal on macOS, D3D12
// on Windows: every GPU vendor, no CUDA.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  formatGpuAdapter,
  type GpuAdapterInfoLike,
  type GpuAdapterSummary,
  restoreBackend,
  summariseGpuAdapter,
  switchBackend,
  withTimeout,
} from '@primer-ez/backend-core';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo } from './devices.js';
import type { Environment } from './init-backend.js';
import { BackendInitError, classifyLoadFailure } from './load-errors.js';

/** The npm package that brings Dawn (WebGPU's native implementation) to Node. */
export const WEBGPU_PACKAGE = 'webgpu';
/** The version range of {@link WEBGPU_PACKAGE} this adapter is built for. */
export const WEBGPU_PACKAGE_VERSION = '0.6';

/** Where Debian's `chromium-common` puts SwiftShader's Vulkan driver (a software GPU, for tests). */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The part of a WebGPU adapter read here. */
interface Adapter {
  readonly info: GpuAdapterInfoLike;
  readonly isFallbackAdapter?: boolean;
}

/** The part of `navigator.gpu` used here. */
interface Gpu {
  requestAdapter(options?: {
    powerPreference?: 'high-performance' | 'low-power';
  }): Promise<Adapter | null>;
}

/** The part of the `webgpu` package read here. */
interface DawnModule {
  create(options: string[]): Gpu;
  globals: Record<string, unknown>;
}

let gpu: Gpu | undefined;

/** Installs Dawn as `navigator.gpu` (and WebGPU's globals such as GPUBufferUsage) once. */
function installNavigatorGpu(dawn: DawnModule): Gpu {
  if (gpu !== undefined) return gpu;
  // NOTE: Dawn warns when XDG_RUNTIME_DIR is unset (it looks there for a display socket).
  if (process.env.XDG_RUNTIME_DIR === undefined) {
    process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'primer-ez-dawn-'));
  }
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis))
      Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  gpu = dawn.create([]);
  const host = globalThis as { navigator?: object };
  if (host.navigator === undefined) {
    Object.defineProperty(globalThis, 'navigator', {
      value: {},
      configurable: true,
      writable: true,
    });
  }
  Object.defineProperty(host.navigator as object, 'gpu', { value: gpu, configurable: true });
  return gpu;
}

/** What to do when Dawn finds no adapter, for this platform. */
export function noAdapterAdvice(platform: string = process.platform, env = process.env): string {
  if (platform === 'darwin') {
    return 'Dawn uses Metal on macOS (10.15+ on a Mac with a Metal GPU); check that the process is not sandboxed away from the GPU.';
  }
  if (platform === 'win32') {
    return 'Dawn uses Direct3D 12 on Windows: update the GPU driver (NVIDIA, AMD or Intel).';
  }
  const icd = env.VK_ICD_FILENAMES ?? env.VK_DRIVER_FILES;
  const swiftshader = existsSync(SWIFTSHADER_ICD)
    ? ` To test without a GPU, use SwiftShader's software driver: VK_ICD_FILENAMES=${SWIFTSHADER_ICD} (slow; only by name, never by 'auto').`
    : ' To test without a GPU: apt-get install chromium-common and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (a software driver; slow).';
  return (
    "Dawn uses Vulkan on Linux: install the Vulkan loader (apt-get install libvulkan1) and your GPU's Vulkan driver — NVIDIA: the proprietary driver (it ships Vulkan); AMD and Intel: mesa-vulkan-drivers (Mesa 23+; Debian 12's lavapipe is too old for Dawn)." +
    (icd === undefined
      ? ''
      : ` VK_ICD_FILENAMES is set to ${icd}: check that it names a driver for this GPU.`) +
    swiftshader
  );
}

/**
 * Loads Dawn (`webgpu`) and @tensorflow/tfjs-backend-webgpu, and switches to 'webgpu' on the
 * adapter Dawn offers for high performance. With `auto`, a software adapter is refused (it
 * computes on the CPU, slower than wasm); asked for by name, it is used and reported as software.
 */
export async function initWebgpu(
  environment: Environment,
  timeoutMs: number,
  auto: boolean,
  notes: string[],
): Promise<BackendInfo> {
  let dawn: DawnModule;
  try {
    dawn = (await withTimeout(
      environment.importPackage(WEBGPU_PACKAGE),
      timeoutMs,
      `loading ${WEBGPU_PACKAGE}`,
    )) as DawnModule;
  } catch (error) {
    throw new BackendInitError('webgpu', describeWebgpuLoadFailure(error, auto), { cause: error });
  }
  if (auto && gpu === undefined) {
    // NOTE: Dawn prints driver warnings to stderr as it enumerates adapters; `auto` looks in a
    // child process first, so that a machine without a (hardware) GPU stays quiet.
    const found = await probeInChild(timeoutMs);
    if (found === null)
      throw new BackendInitError('webgpu', 'Dawn found no WebGPU adapter (no usable GPU driver).');
    const summary = summariseGpuAdapter(found);
    if (summary.software) throw new BackendInitError('webgpu', softwareSkip(summary));
  }
  const navigatorGpu = installNavigatorGpu(dawn);
  const adapter = await withTimeout(
    navigatorGpu.requestAdapter({ powerPreference: 'high-performance' }),
    timeoutMs,
    'navigator.gpu.requestAdapter()',
  );
  if (adapter === null) {
    throw new BackendInitError(
      'webgpu',
      auto
        ? 'Dawn found no WebGPU adapter (no usable GPU driver).'
        : `device 'webgpu': Dawn (${WEBGPU_PACKAGE}) loaded but found no WebGPU adapter. ${noAdapterAdvice()} Or choose another device: 'wasm' or 'cpu' ('auto' picks the fastest that works).`,
    );
  }
  const summary = summariseGpuAdapter(adapter.info, adapter.isFallbackAdapter === true);
  if (auto && summary.software) throw new BackendInitError('webgpu', softwareSkip(summary));
  const previous = tf.engine().backendName;
  try {
    // NOTE: the package registers 'webgpu' as it loads, and only when navigator.gpu exists.
    await withTimeout(
      import('@tensorflow/tfjs-backend-webgpu'),
      timeoutMs,
      'loading @tensorflow/tfjs-backend-webgpu',
    );
    if (tf.findBackendFactory('webgpu') === null) {
      throw new Error(
        '@tensorflow/tfjs-backend-webgpu was loaded before navigator.gpu existed and did not register; initialise webgpu before importing it.',
      );
    }
    await switchBackend('webgpu', timeoutMs);
  } catch (error) {
    await restoreBackend(previous);
    throw new BackendInitError(
      'webgpu',
      `device 'webgpu': ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  guardSyncReads();
  notes.push(
    `webgpu: Dawn (${WEBGPU_PACKAGE}) on ${formatGpuAdapter(summary)}${summary.software ? ', computing on the CPU: slow, for tests' : ''}.`,
  );
  return {
    device: 'webgpu',
    backend: tf.getBackend(),
    threads: 1,
    simd: false,
    accelerator: summary.software ? 'cpu' : 'gpu',
    devices: summary.description === '' ? [] : [summary.description],
    tensorflowVersion: undefined,
    adapter: summary,
    notes,
  };
}

function softwareSkip(summary: GpuAdapterSummary): string {
  return `the adapter is a software implementation (${formatGpuAdapter(summary)}), slower than wasm; ask for 'webgpu' by name to use it anyway.`;
}

/** The probe script, beside src/ and dist/ alike. */
const PROBE = fileURLToPath(new URL('../probe/webgpu-probe.mjs', import.meta.url));

/** The adapter Dawn offers, asked in a child process (its stderr is dropped); null for none. */
function probeInChild(timeoutMs: number): Promise<GpuAdapterInfoLike | null> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PROBE],
      { timeout: timeoutMs, encoding: 'utf8' },
      (error, stdout) => {
        if (error) return resolve(null);
        try {
          resolve(
            JSON.parse(stdout.trim().split('\n').pop() ?? 'null') as GpuAdapterInfoLike | null,
          );
        } catch {
          resolve(null);
        }
      },
    );
  });
}

/** Why `webgpu` did not load, saying what to install. */
function describeWebgpuLoadFailure(error: unknown, auto: boolean): string {
  const { kind } = classifyLoadFailure(WEBGPU_PACKAGE, error);
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  const install = `npm install ${WEBGPU_PACKAGE}@${WEBGPU_PACKAGE_VERSION}`;
  if (auto) {
    return kind === 'missing'
      ? `${WEBGPU_PACKAGE} is not installed (optional; ${install} for any GPU through Vulkan, Metal or Direct3D 12).`
      : `${WEBGPU_PACKAGE} failed to load: ${detail}`;
  }
  return kind === 'missing'
    ? `device 'webgpu' needs the npm package ${WEBGPU_PACKAGE} (Dawn, Chrome's WebGPU; its native binary is inside the package for Linux, macOS and Windows on x64 and arm64), which is not installed. Install it with \`${install}\`. Or choose another device: 'wasm' or 'cpu'.`
    : `device 'webgpu': ${WEBGPU_PACKAGE} failed to load (${detail}); it ships dawn.node for linux-x64, linux-arm64, darwin and win32 — reinstall it with \`${install}\`.`;
}

/**
 * NOTE: tfjs-backend-webgpu reads a tensor synchronously (`dataSync`) through OffscreenCanvas,
 * which Node does not have; it would fail with "OffscreenCanvas is not defined". Say instead what
 * to do. Values still on the CPU (not yet uploaded) read as before.
 */
function guardSyncReads(): void {
  const backend = tf.backend() as { readSync?: (dataId: object) => unknown; guarded?: boolean };
  if (backend.guarded || typeof backend.readSync !== 'function' || 'OffscreenCanvas' in globalThis)
    return;
  const readSync = backend.readSync.bind(backend);
  backend.readSync = (dataId: object) => {
    try {
      return readSync(dataId);
    } catch (error) {
      if (error instanceof ReferenceError && /OffscreenCanvas/.test(error.message)) {
        throw new Error(
          'webgpu in Node cannot read a GPU tensor synchronously (dataSync, arraySync): await tensor.data() or tensor.array() instead.',
        );
      }
      throw error;
    }
  };
  backend.guarded = true;
}
