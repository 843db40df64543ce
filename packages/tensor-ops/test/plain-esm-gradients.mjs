// Run by plain-node-esm.test.ts with plain `node` (no bundler, no vitest transforms).
// argv[2] = 'with' imports @primer-ez/tensor-ops (built dist) first; 'without' does not.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';

if (process.argv[2] === 'with') await import('@primer-ez/tensor-ops');
await tf.setBackend('cpu');
try {
  // Mul, Add, Sum and Transpose are ordinary kernels: their gradients come from the registry.
  const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
  const g = tf.grad((a) => tf.sum(tf.mul(tf.add(a, 1), tf.transpose(a))))(x);
  console.log(JSON.stringify({ ok: true, grad: Array.from(g.dataSync()) }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e.message ?? e) }));
}
