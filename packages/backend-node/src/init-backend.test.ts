import { values } from '@primer-ez/test-utils';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installed, reportNotRun } from '../test/native.js';
import type { CudaProbe } from './cuda.js';
import {
  BackendInitError,
  CUDA_LIBRARIES,
  formatBackendInfo,
  initBackend,
  parseNvidiaSmi,
} from './index.js';
import { type Environment, initBackendIn } from './init-backend.js';

/** 2×2 product, checked on whichever backend is active. */
function expectMatMulWorks(): void {
  const c = tf.matMul(
    tf.tensor2d([
      [1, 2],
      [3, 4],
    ]),
    tf.tensor2d([
      [5, 6],
      [7, 8],
    ]),
  );
  expect(values(c)).toEqual([19, 22, 43, 50]);
  tf.dispose(c);
}

describe('real backends', () => {
  it('cpu initialises and computes, without the "install tfjs-node" banner', async () => {
    // A fresh cpu backend, so that this initialisation is its first tensor write.
    const factory = tf.findBackendFactory('cpu')!;
    if (factory !== null) tf.removeBackend('cpu');
    await import('@tensorflow/tfjs-backend-cpu');
    if (tf.findBackendFactory('cpu') === null) tf.registerBackend('cpu', factory, 1);
    const warn = vi.spyOn(console, 'warn');
    const info = await initBackend('cpu');
    expect(info).toMatchObject({ device: 'cpu', backend: 'cpu', threads: 1, simd: false });
    expect(tf.getBackend()).toBe('cpu');
    expectMatMulWorks();
    const banner = warn.mock.calls.filter((c) =>
      String(c[0]).includes('looks like you are running'),
    );
    expect(banner).toEqual([]);
    warn.mockRestore();
  });

  it('wasm initialises with SIMD and one thread, and computes', async () => {
    const info = await initBackend('wasm');
    expect(info).toMatchObject({ device: 'wasm', backend: 'wasm', threads: 1, simd: true });
    expect(info.accelerator).toBe('cpu');
    expect(info.notes).toEqual([
      'wasm: XNNPACK with SIMD, 1 thread (tfjs does not run wasm threads in Node).',
    ]);
    expect(formatBackendInfo(info)).toBe('wasm (backend wasm, cpu, SIMD, 1 thread)');
    expectMatMulWorks();
  });

  const nativeInstalled = installed.cuda || installed.tensorflow;
  if (nativeInstalled) {
    reportNotRun(
      "'auto picks wasm here' and 'cuda / tensorflow requests fail when not installed'",
      'a native package is installed (these tests expect neither tfjs-node nor tfjs-node-gpu)',
    );
  }

  it.skipIf(nativeInstalled)(
    'auto picks wasm, saying why cuda and tensorflow were skipped',
    async () => {
      await tf.setBackend('cpu');
      const info = await initBackend();
      expect(info.device).toBe('wasm');
      expect(tf.getBackend()).toBe('wasm');
      expect(info.notes).toEqual([
        'cuda: skipped, @tensorflow/tfjs-node-gpu is not installed (optional; npm install @tensorflow/tfjs-node-gpu@4.22.0).',
        'tensorflow: skipped, @tensorflow/tfjs-node is not installed (optional; npm install @tensorflow/tfjs-node@4.22.0).',
        expect.stringMatching(
          // No GPU here: Dawn finds no adapter, or only a software one (VK_ICD_FILENAMES set).
          /^webgpu: skipped, (Dawn found no WebGPU adapter|the adapter is a software implementation \(software adapter google swiftshader)/,
        ),
        'wasm: XNNPACK with SIMD, 1 thread (tfjs does not run wasm threads in Node).',
      ]);
    },
  );

  it.skipIf(nativeInstalled)(
    'cuda and tensorflow asked for by name fail with what to install, and leave the backend as it was',
    async () => {
      await initBackend('wasm');
      const cuda = await initBackend('cuda').catch((e: unknown) => e);
      expect(cuda).toBeInstanceOf(BackendInitError);
      expect((cuda as BackendInitError).device).toBe('cuda');
      expect((cuda as Error).message).toMatch(
        /^device 'cuda' needs @tensorflow\/tfjs-node-gpu, which is not installed\. Install it with `npm install @tensorflow\/tfjs-node-gpu@4\.22\.0`.*CUDA 11\.2 and cuDNN 8\.1/,
      );
      await expect(initBackend('tensorflow')).rejects.toThrow(
        "device 'tensorflow' needs @tensorflow/tfjs-node, which is not installed. Install it with `npm install @tensorflow/tfjs-node@4.22.0`",
      );
      expect(tf.getBackend()).toBe('wasm');
    },
  );

  it('rejects an unknown device with the list of valid ones', async () => {
    await expect(initBackend('webgl' as never)).rejects.toThrow(
      "unknown device 'webgl'; expected one of auto, cuda, tensorflow, webgpu, wasm, cpu.",
    );
  });
});

// The native paths against a stand-in for tfjs-node(-gpu): a cpu backend registered as
// 'tensorflow' with the fields tfjs-node's NodeJSKernelBackend has (isGPUPackage,
// isUsingGpuDevice, binding.TF_Version), registered and switched to on import, as the real
// packages do.
describe('native devices, simulated', () => {
  const LIBS = Object.fromEntries(CUDA_LIBRARIES.map((name) => [name, `/usr/lib/${name}`]));
  const A100: CudaProbe = {
    nvidiaSmi: parseNvidiaSmi(
      'Driver Version: 550.54.15  CUDA Version: 12.4',
      'GPU 0: NVIDIA A100 (UUID: GPU-1)',
    ),
    libraries: LIBS,
    otherCudaRuntimes: [],
  };
  const CUDA12_ONLY: CudaProbe = {
    ...A100,
    libraries: { ...LIBS, 'libcudart.so.11.0': undefined },
    otherCudaRuntimes: ['libcudart.so.12'],
  };

  function environment(
    installedPackages: string[],
    { usingGpu = false, probe = A100 }: { usingGpu?: boolean; probe?: CudaProbe } = {},
  ): Environment & { imported: string[] } {
    const imported: string[] = [];
    return {
      imported,
      async importPackage(name) {
        imported.push(name);
        if (!installedPackages.includes(name)) {
          throw Object.assign(new Error(`Cannot find package '${name}' imported from /x.js`), {
            code: 'ERR_MODULE_NOT_FOUND',
          });
        }
        tf.registerBackend(
          'tensorflow',
          () =>
            Object.assign(new MathBackendCPU(), {
              isGPUPackage: name === '@tensorflow/tfjs-node-gpu',
              isUsingGpuDevice: usingGpu,
              binding: { TF_Version: '2.9.1' },
            }),
          3,
        );
        await tf.setBackend('tensorflow');
      },
      probeCuda: async () => probe,
    };
  }

  afterEach(async () => {
    await tf.setBackend('cpu');
    if (tf.findBackendFactory('tensorflow') !== null) tf.removeBackend('tensorflow');
  });

  it('cuda on a GPU: reports the GPU and libtensorflow', async () => {
    const info = await initBackendIn(
      environment(['@tensorflow/tfjs-node-gpu'], { usingGpu: true }),
      'cuda',
    );
    expect(info).toMatchObject({
      device: 'cuda',
      backend: 'tensorflow',
      accelerator: 'gpu',
      simd: true,
      devices: ['GPU 0: NVIDIA A100'],
      tensorflowVersion: '2.9.1',
    });
    expect(info.notes).toEqual([
      'cuda: @tensorflow/tfjs-node-gpu, libtensorflow 2.9.1 on the GPU (GPU 0: NVIDIA A100).',
    ]);
  });

  it('cuda asked for by name, but TensorFlow found no GPU: throws why, backend restored', async () => {
    await tf.setBackend('cpu');
    const env = environment(['@tensorflow/tfjs-node-gpu'], { probe: CUDA12_ONLY });
    const error = await initBackendIn(env, 'cuda').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendInitError);
    const message = (error as Error).message;
    expect(message).toContain(
      "device 'cuda': @tensorflow/tfjs-node-gpu loaded, but libtensorflow 2.9.1 found no usable GPU and is computing on the CPU.",
    );
    expect(message).toContain(
      'libcudart.so.11.0 (found libcudart.so.12: a different CUDA major version)',
    );
    expect(message).toContain("Ask for 'tensorflow' or 'auto' to run on the CPU knowingly.");
    expect(message).toContain("device 'webgpu' (npm install webgpu@0.6) runs on this GPU");
    expect(tf.getBackend()).toBe('cpu');
  });

  it('auto with tfjs-node-gpu on the CPU: uses its libtensorflow as tensorflow, and says so', async () => {
    const env = environment(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'], {
      probe: CUDA12_ONLY,
    });
    const info = await initBackendIn(env, 'auto');
    expect(info).toMatchObject({ device: 'tensorflow', backend: 'tensorflow', accelerator: 'cpu' });
    expect(env.imported).toEqual(['@tensorflow/tfjs-node-gpu']); // never two libtensorflows
    expect(info.notes[0]).toMatch(
      /^cuda: skipped, @tensorflow\/tfjs-node-gpu loaded, but libtensorflow 2\.9\.1 found no usable GPU/,
    );
    expect(info.notes[1]).toMatch(
      /^tensorflow: @tensorflow\/tfjs-node-gpu's libtensorflow 2\.9\.1 on the CPU \(\d+ threads\), in place of @tensorflow\/tfjs-node\.$/,
    );
  });

  it('auto with only tfjs-node: skips cuda, takes tensorflow', async () => {
    const env = environment(['@tensorflow/tfjs-node']);
    const info = await initBackendIn(env, 'auto');
    expect(info).toMatchObject({
      device: 'tensorflow',
      accelerator: 'cpu',
      tensorflowVersion: '2.9.1',
    });
    expect(info.notes[0]).toContain('cuda: skipped, @tensorflow/tfjs-node-gpu is not installed');
    expect(info.notes[1]).toMatch(
      /^tensorflow: @tensorflow\/tfjs-node, libtensorflow 2\.9\.1 on the CPU \(\d+ threads\)\.$/,
    );
  });

  it('cuda after tfjs-node (CPU) is loaded: refuses, since one process holds one libtensorflow', async () => {
    await initBackendIn(environment(['@tensorflow/tfjs-node']), 'tensorflow');
    await tf.setBackend('wasm');
    await expect(initBackendIn(environment(['@tensorflow/tfjs-node-gpu']), 'cuda')).rejects.toThrow(
      '@tensorflow/tfjs-node (the CPU build) is already loaded in this process',
    );
    expect(tf.getBackend()).toBe('wasm');
  });

  it('a broken install (native addon missing) says npm rebuild', async () => {
    const warn = vi.spyOn(console, 'warn');
    const env: Environment = {
      importPackage: async (name) => {
        if (name === 'webgpu') throw new Error("Cannot find package 'webgpu'");
        // As the real packages: kernels first (again, after the other package's), then the addon.
        console.warn("The kernel 'Add' for backend 'tensorflow' is already registered");
        throw new Error(
          'The Node.js native addon module (tfjs_binding.node) can not be found at path: /x/lib/napi-v8/tfjs_binding.node.',
        );
      },
      probeCuda: async () => A100,
    };
    await expect(initBackendIn(env, 'tensorflow')).rejects.toThrow(
      'Run `npm rebuild @tensorflow/tfjs-node`',
    );
    const info = await initBackendIn(env, 'auto');
    expect(info.device).toBe('wasm');
    expect(info.notes[1]).toBe(
      'tensorflow: skipped, @tensorflow/tfjs-node is installed but its native addon is missing (npm rebuild @tensorflow/tfjs-node).',
    );
    expect(warn).not.toHaveBeenCalled(); // one line per re-registered kernel, ~170, dropped
    warn.mockRestore();
  });

  it('a backend whose start never finishes times out, and tfjs stays usable', async () => {
    await tf.setBackend('cpu');
    const env: Environment = {
      importPackage: async () => {
        tf.registerBackend('tensorflow', () => new Promise<never>(() => {}), 3);
      },
      probeCuda: async () => A100,
    };
    await expect(initBackendIn(env, 'tensorflow', { timeoutMs: 50 })).rejects.toThrow(
      "device 'tensorflow': @tensorflow/tfjs-node failed to load: tf.setBackend('tensorflow') did not finish within 50 ms.",
    );
    expect(tf.getBackend()).toBe('cpu');
    expectMatMulWorks(); // no "Backend 'tensorflow' has not yet been initialized"
  });

  it('a package that hangs while loading times out', async () => {
    const env: Environment = {
      importPackage: () => new Promise(() => {}),
      probeCuda: async () => A100,
    };
    await expect(initBackendIn(env, 'tensorflow', { timeoutMs: 50 })).rejects.toThrow(
      'loading @tensorflow/tfjs-node did not finish within 50 ms.',
    );
  });
});
