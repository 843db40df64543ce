// What a WebGPU adapter is, in words: vendor, architecture, and whether it is a software
// rasteriser (SwiftShader, llvmpipe, lavapipe, WARP) that computes on the CPU, slower than wasm.
// Shared by the Node adapter (Dawn) and the browser adapter (navigator.gpu).

/** The fields of a `GPUAdapterInfo` read here (all strings, possibly empty). */
export interface GpuAdapterInfoLike {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  /** Set by newer implementations on the info; older ones have it on the adapter. */
  readonly isFallbackAdapter?: boolean;
}

/** A WebGPU adapter as `info` reports it. */
export interface GpuAdapterSummary {
  /** e.g. `nvidia`, `amd`, `intel`, `apple`, `google` (SwiftShader). */
  readonly vendor: string;
  /** e.g. `ampere`, `rdna-3`, `gen-12lp`, `metal-3`, `swiftshader`. */
  readonly architecture: string;
  /** The device or driver description, e.g. `NVIDIA GeForce RTX 4090` or `SwiftShader driver 5.0.0`. */
  readonly description: string;
  /** A software implementation on the CPU: never picked by `auto`, usable by name. */
  readonly software: boolean;
}

/** Names of software WebGPU/Vulkan implementations, as they appear in adapter info. */
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software|microsoft basic render|\bwarp\b/i;

/**
 * Summarises a WebGPU adapter's info, deciding whether it is a software implementation.
 *
 * @param info `adapter.info` (Dawn and browsers), or what `requestAdapterInfo()` returned.
 * @param fallback `adapter.isFallbackAdapter` where the implementation has it on the adapter.
 * @example
 * ```ts
 * summariseGpuAdapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0' });
 * // { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0', software: true }
 * ```
 */
export function summariseGpuAdapter(info: GpuAdapterInfoLike, fallback = false): GpuAdapterSummary {
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const description = info.description || info.device || '';
  const software =
    fallback ||
    info.isFallbackAdapter === true ||
    SOFTWARE.test(`${vendor} ${architecture} ${info.device ?? ''} ${description}`);
  return { vendor, architecture, description, software };
}

/**
 * One phrase for logs, e.g. `nvidia ampere (NVIDIA GeForce RTX 3090)` or
 * `software adapter google swiftshader (SwiftShader driver 5.0.0)`.
 */
export function formatGpuAdapter(adapter: GpuAdapterSummary): string {
  const name =
    [adapter.vendor, adapter.architecture].filter((s) => s !== '').join(' ') || 'unknown';
  const description = adapter.description === '' ? '' : ` (${adapter.description})`;
  return `${adapter.software ? 'software adapter ' : ''}${name}${description}`;
}
