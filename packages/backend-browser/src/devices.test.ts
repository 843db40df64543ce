import { describe, expect, it } from 'vitest';
import { BROWSER_DEVICES, parseBrowserDevice } from './index.js';

describe('device vocabulary', () => {
  it('accepts every device, case- and space-insensitively', () => {
    for (const device of BROWSER_DEVICES) {
      expect(parseBrowserDevice(` ${device.toUpperCase()} `)).toBe(device);
    }
  });

  it('rejects an unknown device, listing the valid ones', () => {
    expect(() => parseBrowserDevice('cuda')).toThrow(
      "unknown device 'cuda'; expected one of auto, webgpu, webgl, wasm, cpu.",
    );
  });
});
