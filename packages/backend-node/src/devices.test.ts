import { describe, expect, it } from 'vitest';
import { AUTO_ORDER, NODE_DEVICES, parseNodeDevice } from './index.js';

describe('device vocabulary', () => {
  it('accepts every device, case- and space-insensitively', () => {
    for (const device of NODE_DEVICES)
      expect(parseNodeDevice(` ${device.toUpperCase()} `)).toBe(device);
  });

  it('rejects an unknown device, listing the valid ones', () => {
    expect(() => parseNodeDevice('webgl')).toThrow(
      "unknown device 'webgl'; expected one of auto, cuda, tensorflow, wasm, cpu.",
    );
    expect(() => parseNodeDevice('gpu')).toThrow("(NVIDIA GPUs are 'cuda')");
  });

  it('auto tries the fastest first', () => {
    expect(AUTO_ORDER).toEqual(['cuda', 'tensorflow', 'wasm', 'cpu']);
  });
});
