// `--workers N`: data-parallel training (and scoring) on worker threads, one replica of the model
// per thread.
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

/** `--workers` of `eval`: the threads scoring batches of windows side by side. */
export const EVAL_WORKERS_FLAG: Flags = {
  workers: {
    type: 'int',
    min: 1,
    description:
      'threads scoring batches of windows side by side, each on a replica of the model (default: the cores, at most the batches; 1 on tensorflow and cuda, which thread themselves, and on webgpu, one GPU)',
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
  return Math.min(defaultWorkers(backend), batchSize);
}

/** The cores here; 1 where the backend threads itself or runs on one GPU. */
export function defaultWorkers(backend: BackendInfo): number {
  if (backend.threads > 1 || ['cuda', 'tensorflow', 'webgpu'].includes(backend.device)) return 1;
  return Math.max(1, availableParallelism());
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
