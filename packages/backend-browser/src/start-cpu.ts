// Starting the plain-JavaScript cpu backend, the last resort.
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo } from './devices.js';
import type { WebglProbe } from './renderer.js';
import { activate, isolated, type Settings, smokeTest, step } from './start-steps.js';

/** The first sentence of the banner tfjs-backend-cpu prints on its first tensor in Node. */
const CPU_BANNER = 'Hi, looks like you are running TensorFlow.js in Node.js';

/** Starts tfjs-backend-cpu, without its Node banner. */
export async function initCpu(
  settings: Settings,
  notes: string[],
  probe?: WebglProbe,
): Promise<BackendInfo> {
  const previous = tf.engine().backendName;
  await step(
    'cpu',
    settings,
    import('@tensorflow/tfjs-backend-cpu'),
    'loading @tensorflow/tfjs-backend-cpu',
  );
  await activate('cpu', settings);
  // NOTE: in Node (tests, server-side rendering) the cpu backend prints a banner recommending
  // tfjs-node on its first tensor; the smoke test is that tensor, with that message filtered out.
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].includes(CPU_BANNER)) return;
    warn.apply(console, args);
  };
  try {
    await smokeTest('cpu', settings, previous);
  } finally {
    console.warn = warn;
  }
  notes.push('cpu: plain JavaScript, one thread (the slowest; a last resort).');
  return {
    device: 'cpu',
    backend: tf.getBackend(),
    webglVersion: probe?.version,
    renderer: probe?.renderer,
    softwareRenderer: probe?.software,
    float32: true,
    simd: false,
    threads: 1,
    crossOriginIsolated: isolated(),
    notes,
  };
}
