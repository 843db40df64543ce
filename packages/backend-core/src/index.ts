/**
 * What both backend adapters of primer-ez share: switching the tfjs backend under a deadline,
 * with tfjs's own reason in the error and the previous backend restored on failure, and
 * describing a WebGPU adapter (software or not).
 *
 * @packageDocumentation
 */
export {
  formatGpuAdapter,
  type GpuAdapterInfoLike,
  type GpuAdapterSummary,
  summariseGpuAdapter,
} from './gpu-adapter.js';
export { restoreBackend, switchBackend } from './set-backend.js';
export { TimeoutError, withTimeout } from './timeout.js';
