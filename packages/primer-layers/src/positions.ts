import * as tf from '@tensorflow/tfjs-core';

/**
 * The sinusoidal position table `[T, C]`: `PE[p, 2i] = sin(p·ω_i)`, `PE[p, 2i+1] = cos(p·ω_i)`,
 * `ω_i = 10000^(-2i/C)`.
 */
export function sinusoidalPositions(positions: number, channels: number): tf.Tensor2D {
  const table = new Float32Array(positions * channels);
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < channels; j++) {
      const i2 = j - (j % 2);
      const angle = p * Math.exp((-i2 * Math.log(10000)) / channels);
      table[p * channels + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return tf.tensor2d(table, [positions, channels]);
}
