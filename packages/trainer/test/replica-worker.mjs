// The worker entry of the data-parallel tests: the backend named in workerData, then a replica.
// With `failAt: n` the thread throws on its n-th gradient request, as a crashing worker would.
import { parentPort, workerData } from 'node:worker_threads';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@primer-ez/tensor-ops';
import { serveReplica } from '@primer-ez/trainer/worker-threads';
import * as tf from '@tensorflow/tfjs-core';

await tf.setBackend(workerData.backend);
await tf.ready();
if (workerData.failAt !== undefined) {
  let requests = 0;
  parentPort.on('message', (m) => {
    if (m.type === 'gradients' && ++requests === workerData.failAt)
      throw new Error('injected failure in a worker thread');
  });
}
serveReplica();
