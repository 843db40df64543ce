import { describe, expect, it } from 'vitest';
import { formatGpuAdapter, summariseGpuAdapter } from './gpu-adapter.js';

describe('summariseGpuAdapter', () => {
  it('knows the software implementations by name', () => {
    for (const info of [
      { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0' },
      { vendor: 'mesa', architecture: '', device: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
      { vendor: '', architecture: '', description: 'lavapipe' },
      { vendor: 'microsoft', architecture: '', description: 'Microsoft Basic Render Driver' },
      { vendor: 'nvidia', architecture: 'ampere', isFallbackAdapter: true },
    ]) {
      expect(summariseGpuAdapter(info).software, JSON.stringify(info)).toBe(true);
    }
    expect(summariseGpuAdapter({ vendor: 'intel' }, true).software).toBe(true);
  });

  it('takes GPUs for hardware', () => {
    for (const info of [
      { vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA GeForce RTX 3090' },
      { vendor: 'amd', architecture: 'rdna-3', description: '' },
      { vendor: 'intel', architecture: 'gen-12lp', description: 'Intel(R) UHD Graphics' },
      { vendor: 'apple', architecture: 'metal-3', description: 'Apple M2' },
    ]) {
      expect(summariseGpuAdapter(info).software, JSON.stringify(info)).toBe(false);
    }
  });

  it('formats one phrase for logs', () => {
    expect(
      formatGpuAdapter(
        summariseGpuAdapter({
          vendor: 'google',
          architecture: 'swiftshader',
          device: 'swiftshader-device',
          description: 'SwiftShader driver 5.0.0',
        }),
      ),
    ).toBe('software adapter google swiftshader (SwiftShader driver 5.0.0)');
    expect(
      formatGpuAdapter(summariseGpuAdapter({ vendor: 'nvidia', architecture: 'ampere' })),
    ).toBe('nvidia ampere');
    expect(formatGpuAdapter(summariseGpuAdapter({}))).toBe('unknown');
  });
});
