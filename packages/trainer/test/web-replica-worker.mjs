// The worker entry of the web-workers tests, in a Node worker thread standing in for a Web Worker
// (same messages, same SharedArrayBuffers): it listens at once, as a Web Worker's entry must, and
// starts the backend named in workerData — a name tfjs lacks makes that promise reject.
import { parentPort, workerData } from 'node:worker_threads';
import '@tensorflow/tfjs-backend-wasm';
import '@primer-ez/tensor-ops';
import { serveWebReplica } from '@primer-ez/trainer/web-workers';
import * as tf from '@tensorflow/tfjs-core';

serveWebReplica(
  {
    postMessage: (message) => parentPort.postMessage(message),
    addEventListener: (_type, listener) => parentPort.on('message', (data) => listener({ data })),
  },
  (async () => {
    await tf.setBackend(workerData.backend);
    await tf.ready();
  })(),
);
