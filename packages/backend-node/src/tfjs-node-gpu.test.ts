// The real @tensorflow/tfjs-node-gpu, when it is installed (an optional peer dependency; it needs
// an NVIDIA GPU, CUDA 11.2 and cuDNN 8.1, and its install script downloads libtensorflow).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { installed, reportNotRun } from '../test/native.js';
import { BackendInitError, initBackend } from './index.js';

const reason =
  '@tensorflow/tfjs-node-gpu is not installed (optional peer dependency; it needs an NVIDIA GPU with CUDA 11.2 + cuDNN 8.1, and its install script downloads libtensorflow 2.9.1)';
if (!installed.cuda) reportNotRun("'cuda' device tests (src/tfjs-node-gpu.test.ts)", reason);

describe.skipIf(!installed.cuda)('cuda device (real @tensorflow/tfjs-node-gpu)', () => {
  it('either runs on the GPU, or refuses, saying why TensorFlow fell back to the CPU', async () => {
    try {
      const info = await initBackend('cuda');
      expect(info).toMatchObject({
        device: 'cuda',
        accelerator: 'gpu',
        tensorflowVersion: '2.9.1',
      });
      const c = tf.matMul(
        tf.tensor2d([
          [1, 2],
          [3, 4],
        ]),
        tf.tensor2d([
          [5, 6],
          [7, 8],
        ]),
      );
      expect(Array.from(c.dataSync())).toEqual([19, 22, 43, 50]);
    } catch (error) {
      expect(error).toBeInstanceOf(BackendInitError);
      expect((error as Error).message).toContain('found no usable GPU and is computing on the CPU');
      console.warn(`[backend-node] cuda: ${(error as Error).message}`);
    }
  });
});
