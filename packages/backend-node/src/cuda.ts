// What tfjs-node-gpu needs from CUDA, and why it may be running on the CPU.
//
// NOTE: @tensorflow/tfjs-node-gpu 4.22 wraps libtensorflow 2.9.1, built against CUDA 11.2 and
// cuDNN 8.1. libtensorflow dlopen()s the CUDA 11 runtime libraries when it starts; when one is
// missing (a machine with only CUDA 12, say) it logs "Could not load dynamic library …" and
// carries on with the CPU alone, and tfjs-node-gpu still loads. Its backend records whether
// TensorFlow found a GPU (`tf.backend().isUsingGpuDevice`, set from the TFE context's device
// list); the lines below only explain *why* when it did not, by heuristics: nvidia-smi for the
// driver, `ldconfig -p` and LD_LIBRARY_PATH for the libraries.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';

/** The tfjs version this adapter is built for. */
export const TFJS_VERSION = '4.22.0';
/** The libtensorflow that tfjs-node(-gpu) 4.22 downloads. */
export const LIBTENSORFLOW_VERSION = '2.9.1';
/** The CUDA toolkit libtensorflow 2.9.1 is built against (a driver for ≥ this is needed). */
export const CUDA_VERSION = '11.2';
/** The cuDNN libtensorflow 2.9.1 is built against. */
export const CUDNN_VERSION = '8.1';
/** The shared libraries libtensorflow 2.9.1 loads for the GPU (sonames of CUDA 11 / cuDNN 8). */
export const CUDA_LIBRARIES = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
] as const;

/** What the NVIDIA driver reports (`nvidia-smi` and `nvidia-smi -L`). */
export interface NvidiaSmiInfo {
  /** e.g. `535.104.05`. */
  driverVersion: string | undefined;
  /** The newest CUDA the driver supports, e.g. `12.2` (not the installed toolkit). */
  cudaVersion: string | undefined;
  /** e.g. `GPU 0: NVIDIA A100-SXM4-40GB`. */
  gpus: string[];
}

/** What the heuristics found on this machine. */
export interface CudaProbe {
  /** `undefined` when nvidia-smi is not installed or failed. */
  nvidiaSmi: NvidiaSmiInfo | undefined;
  /** Each of {@link CUDA_LIBRARIES} → where it was found, or `undefined`. */
  libraries: Record<string, string | undefined>;
  /** Other CUDA runtime versions found (e.g. `libcudart.so.12`), to say what is there instead. */
  otherCudaRuntimes: string[];
}

/**
 * Parses a version string `major.minor[.patch]` into numbers; `undefined` if it is not one.
 *
 * @example
 * ```ts
 * parseVersion('12.2'); // [12, 2]
 * parseVersion('CUDA Version: 11.4'); // undefined
 * ```
 */
export function parseVersion(text: string): number[] | undefined {
  const match = /^\s*(\d+(?:\.\d+)+)\s*$/.exec(text);
  return match ? (match[1] as string).split('.').map(Number) : undefined;
}

/** `a < b` for versions, comparing parts left to right (missing parts count as 0). */
export function versionLess(a: string, b: string): boolean {
  const x = parseVersion(a) ?? [];
  const y = parseVersion(b) ?? [];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d < 0;
  }
  return false;
}

/**
 * Reads the driver and CUDA versions from `nvidia-smi`'s header and the GPUs from
 * `nvidia-smi -L`.
 *
 * @example
 * ```ts
 * parseNvidiaSmi('| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2 |',
 *   'GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-…)');
 * // { driverVersion: '535.104.05', cudaVersion: '12.2', gpus: ['GPU 0: NVIDIA A100-SXM4-40GB'] }
 * ```
 */
export function parseNvidiaSmi(header: string, list = ''): NvidiaSmiInfo {
  return {
    driverVersion: /Driver Version:\s*([\d.]+)/.exec(header)?.[1],
    cudaVersion: /CUDA Version:\s*([\d.]+)/.exec(header)?.[1],
    gpus: list
      .split('\n')
      .map((line) => line.replace(/\s*\(UUID:[^)]*\)\s*$/, '').trim())
      .filter((line) => /^GPU \d+:/.test(line)),
  };
}

/**
 * Finds shared libraries by soname in `ldconfig -p` output and in directory listings (the
 * folders of LD_LIBRARY_PATH). Returns each name's path, or `undefined`.
 */
export function findLibraries(
  names: readonly string[],
  ldconfig: string,
  folders: readonly { dir: string; files: readonly string[] }[] = [],
): Record<string, string | undefined> {
  const found: Record<string, string | undefined> = {};
  for (const name of names) {
    const fromFolders = folders.find((f) => f.files.includes(name));
    const line = ldconfig
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith(`${name} `));
    found[name] = fromFolders
      ? `${fromFolders.dir}/${name}`
      : line?.slice(line.lastIndexOf('=>') + 2).trim();
  }
  return found;
}

