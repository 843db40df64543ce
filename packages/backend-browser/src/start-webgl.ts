// Starting WebGL: float32 or a refusal to train, the renderer named, a first computation checked.

import { restoreBackend } from '@primer-ez/backend-core';
import type { MathBackendWebGL } from '@tensorflow/tfjs-backend-webgl';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo } from './devices.js';
import { describeContext, isSoftwareRenderer, type WebglProbe } from './renderer.js';
import {
  activate,
  BackendInitError,
  isolated,
  type Settings,
  smokeTest,
  step,
} from './start-steps.js';

/** Starts tfjs-backend-webgl; `probe` (from before) supplies the renderer where tfjs hides it. */
export async function initWebgl(
  settings: Settings,
  notes: string[],
  probe: WebglProbe | undefined,
): Promise<BackendInfo> {
  const previous = tf.engine().backendName;
  await step(
    'webgl',
    settings,
    import('@tensorflow/tfjs-backend-webgl'),
    'loading @tensorflow/tfjs-backend-webgl',
  );
  if (tf.findBackendFactory('webgl') === null) {
    throw new BackendInitError(
      'webgl',
      "WebGL is not available here: @tensorflow/tfjs-backend-webgl registers its backend only in a browser (this looks like Node). Use 'wasm' or 'cpu'.",
    );
  }
  await activate('webgl', settings);
  const env = tf.env();
  const version = env.getNumber('WEBGL_VERSION');
  const float32 = env.getBool('WEBGL_RENDER_FLOAT32_CAPABLE');
  const gl = (tf.backend() as MathBackendWebGL).gpgpu?.gl;
  const { renderer, vendor } = gl
    ? describeContext(gl)
    : { renderer: probe?.renderer ?? '', vendor: '' };
  const software = probe?.software ?? isSoftwareRenderer(renderer);
  if (!float32 && settings.purpose === 'train') {
    await restoreBackend(previous);
    throw new BackendInitError(
      'webgl',
      `this GPU's WebGL ${version} renders only float16 textures (WEBGL_RENDER_FLOAT32_CAPABLE is false; ${renderer}). Training in float16 loses small gradient updates and overflows, so it is refused: train with 'wasm', or pass purpose: 'infer' to run inference on WebGL.`,
    );
  }
  await smokeTest('webgl', settings, previous);
  notes.push(
    `webgl: WebGL ${version} on ${renderer || 'an unnamed renderer'}${vendor ? ` (${vendor})` : ''}, ${float32 ? 'float32' : 'float16 only (inference; expect ~1e-3 differences from float32)'}${software ? '; a software renderer, slower than wasm' : ''}.`,
  );
  return {
    device: 'webgl',
    backend: tf.getBackend(),
    webglVersion: version,
    renderer,
    softwareRenderer: software,
    float32,
    simd: undefined,
    threads: 1,
    crossOriginIsolated: isolated(),
    notes,
  };
}
