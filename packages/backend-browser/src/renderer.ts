// Which GPU WebGL runs on, found before tfjs touches it: a software rasteriser is slower than
// wasm, so `auto` should not pick WebGL there.

/** What a probe WebGL context reports. */
export interface WebglProbe {
  /** 2 for WebGL2, 1 for WebGL1. */
  version: 1 | 2;
  /** The renderer string, unmasked where the browser allows. */
  renderer: string;
  /** The vendor string, unmasked where the browser allows. */
  vendor: string;
  /** Whether `renderer` names a software rasteriser. */
  software: boolean;
}

/** Renderer strings of software rasterisers (Chrome's SwiftShader, Mesa, Windows WARP). */
const SOFTWARE = /swiftshader|llvmpipe|softpipe|lavapipe|software rasterizer|basic render driver/i;

/**
 * Whether a WebGL renderer string names a software rasteriser.
 *
 * @example
 * ```ts
 * isSoftwareRenderer('ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)'); // true
 * isSoftwareRenderer('ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)'); // false
 * ```
 */
export function isSoftwareRenderer(renderer: string): boolean {
  return SOFTWARE.test(renderer);
}

/** The parts of WebGL read here (WebGLRenderingContext and WebGL2RenderingContext share them). */
interface GlLike {
  RENDERER: number;
  VENDOR: number;
  getParameter(name: number): unknown;
  getExtension(name: string): unknown;
}

/** `WEBGL_debug_renderer_info`'s constants (the extension object carries them too). */
const UNMASKED_VENDOR_WEBGL = 0x9245;
const UNMASKED_RENDERER_WEBGL = 0x9246;

/** The renderer and vendor of a WebGL context, unmasked where the browser allows. */
export function describeContext(gl: GlLike): { renderer: string; vendor: string } {
  const masked = {
    renderer: String(gl.getParameter(gl.RENDERER) ?? ''),
    vendor: String(gl.getParameter(gl.VENDOR) ?? ''),
  };
  // NOTE: Firefox deprecates WEBGL_debug_renderer_info (and already unmasks RENDERER); Chrome
  // still needs the extension.
  if (gl.getExtension('WEBGL_debug_renderer_info') === null) return masked;
  return {
    renderer: String(gl.getParameter(UNMASKED_RENDERER_WEBGL) ?? masked.renderer),
    vendor: String(gl.getParameter(UNMASKED_VENDOR_WEBGL) ?? masked.vendor),
  };
}

/**
 * Opens a throwaway WebGL context (WebGL2, else WebGL1) and reports its renderer; `undefined`
 * where there is no WebGL (no DOM, a blocklisted GPU, WebGL disabled). The context is released.
 */
export function probeWebgl(): WebglProbe | undefined {
  const canvas = makeCanvas();
  if (canvas === undefined) return undefined;
  for (const version of [2, 1] as const) {
    let gl: GlLike | null = null;
    try {
      gl = canvas.getContext(version === 2 ? 'webgl2' : 'webgl') as GlLike | null;
    } catch {
      gl = null;
    }
    if (gl === null) continue;
    const { renderer, vendor } = describeContext(gl);
    (gl.getExtension('WEBGL_lose_context') as { loseContext(): void } | null)?.loseContext();
    return { version, renderer, vendor, software: isSoftwareRenderer(renderer) };
  }
  return undefined;
}

function makeCanvas(): { getContext(kind: string): unknown } | undefined {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(1, 1);
  if (typeof document !== 'undefined') return document.createElement('canvas');
  return undefined;
}