/** CUDA runtime sonames (`libcudart.so.N[.M]`) present in `ldconfig -p` output or folders. */
export function findCudaRuntimes(
  ldconfig: string,
  folders: readonly { dir: string; files: readonly string[] }[] = [],
): string[] {
  const names = new Set<string>();
  for (const m of ldconfig.matchAll(/\b(libcudart\.so\.\d+(?:\.\d+)?)\s/g))
    names.add(m[1] as string);
  for (const f of folders) {
    for (const file of f.files) if (/^libcudart\.so\.\d+(\.\d+)?$/.test(file)) names.add(file);
  }
  return [...names].sort();
}

/**
 * Why tfjs-node-gpu runs on the CPU, from what the heuristics found. The first sentence states the
 * fact (TensorFlow found no GPU); the rest is the likely cause.
 */
export function diagnoseGpuFallback(probe: CudaProbe): string {
  const fact =
    `@tensorflow/tfjs-node-gpu loaded, but libtensorflow ${LIBTENSORFLOW_VERSION} found no usable ` +
    'GPU and is computing on the CPU.';
  const needs = `It needs CUDA ${CUDA_VERSION} and cuDNN ${CUDNN_VERSION}.`;
  const smi = probe.nvidiaSmi;
  if (smi === undefined) {
    return `${fact} nvidia-smi is not available, so there is probably no NVIDIA driver (or GPU) here. ${needs}`;
  }
  if (smi.cudaVersion !== undefined && versionLess(smi.cudaVersion, CUDA_VERSION)) {
    const driver = smi.driverVersion === undefined ? '' : ` ${smi.driverVersion}`;
    return `${fact} The NVIDIA driver${driver} supports CUDA up to ${smi.cudaVersion}, older than the ${CUDA_VERSION} libtensorflow ${LIBTENSORFLOW_VERSION} needs: update the driver. ${needs}`;
  }
  const missing = CUDA_LIBRARIES.filter((name) => probe.libraries[name] === undefined);
  if (missing.length > 0) {
    const others = probe.otherCudaRuntimes.filter((name) => name !== 'libcudart.so.11.0');
    const instead =
      others.length > 0 ? ` (found ${others.join(', ')}: a different CUDA major version)` : '';
    return `${fact} ${needs} Not found on the library path (ldconfig -p, LD_LIBRARY_PATH): ${missing.join(', ')}${instead}. Install the CUDA ${CUDA_VERSION} runtime and cuDNN ${CUDNN_VERSION} alongside any newer CUDA and add their lib folders to LD_LIBRARY_PATH; libtensorflow's "Could not load dynamic library" lines above name what it missed.`;
  }
  return `${fact} The CUDA ${CUDA_VERSION} and cuDNN ${CUDNN_VERSION} libraries appear to be present (${smi.gpus.length} GPU(s) listed by nvidia-smi); see libtensorflow's log lines above for the reason (e.g. CUDA_VISIBLE_DEVICES, an unsupported GPU architecture).`;
}

/** Runs a command with a timeout; its stdout, or `undefined` if it is missing or fails. */
function run(command: string, args: string[], timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout) =>
      resolve(error ? undefined : stdout),
    );
  });
}

/** Lists the folders of LD_LIBRARY_PATH (unreadable ones are skipped). */
function libraryPathFolders(): { dir: string; files: string[] }[] {
  return (process.env.LD_LIBRARY_PATH ?? '')
    .split(':')
    .filter((dir) => dir !== '')
    .flatMap((dir) => {
      try {
        return [{ dir, files: readdirSync(dir) }];
      } catch {
        return [];
      }
    });
}

/** Runs the heuristics: nvidia-smi (driver, GPUs) and the library search. Never throws. */
export async function probeCuda(timeoutMs = 5000): Promise<CudaProbe> {
  const [header, list, ldconfig] = await Promise.all([
    run('nvidia-smi', [], timeoutMs),
    run('nvidia-smi', ['-L'], timeoutMs),
    run('ldconfig', ['-p'], timeoutMs).then(
      async (out) => out ?? (await run('/sbin/ldconfig', ['-p'], timeoutMs)) ?? '',
    ),
  ]);
  const folders = libraryPathFolders();
  return {
    nvidiaSmi: header === undefined ? undefined : parseNvidiaSmi(header, list ?? ''),
    libraries: findLibraries(CUDA_LIBRARIES, ldconfig, folders),
    otherCudaRuntimes: findCudaRuntimes(ldconfig, folders),
  };
}
