import { describe, expect, it } from 'vitest';
import {
  CUDA_LIBRARIES,
  type CudaProbe,
  diagnoseGpuFallback,
  findCudaRuntimes,
  findLibraries,
  parseNvidiaSmi,
  parseVersion,
  versionLess,
} from './index.js';

// The shapes of `nvidia-smi`, `nvidia-smi -L` and `ldconfig -p` output.
const SMI_HEADER = `Mon Nov 24 10:12:01 2025
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
|   0  NVIDIA A100-SXM4-40GB          On  |   00000000:07:00.0 Off |                    0 |
+-----------------------------------------+------------------------+----------------------+`;
const SMI_LIST = `GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-5c8f1e2a-0b1c-4d2e-9f3a-1b2c3d4e5f60)
GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-6d9f2f3b-1c2d-5e3f-a04b-2c3d4e5f6071)
`;
const LDCONFIG_CUDA12 = `812 libs found in cache \`/etc/ld.so.cache'
\tlibcudart.so.12 (libc6,x86-64) => /usr/local/cuda-12.4/targets/x86_64-linux/lib/libcudart.so.12
\tlibcudart.so (libc6,x86-64) => /usr/local/cuda-12.4/targets/x86_64-linux/lib/libcudart.so
\tlibcublas.so.12 (libc6,x86-64) => /usr/local/cuda-12.4/targets/x86_64-linux/lib/libcublas.so.12
\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6
`;

function probe(over: Partial<CudaProbe>): CudaProbe {
  const libraries = Object.fromEntries(CUDA_LIBRARIES.map((name) => [name, `/usr/lib/${name}`]));
  return {
    nvidiaSmi: parseNvidiaSmi(SMI_HEADER, SMI_LIST),
    libraries,
    otherCudaRuntimes: [],
    ...over,
  };
}

describe('versions', () => {
  it('parses and compares versions', () => {
    expect(parseVersion('12.4')).toEqual([12, 4]);
    expect(parseVersion(' 535.104.05 ')).toEqual([535, 104, 5]);
    expect(parseVersion('12')).toBeUndefined();
    expect(parseVersion('CUDA Version: 12.4')).toBeUndefined();
    expect(versionLess('11.0', '11.2')).toBe(true);
    expect(versionLess('11.2', '11.2')).toBe(false);
    expect(versionLess('12.4', '11.2')).toBe(false);
    expect(versionLess('11.10', '11.2')).toBe(false);
  });
});

describe('nvidia-smi', () => {
  it('reads the driver, the CUDA version it supports and the GPUs', () => {
    expect(parseNvidiaSmi(SMI_HEADER, SMI_LIST)).toEqual({
      driverVersion: '550.54.15',
      cudaVersion: '12.4',
      gpus: ['GPU 0: NVIDIA A100-SXM4-40GB', 'GPU 1: NVIDIA A100-SXM4-40GB'],
    });
    expect(parseNvidiaSmi('garbage')).toEqual({
      driverVersion: undefined,
      cudaVersion: undefined,
      gpus: [],
    });
  });
});

describe('library search', () => {
  it('finds sonames in ldconfig -p and in LD_LIBRARY_PATH folders', () => {
    const found = findLibraries(
      ['libcudart.so.11.0', 'libcudart.so.12', 'libcudnn.so.8'],
      LDCONFIG_CUDA12,
      [{ dir: '/opt/cudnn/lib', files: ['libcudnn.so.8', 'libcudnn.so.8.1.0'] }],
    );
    expect(found).toEqual({
      'libcudart.so.11.0': undefined,
      'libcudart.so.12': '/usr/local/cuda-12.4/targets/x86_64-linux/lib/libcudart.so.12',
      'libcudnn.so.8': '/opt/cudnn/lib/libcudnn.so.8',
    });
    expect(
      findCudaRuntimes(LDCONFIG_CUDA12, [{ dir: '/x', files: ['libcudart.so.11.0'] }]),
    ).toEqual(['libcudart.so.11.0', 'libcudart.so.12']);
  });
});

describe('diagnoseGpuFallback', () => {
  it('says TensorFlow runs on the CPU, and why: no driver', () => {
    const text = diagnoseGpuFallback(probe({ nvidiaSmi: undefined }));
    expect(text).toMatch(
      /^@tensorflow\/tfjs-node-gpu loaded, but libtensorflow 2\.9\.1 found no usable GPU and is computing on the CPU\./,
    );
    expect(text).toContain('nvidia-smi is not available');
    expect(text).toContain('CUDA 11.2 and cuDNN 8.1');
  });

  it('why: a driver too old for CUDA 11.2', () => {
    const old = parseNvidiaSmi('Driver Version: 450.80.02   CUDA Version: 11.0');
    expect(diagnoseGpuFallback(probe({ nvidiaSmi: old }))).toContain(
      'The NVIDIA driver 450.80.02 supports CUDA up to 11.0, older than the 11.2 libtensorflow 2.9.1 needs',
    );
  });

  it('why: only a newer CUDA installed (the CUDA 11 libraries are missing)', () => {
    const libraries = findLibraries(CUDA_LIBRARIES, LDCONFIG_CUDA12);
    const text = diagnoseGpuFallback(
      probe({ libraries, otherCudaRuntimes: findCudaRuntimes(LDCONFIG_CUDA12) }),
    );
    expect(text).toContain(
      'Not found on the library path (ldconfig -p, LD_LIBRARY_PATH): libcudart.so.11.0, ',
    );
    expect(text).toContain('libcudnn.so.8 (found libcudart.so.12: a different CUDA major version)');
    expect(text).toContain('LD_LIBRARY_PATH');
  });

  it('everything looks present: points at libtensorflow log', () => {
    expect(diagnoseGpuFallback(probe({}))).toContain(
      'appear to be present (2 GPU(s) listed by nvidia-smi)',
    );
  });
});
