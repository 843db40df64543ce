import { describe, expect, it } from 'vitest';
import { AUTO_ORDER, NODE_DEVICES, parseNodeDevice } from './index.js';

describe('device vocabulary', () => {
  it('accepts every device, case- and space-insensitively', () => {
    for (const device of NODE_DEVICES)
      expect(parseNodeDevice(` ${device.toUpperCase()} `)).toBe(device);
  });

  it('rejects an unknown device, listing the valid ones', () => {
    expect(() => parseNodeDevice('webgl')).toThrow(
      "unknown device 'webgl'; expected one of auto, cuda, tensorflow, webgpu, wasm, cpu.",
    );
    expect(() => parseNodeDevice('gpu')).toThrow(
      "(any GPU: 'webgpu'; NVIDIA with CUDA 11.2: 'cuda')",
    );
  });

  it('auto tries the fastest first', () => {
    expect(AUTO_ORDER).toEqual(['cuda', 'tensorflow', 'webgpu', 'wasm', 'cpu']);
  });
});
