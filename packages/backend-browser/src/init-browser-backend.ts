// Choosing the tfjs backend in the browser: the only place that names a browser backend. Every
// step has a deadline: a hung setBackend must not hang the page.
import { formatGpuAdapter } from '@primer-ez/backend-core';
import {
  type BackendInfo,
  type BrowserDevice,
  type Purpose,
  parseBrowserDevice,
} from './devices.js';
import { probeWebgl, type WebglProbe } from './renderer.js';
import { initCpu } from './start-cpu.js';
import { messageOf, type Settings } from './start-steps.js';
import { initWasm, type WasmPaths } from './start-wasm.js';
import { initWebgl } from './start-webgl.js';
import { initWebgpu, probeWebgpu } from './start-webgpu.js';

/** Options of {@link initBrowserBackend}. */
export interface BrowserBackendOptions {
  /** Deadline of each step (loading a backend, initialising it, a first computation), ms. Default 20 000. */
  timeoutMs?: number;
  /**
   * Where the page serves the .wasm files (see the README for Vite). Without it tfjs looks next to
   * its own script, which a bundled app does not have.
   */
  wasmPaths?: WasmPaths;
  /** `auto`: use WebGL even on a software renderer (SwiftShader, llvmpipe). Default false. */
  allowSoftwareWebgl?: boolean;
  /** `train` (default) refuses WebGL that renders only float16; `infer` accepts it, with a note. */
  purpose?: Purpose;
  /**
   * wasm threads, used only when the page is cross-origin isolated: `true` (default) for tfjs's
   * count (half the cores, 1 to 4), a number for that many, `false` for none.
   */
  wasmThreads?: boolean | number;
}

/**
 * Sets the tfjs backend for `device` in the browser and reports what it chose. `auto` takes
 * WebGPU on a hardware adapter (never a software one: SwiftShader, WARP), then
 * WebGL on a hardware GPU that renders float32, and otherwise wasm (SIMD; threads when the page
 * is cross-origin isolated), and otherwise cpu, saying in `notes` why. A software WebGL renderer
 * (SwiftShader, llvmpipe) is slower than wasm, so `auto` passes it over unless
 * `allowSoftwareWebgl`. A device asked for by name either works or throws a
 * `BackendInitError`; with `purpose: 'train'` (the default) that includes WebGL that can
 * only render float16.
 *
 * @param device one of `auto`, `webgpu`, `webgl`, `wasm`, `cpu`.
 * @example
 * ```ts
 * const info = await initBrowserBackend('auto', { wasmPaths: '/tfjs-wasm/' });
 * console.log(info.backend, info.renderer, info.notes);
 * ```
 */
export async function initBrowserBackend(
  device: BrowserDevice = 'auto',
  options: BrowserBackendOptions = {},
): Promise<BackendInfo> {
  const requested = parseBrowserDevice(device);
  const settings: Settings = {
    timeoutMs: options.timeoutMs ?? 20_000,
    wasmPaths: options.wasmPaths,
    allowSoftwareWebgl: options.allowSoftwareWebgl ?? false,
    purpose: options.purpose ?? 'train',
    wasmThreads: options.wasmThreads ?? true,
  };
  const notes: string[] = [];
  if (requested === 'webgpu') return initWebgpu(settings, notes);
  if (requested === 'webgl') return initWebgl(settings, notes, probeWebgl());
  if (requested === 'wasm') return initWasm(settings, notes);
  if (requested === 'cpu') return initCpu(settings, notes);

  try {
    const adapter = await probeWebgpu(settings);
    if (adapter.software) {
      notes.push(
        `webgpu: skipped, the adapter is a software implementation (${formatGpuAdapter(adapter)}), slower than wasm; ask for 'webgpu' by name to use it anyway.`,
      );
    } else {
      return await initWebgpu(settings, notes, adapter);
    }
  } catch (error) {
    notes.push(`webgpu: skipped, ${messageOf(error)}`);
  }
  const probe = probeWebgl();
  const skip = webglSkipReason(probe, settings);
  if (skip === undefined) {
    try {
      return await initWebgl(settings, notes, probe);
    } catch (error) {
      notes.push(`webgl: skipped, ${messageOf(error)}`);
    }
  } else {
    notes.push(`webgl: skipped, ${skip}`);
  }
  try {
    return await initWasm(settings, notes, probe);
  } catch (error) {
    notes.push(`wasm: skipped, ${messageOf(error)}`);
  }
  return initCpu(settings, notes, probe);
}

/** Why `auto` should not try WebGL, or `undefined` to try it. */
export function webglSkipReason(
  probe: WebglProbe | undefined,
  { allowSoftwareWebgl }: { allowSoftwareWebgl: boolean },
): string | undefined {
  if (probe === undefined)
    return 'no WebGL context here (no DOM, WebGL disabled or the GPU blocklisted).';
  if (probe.software && !allowSoftwareWebgl) {
    return `the renderer is a software rasteriser (${probe.renderer}), slower than wasm; pass allowSoftwareWebgl: true to use it anyway.`;
  }
  return undefined;
}
