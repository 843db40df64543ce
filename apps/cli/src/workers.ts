// `--workers N`: data-parallel training on worker threads, one replica of the model per thread.
import { availableParallelism } from 'node:os';
import type { BackendInfo } from '@primer-ez/backend-node';
import { startWorkerThreads, type WorkerThreadPool } from '@primer-ez/trainer/worker-threads';
import type { Flags } from './args.js';
import { UsageError } from './errors.js';

export const WORKERS_FLAG: Flags = {
  workers: {
    type: 'int',
    min: 1,
    description:
      'threads training data-parallel, each on a share of the batch (default: the cores, at most --batch-size; 1 on tensorflow and cuda, which thread themselves, and on webgpu, one GPU)',
  },
};

/** `--workers`, or its default for this backend and batch size. */
export function resolveWorkers(
  flag: number | undefined,
  backend: BackendInfo,
  batchSize: number,
): number {
  if (flag !== undefined) {
    if (flag > batchSize)
      throw new UsageError(
        `--workers ${flag} exceeds --batch-size ${batchSize}: each worker needs at least one window; use --workers ${batchSize} or fewer.`,
      );
    return flag;
  }
  if (backend.threads > 1 || ['cuda', 'tensorflow', 'webgpu'].includes(backend.device)) return 1;
  return Math.max(1, Math.min(availableParallelism(), batchSize));
}

/** The worker threads for `workers` (none for 1), on the same device as this thread. */
export function startReplicas(workers: number, backend: BackendInfo): WorkerThreadPool | undefined {
  if (workers <= 1) return undefined;
  return startWorkerThreads({
    count: workers - 1,
    script: new URL('./replica-worker.js', import.meta.url),
    workerData: { device: backend.device },
  });
}
