import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { restoreBackend, switchBackend } from './set-backend.js';
import { TimeoutError } from './timeout.js';

it('switches to a backend that initialises', async () => {
  await switchBackend('cpu', 5_000);
  expect(tf.getBackend()).toBe('cpu');
});

it("gives tfjs's reason and keeps the previous backend when initialisation fails", async () => {
  await switchBackend('cpu', 5_000);
  tf.registerBackend('broken', () => {
    throw new Error('no device here');
  });
  await expect(switchBackend('broken', 5_000)).rejects.toThrow(
    "tf.setBackend('broken') failed: Error: no device here.",
  );
  expect(tf.getBackend()).toBe('cpu');
  tf.removeBackend('broken');
});

it('gives up on a hung initialisation at the deadline and stays usable', async () => {
  await switchBackend('cpu', 5_000);
  tf.registerBackend('hung', () => new Promise(() => {}));
  await expect(switchBackend('hung', 50)).rejects.toBeInstanceOf(TimeoutError);
  expect(tf.getBackend()).toBe('cpu');
  expect(tf.add(1, 2).dataSync()[0]).toBe(3);
  await restoreBackend('cpu');
  tf.removeBackend('hung');
});
