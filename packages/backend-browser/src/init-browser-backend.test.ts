// initBrowserBackend where it can be checked without a browser: in Node (no WebGL), and against a
// stand-in 'webgl' backend (the cpu backend and kernels under that name) to reach the float16
// refusal and the deadline. The real WebGL runs in test/browser-parity.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendInitError, initBrowserBackend } from './index.js';

/** Replaces the 'webgl' backend with the cpu backend under that name (or one that never starts). */
async function fakeWebgl({ hang = false } = {}): Promise<void> {
  const { MathBackendCPU } = await import('@tensorflow/tfjs-backend-cpu');
  await import('@tensorflow/tfjs-backend-webgl'); // registers the WEBGL_* flags (no backend in Node)
  for (const kernel of tf.getKernelsForBackend('webgl'))
    tf.unregisterKernel(kernel.kernelName, 'webgl');
  for (const kernel of tf.getKernelsForBackend('cpu'))
    tf.registerKernel({ ...kernel, backendName: 'webgl' });
  if (tf.findBackendFactory('webgl') !== null) tf.removeBackend('webgl');
  // `firstUse: false` keeps the cpu backend's "install tfjs-node" banner quiet under this name.
  const backend = () => Object.assign(new MathBackendCPU(), { firstUse: false });
  tf.registerBackend('webgl', () => (hang ? new Promise<never>(() => {}) : backend()), 2);
}

describe('in Node', () => {
  it('auto takes wasm, saying there is no WebGPU or WebGL', async () => {
    const info = await initBrowserBackend('auto');
    expect(info).toMatchObject({
      device: 'wasm',
      backend: 'wasm',
      float32: true,
      simd: true,
      threads: 1,
      crossOriginIsolated: false,
    });
    expect(info.notes).toEqual([
      'webgpu: skipped, WebGPU is not available here (no navigator.gpu): it needs Chrome or Edge 113+, Safari 26+ or Firefox 141+ (Windows), and a secure context (https:// or http://localhost).',
      'webgl: skipped, no WebGL context here (no DOM, WebGL disabled or the GPU blocklisted).',
      'wasm: XNNPACK with SIMD, 1 thread (the page is not cross-origin isolated: serve it with COOP same-origin and COEP require-corp for threads).',
    ]);
    const sum = tf.add(tf.scalar(2), tf.scalar(3));
    expect(sum.dataSync()[0]).toBe(5);
    sum.dispose();
  });

  it('webgpu asked for by name without navigator.gpu: a clear error', async () => {
    await expect(initBrowserBackend('webgpu')).rejects.toThrow(
      /^WebGPU is not available here \(no navigator\.gpu\)/,
    );
  });

  it('webgl asked for by name: a clear error, and the backend left as it was', async () => {
    await initBrowserBackend('wasm');
    const error = await initBrowserBackend('webgl').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendInitError);
    expect((error as BackendInitError).device).toBe('webgl');
    expect((error as Error).message).toBe(
      "WebGL is not available here: @tensorflow/tfjs-backend-webgl registers its backend only in a browser (this looks like Node). Use 'wasm' or 'cpu'.",
    );
    expect(tf.getBackend()).toBe('wasm');
  });

  it('cpu: works, without the "install tfjs-node" banner', async () => {
    const warn = vi.spyOn(console, 'warn');
    const info = await initBrowserBackend('cpu');
    expect(info).toMatchObject({
      device: 'cpu',
      backend: 'cpu',
      threads: 1,
      simd: false,
      float32: true,
    });
    expect(
      warn.mock.calls.filter((c) => String(c[0]).includes('looks like you are running')),
    ).toEqual([]);
    warn.mockRestore();
  });

  it('rejects an unknown device with the list of valid ones', async () => {
    await expect(initBrowserBackend('gpu' as never)).rejects.toThrow(
      "unknown device 'gpu'; expected one of auto, webgpu, webgl, wasm, cpu.",
    );
  });
});

describe("against a stand-in 'webgl' backend", () => {
  afterEach(async () => {
    await tf.setBackend('cpu');
    tf.env().reset();
  });

  it('float16-only WebGL: refuses to train, restoring the previous backend; infers with a note', async () => {
    await fakeWebgl();
    await initBrowserBackend('cpu');
    tf.env().set('WEBGL_VERSION', 2);
    tf.env().set('WEBGL_RENDER_FLOAT32_CAPABLE', false);
    await expect(initBrowserBackend('webgl')).rejects.toThrow(
      "this GPU's WebGL 2 renders only float16 textures (WEBGL_RENDER_FLOAT32_CAPABLE is false; ). Training in float16 loses small gradient updates and overflows, so it is refused: train with 'wasm', or pass purpose: 'infer' to run inference on WebGL.",
    );
    expect(tf.getBackend()).toBe('cpu');
    const info = await initBrowserBackend('webgl', { purpose: 'infer' });
    expect(info).toMatchObject({
      device: 'webgl',
      backend: 'webgl',
      webglVersion: 2,
      float32: false,
    });
    expect(info.notes).toEqual([
      'webgl: WebGL 2 on an unnamed renderer, float16 only (inference; expect ~1e-3 differences from float32).',
    ]);
  });

  it('a WebGL start that never finishes times out, and tfjs stays usable on the previous backend', async () => {
    await fakeWebgl({ hang: true });
    await initBrowserBackend('cpu');
    const start = Date.now();
    await expect(initBrowserBackend('webgl', { timeoutMs: 100 })).rejects.toThrow(
      "tf.setBackend('webgl') did not finish within 100 ms.",
    );
    expect(Date.now() - start).toBeLessThan(2000);
    expect(tf.getBackend()).toBe('cpu');
    // Without dropping the pending start, every op would throw "Backend 'webgl' has not yet been
    // initialized"; and the backend can be tried again.
    const sum = tf.add(tf.scalar(1), tf.scalar(2));
    expect(sum.dataSync()[0]).toBe(3);
    sum.dispose();
    expect(tf.findBackendFactory('webgl')).not.toBeNull();
    await tf.ready();
  });
});
