import { describe, expect, it } from 'vitest';
import { describeContext, isSoftwareRenderer, probeWebgl, webglSkipReason } from './index.js';

describe('software renderers', () => {
  it.each([
    'ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero) (0x0000C0DE)), SwiftShader driver)',
    'Google SwiftShader',
    'llvmpipe (LLVM 15.0.6, 256 bits)',
    'ANGLE (Mesa, llvmpipe (LLVM 15.0.6 256 bits), OpenGL 4.5)',
    'ANGLE (Microsoft, Microsoft Basic Render Driver Direct3D11 vs_5_0 ps_5_0, D3D11)',
  ])('software: %s', (renderer) => {
    expect(isSoftwareRenderer(renderer)).toBe(true);
  });

  it.each([
    'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 (0x00002504) Direct3D11 vs_5_0 ps_5_0, D3D11)',
    'ANGLE (Apple, ANGLE Metal Renderer: Apple M2, Unspecified Version)',
    'Mali-G78',
    'ANGLE (Intel, Mesa Intel(R) UHD Graphics 620 (KBL GT2), OpenGL 4.6)',
  ])('hardware: %s', (renderer) => {
    expect(isSoftwareRenderer(renderer)).toBe(false);
  });
});

describe('describeContext', () => {
  const RENDERER = 0x1f01;
  const VENDOR = 0x1f00;
  const params: Record<number, string> = {
    [RENDERER]: 'WebKit WebGL',
    [VENDOR]: 'WebKit',
    37445: 'Google Inc. (NVIDIA)',
    37446: 'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060)',
  };
  const gl = (debugInfo: boolean) => ({
    RENDERER,
    VENDOR,
    getParameter: (name: number) => params[name] ?? null,
    getExtension: (name: string) => (debugInfo && name === 'WEBGL_debug_renderer_info' ? {} : null),
  });

  it('unmasks through WEBGL_debug_renderer_info', () => {
    expect(describeContext(gl(true))).toEqual({
      renderer: 'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060)',
      vendor: 'Google Inc. (NVIDIA)',
    });
  });

  it('falls back to the masked strings without it', () => {
    expect(describeContext(gl(false))).toEqual({ renderer: 'WebKit WebGL', vendor: 'WebKit' });
  });
});

describe('webglSkipReason', () => {
  const swiftshader = {
    version: 2,
    renderer: 'Google SwiftShader',
    vendor: 'Google',
    software: true,
  } as const;

  it('skips where there is no WebGL', () => {
    expect(probeWebgl()).toBeUndefined(); // Node: no canvas
    expect(webglSkipReason(undefined, { allowSoftwareWebgl: true })).toMatch(
      /^no WebGL context here/,
    );
  });

  it('skips a software renderer unless allowed', () => {
    expect(webglSkipReason(swiftshader, { allowSoftwareWebgl: false })).toBe(
      'the renderer is a software rasteriser (Google SwiftShader), slower than wasm; pass allowSoftwareWebgl: true to use it anyway.',
    );
    expect(webglSkipReason(swiftshader, { allowSoftwareWebgl: true })).toBeUndefined();
    expect(
      webglSkipReason({ ...swiftshader, software: false }, { allowSoftwareWebgl: false }),
    ).toBeUndefined();
  });
});
