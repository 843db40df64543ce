/**
 * Backend adapter of primer-ez for Node: picks and initialises the tfjs backend — `cuda`
 * (@tensorflow/tfjs-node-gpu), `tensorflow` (@tensorflow/tfjs-node), `wasm` or `cpu` — and says
 * what it chose and why. The only module that names a Node backend.
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
  CUDA_LIBRARIES,
  CUDA_VERSION,
  CUDNN_VERSION,
  type CudaProbe,
  diagnoseGpuFallback,
  findCudaRuntimes,
  findLibraries,
  LIBTENSORFLOW_VERSION,
  type NvidiaSmiInfo,
  parseNvidiaSmi,
  parseVersion,
  probeCuda,
  TFJS_VERSION,
  versionLess,
} from './cuda.js';
export {
  AUTO_ORDER,
  type BackendInfo,
  NODE_DEVICES,
  type NodeDevice,
  parseNodeDevice,
  type ResolvedNodeDevice,
} from './devices.js';
export { formatBackendInfo, type InitBackendOptions, initBackend } from './init-backend.js';
export {
  noAdapterAdvice,
  SWIFTSHADER_ICD,
  WEBGPU_PACKAGE,
  WEBGPU_PACKAGE_VERSION,
} from './init-webgpu.js';
export {
  BackendInitError,
  classifyLoadFailure,
  describeLoadFailure,
  describeSkip,
  type LoadFailureKind,
  NATIVE_PACKAGES,
  type NativeDevice,
} from './load-errors.js';
