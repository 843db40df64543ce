// A worker thread of `--workers N`: the same backend as the main thread, then one replica of the
// model, answering the trainer's requests (see @primer-ez/trainer/worker-threads).
import { workerData } from 'node:worker_threads';
import { initBackend, type NodeDevice } from '@primer-ez/backend-node';
import { serveReplica } from '@primer-ez/trainer/worker-threads';

await initBackend((workerData as { device: NodeDevice }).device);
// Importing the ops registers tfjs-core's kernel gradients (training needs them).
await import('@primer-ez/tensor-ops');
serveReplica();
