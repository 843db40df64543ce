// The real @tensorflow/tfjs-node, when it is installed (an optional peer dependency; its install
// script downloads libtensorflow, so CI does not install it).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { installed, reportNotRun } from '../test/native.js';
import { initBackend } from './index.js';

const reason =
  '@tensorflow/tfjs-node is not installed (optional peer dependency; its install script downloads libtensorflow 2.9.1, so CI leaves it out)';
if (!installed.tensorflow)
  reportNotRun("'tensorflow' device tests (src/tfjs-node.test.ts)", reason);

describe.skipIf(!installed.tensorflow)('tensorflow device (real @tensorflow/tfjs-node)', () => {
  it('initialises libtensorflow 2.9.1 and computes', async () => {
    const info = await initBackend('tensorflow');
    expect(info).toMatchObject({
      device: 'tensorflow',
      backend: 'tensorflow',
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
  });

  it('auto takes a native device', async () => {
    expect(['cuda', 'tensorflow']).toContain((await initBackend('auto')).device);
  });
});
