// Importing the package loads no backend (each is imported when chosen), so it is cheap and safe
// anywhere, Node included.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';

it('imports in Node without loading or registering any backend', async () => {
  const module = await import('./index.js');
  expect(typeof module.initBrowserBackend).toBe('function');
  for (const name of ['webgl', 'wasm', 'cpu']) expect(tf.findBackendFactory(name)).toBeNull();
});
