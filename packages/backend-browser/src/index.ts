/**
 * Backend adapter of primer-ez for the browser: picks and initialises the tfjs backend — `webgpu`
 * (navigator.gpu on a hardware adapter), `webgl` (float32 WebGL on a hardware GPU), `wasm` (SIMD, threads when cross-origin isolated) or `cpu` —
 * with a deadline on every step, and says what it chose and why. The only module that names a
 * browser backend. Importing it loads no backend (each is imported when chosen), so it imports
 * cleanly in Node too.
 *
 * @packageDocumentation
 */

export {
  formatGpuAdapter,
  type GpuAdapterSummary,
  summariseGpuAdapter,
  TimeoutError,
  withTimeout,
} from '@primer-ez/backend-core';
export {
  type BackendInfo,
  BROWSER_DEVICES,
  type BrowserDevice,
  type Purpose,
  parseBrowserDevice,
  type ResolvedBrowserDevice,
} from './devices.js';
export {
  type BrowserBackendOptions,
  initBrowserBackend,
  webglSkipReason,
} from './init-browser-backend.js';
export { describeContext, isSoftwareRenderer, probeWebgl, type WebglProbe } from './renderer.js';
export { BackendInitError } from './start-steps.js';
export { WASM_FILES, type WasmPaths } from './start-wasm.js';
