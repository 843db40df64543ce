// The webgpu device on a real Dawn (the npm package `webgpu`) with SwiftShader's Vulkan driver,
// the software GPU Debian's chromium-common ships: asked for by name it runs and says it is
// software; `auto` never picks it. Needs libvulkan1 and chromium-common (scripts/ensure-chromium.sh
// installs both); without them this file fails, saying so.
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatBackendInfo, initBackend, SWIFTSHADER_ICD } from './index.js';

describe('webgpu on Dawn (SwiftShader, software)', () => {
  beforeAll(() => {
    if (!existsSync(SWIFTSHADER_ICD)) {
      throw new Error(
        `${SWIFTSHADER_ICD} is missing: apt-get install -y chromium-common libvulkan1 (scripts/ensure-chromium.sh does).`,
      );
    }
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  });

  it('auto skips the software adapter, saying why', async () => {
    const info = await initBackend('auto');
    expect(info.device).toBe('wasm');
    expect(info.notes).toContain(
      "webgpu: skipped, the adapter is a software implementation (software adapter google swiftshader (SwiftShader driver 5.0.0)), slower than wasm; ask for 'webgpu' by name to use it anyway.",
    );
  });

  it('by name: runs on the adapter and reports it as software', async () => {
    const info = await initBackend('webgpu');
    expect(info).toMatchObject({
      device: 'webgpu',
      backend: 'webgpu',
      accelerator: 'cpu',
      adapter: { vendor: 'google', architecture: 'swiftshader', software: true },
    });
    expect(info.notes).toEqual([
      'webgpu: Dawn (webgpu) on software adapter google swiftshader (SwiftShader driver 5.0.0), computing on the CPU: slow, for tests.',
    ]);
    expect(formatBackendInfo(info)).toBe(
      'webgpu (backend webgpu, cpu, software adapter google swiftshader (SwiftShader driver 5.0.0))',
    );
    const a = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const c = tf.matMul(a, a);
    expect(Array.from(await c.data())).toEqual([7, 10, 15, 22]);
    // A synchronous read of a GPU tensor cannot work in Node (no OffscreenCanvas): say what to do.
    const d = tf.add(c, 1);
    expect(() => d.dataSync()).toThrow(
      'webgpu in Node cannot read a GPU tensor synchronously (dataSync, arraySync): await tensor.data() or tensor.array() instead.',
    );
    tf.dispose([a, c, d]);
  });
});
