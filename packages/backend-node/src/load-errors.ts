// Why an optional native package did not load, as a message that says what to install.
import {
  CUDA_LIBRARIES,
  CUDA_VERSION,
  CUDNN_VERSION,
  LIBTENSORFLOW_VERSION,
  TFJS_VERSION,
} from './cuda.js';
import type { ResolvedNodeDevice } from './devices.js';

/** The devices that load an optional native package. */
export type NativeDevice = Extract<ResolvedNodeDevice, 'cuda' | 'tensorflow'>;

/** The package each native device loads. */
export const NATIVE_PACKAGES = {
  cuda: '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
} as const satisfies Record<NativeDevice, string>;

/** Thrown when a requested device cannot be initialised; the message says what to do. */
export class BackendInitError extends Error {
  override name = 'BackendInitError';

  constructor(
    /** The device that failed. */
    readonly device: ResolvedNodeDevice,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** How loading a native package failed. */
export type LoadFailureKind = 'missing' | 'addon' | 'library' | 'other';

/** Sorts an `import()` error of `packageName` into the kinds the messages distinguish. */
export function classifyLoadFailure(
  packageName: string,
  error: unknown,
): { kind: LoadFailureKind; library?: string } {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  // Node: ERR_MODULE_NOT_FOUND "Cannot find package '@tensorflow/tfjs-node' imported from …";
  // vitest: 'Could not resolve "@tensorflow/tfjs-node" imported by …'; vite: "Failed to load url
  // @tensorflow/tfjs-node …". A missing *dependency* of the package names another module, and is
  // reported as a broken install instead.
  const notFound =
    code === 'ERR_MODULE_NOT_FOUND' ||
    code === 'MODULE_NOT_FOUND' ||
    /Cannot find (package|module)|Could not resolve|Failed to load url/.test(message);
  const named =
    message.includes(`'${packageName}'`) ||
    message.includes(`"${packageName}"`) ||
    new RegExp(`url ${packageName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w/-])`).test(
      message,
    );
  if (notFound && named) return { kind: 'missing' };
  if (message.includes('tfjs_binding.node')) return { kind: 'addon' };
  const library = /(lib[\w+-]+\.so[\w.]*): cannot open shared object file/.exec(message)?.[1];
  if (library !== undefined) return { kind: 'library', library };
  return { kind: 'other' };
}

const NEEDS = {
  cuda:
    `an NVIDIA GPU on Linux x64 with CUDA ${CUDA_VERSION} and cuDNN ${CUDNN_VERSION} ` +
    `(libtensorflow ${LIBTENSORFLOW_VERSION} loads ${CUDA_LIBRARIES.join(', ')}); ` +
    'with another CUDA major version it silently runs on the CPU',
  tensorflow: 'Linux x64, macOS x64 or Windows x64 (prebuilt libtensorflow for the CPU)',
} as const satisfies Record<NativeDevice, string>;

/**
 * The message for a native device that was requested but whose package did not load: which
 * package to install, what it needs, and the original error.
 *
 * @example
 * ```ts
 * describeLoadFailure('cuda', new Error("Cannot find package '@tensorflow/tfjs-node-gpu'"));
 * // "device 'cuda' needs @tensorflow/tfjs-node-gpu, which is not installed. Install it: …"
 * ```
 */
export function describeLoadFailure(device: NativeDevice, error: unknown): string {
  const pkg = NATIVE_PACKAGES[device];
  const { kind, library } = classifyLoadFailure(pkg, error);
  const detail = error instanceof Error ? error.message : String(error);
  const install =
    `\`npm install ${pkg}@${TFJS_VERSION}\` (its install script downloads libtensorflow ` +
    `${LIBTENSORFLOW_VERSION} and its native addon from storage.googleapis.com)`;
  const other =
    device === 'cuda'
      ? `Or choose another device: 'webgpu' runs on this GPU without CUDA (npm install webgpu@0.6; Vulkan), or 'tensorflow', 'wasm' or 'cpu' ('auto' picks the fastest that works).`
      : `Or choose another device: 'wasm' or 'cpu' ('auto' picks the fastest that works).`;
  switch (kind) {
    case 'missing':
      return `device '${device}' needs ${pkg}, which is not installed. Install it with ${install}; it needs ${NEEDS[device]}. ${other}`;
    case 'addon':
      return `device '${device}': ${pkg} is installed but its native addon (tfjs_binding.node) is missing: its install script did not run or failed (--ignore-scripts, no network). Run \`npm rebuild ${pkg}\` with network access; it needs ${NEEDS[device]}. ${other} (${firstLine(detail)})`;
    case 'library': {
      const cuda =
        library !== undefined && /cud|cublas|cufft|curand|cusolver|cusparse/.test(library);
      const why = cuda
        ? `the CUDA library ${library} is not on the library path: libtensorflow ${LIBTENSORFLOW_VERSION} needs CUDA ${CUDA_VERSION} and cuDNN ${CUDNN_VERSION} (add their lib folders to LD_LIBRARY_PATH)`
        : `the shared library ${library} could not be loaded: reinstall ${pkg} (\`npm rebuild ${pkg}\`) so its install script fetches libtensorflow ${LIBTENSORFLOW_VERSION} again`;
      return `device '${device}': ${pkg} failed to load because ${why}. ${other} (${firstLine(detail)})`;
    }
    default:
      return `device '${device}': ${pkg} failed to load: ${firstLine(detail)}. It needs ${NEEDS[device]}; reinstalling it with ${install} often helps. ${other}`;
  }
}

/** A short reason for `auto`'s notes: why a native device was skipped. */
export function describeSkip(device: NativeDevice, error: unknown): string {
  const pkg = NATIVE_PACKAGES[device];
  const { kind, library } = classifyLoadFailure(pkg, error);
  switch (kind) {
    case 'missing':
      return `${device}: skipped, ${pkg} is not installed (optional; npm install ${pkg}@${TFJS_VERSION}).`;
    case 'addon':
      return `${device}: skipped, ${pkg} is installed but its native addon is missing (npm rebuild ${pkg}).`;
    case 'library':
      return `${device}: skipped, ${pkg} could not load ${library}.`;
    default:
      return `${device}: skipped, ${pkg} failed to load: ${firstLine(error instanceof Error ? error.message : String(error))}.`;
  }
}

/** The first line of an error message, without its final full stop. */
function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').trim().replace(/\.$/, '');
}
