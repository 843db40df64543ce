// The one vocabulary of browser devices, and what initialising one reports.
import type { GpuAdapterSummary } from '@primer-ez/backend-core';

/** Every device `initBrowserBackend` takes. */
export const BROWSER_DEVICES = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;

/**
 * A browser device: `webgpu` (@tensorflow/tfjs-backend-webgpu on `navigator.gpu`), `webgl`
 * (@tensorflow/tfjs-backend-webgl, on the GPU), `wasm` (@tensorflow/tfjs-backend-wasm: XNNPACK
 * with SIMD, threads when cross-origin isolated), `cpu` (plain JavaScript), or `auto`: WebGPU on a
 * hardware adapter, else WebGL on a hardware GPU, else wasm, else cpu.
 */
export type BrowserDevice = (typeof BROWSER_DEVICES)[number];

/** A device `initBrowserBackend` can end up on (`auto` resolves to one of these). */
export type ResolvedBrowserDevice = Exclude<BrowserDevice, 'auto'>;

/** What the model will be used for: training refuses float16-only WebGL. */
export type Purpose = 'train' | 'infer';

/** What `initBrowserBackend` chose. */
export interface BackendInfo {
  /** The device in use (`auto` resolved). */
  readonly device: ResolvedBrowserDevice;
  /** The active tfjs backend, `tf.getBackend()`. */
  readonly backend: string;
  /** WebGL version found (2, 1, or 0 for none); `undefined` when WebGL was not looked at. */
  readonly webglVersion: number | undefined;
  /** The GPU's renderer string (unmasked where the browser allows), e.g. `ANGLE (…SwiftShader…)`. */
  readonly renderer: string | undefined;
  /** Whether the renderer is a software rasteriser (SwiftShader, llvmpipe, …). */
  readonly softwareRenderer: boolean | undefined;
  /** Whether the backend computes in float32 (WebGL: WEBGL_RENDER_FLOAT32_CAPABLE). */
  readonly float32: boolean;
  /** wasm: whether the SIMD build runs. */
  readonly simd: boolean | undefined;
  /** Threads the backend computes with (wasm: XNNPACK's pool; cpu: 1; webgl: 1, the GPU's own). */
  readonly threads: number;
  /** The WebGPU adapter (webgpu only): vendor, architecture, and whether it is software. */
  readonly adapter?: GpuAdapterSummary;
  /** Whether the page is cross-origin isolated (needed for wasm threads). */
  readonly crossOriginIsolated: boolean;
  /** Why this device was chosen, what was skipped and why, and any caveat. */
  readonly notes: readonly string[];
}

/**
 * Reads a device name (a URL parameter, a form), throwing an error that lists the valid values.
 *
 * @example
 * ```ts
 * parseBrowserDevice(new URLSearchParams(location.search).get('device') ?? 'auto');
 * ```
 */
export function parseBrowserDevice(value: string): BrowserDevice {
  const device = value.trim().toLowerCase();
  if ((BROWSER_DEVICES as readonly string[]).includes(device)) return device as BrowserDevice;
  throw new RangeError(`unknown device '${value}'; expected one of ${BROWSER_DEVICES.join(', ')}.`);
}
