// The backend conformance suite (@primer-ez/test-utils/conformance) on every Node device, each
// switched to with initBackend, the adapter under test: cpu (the reference, checked against
// PyTorch), wasm, webgpu (Dawn on SwiftShader's software Vulkan driver: slow, so two fixtures),
// and tfjs-node / tfjs-node-gpu where installed.
import { existsSync } from 'node:fs';
import * as layers from '@primer-ez/primer-layers';
import {
  type CaseLibrary,
  type ConformanceCase,
  describeConformance,
  runConformance,
} from '@primer-ez/test-utils/conformance';
import * as trainer from '@primer-ez/trainer';
import { initBackend, type ResolvedNodeDevice, SWIFTSHADER_ICD } from '../src/index.js';
import { installed, reportNotRun } from './native.js';

const lib = { ...layers, ...trainer } as unknown as CaseLibrary;
const ref = { lib, useCpu: async () => void (await initBackend('cpu')) };

function on(device: ResolvedNodeDevice) {
  return async (c: ConformanceCase) => {
    const info = await initBackend(device);
    if (info.device !== device) throw new Error(`asked for ${device}, got ${info.device}`);
    return runConformance(lib, c.files, c.batch);
  };
}

describeConformance(ref, { name: 'cpu (Node)', run: on('cpu') });
describeConformance(ref, { name: 'wasm (Node)', run: on('wasm'), tolerances: { loss: 1e-5 } });

if (!existsSync(SWIFTSHADER_ICD) && process.env.VK_ICD_FILENAMES === undefined) {
  throw new Error(
    `webgpu: no Vulkan driver to test on: apt-get install -y chromium-common libvulkan1 (scripts/ensure-chromium.sh does) for ${SWIFTSHADER_ICD}.`,
  );
}
process.env.VK_ICD_FILENAMES ??= SWIFTSHADER_ICD;
/**
 * SwiftShader compiles every kernel shape anew (~12 s a case here): two fixtures that between
 * them use every op (MDHA's per-channel dconv, squared ReLU, sinusoidal positions, the tied head).
 * The browser suite runs webgpu on the others.
 */
const WEBGPU_CASES = ['per_channel', 'sinusoidal_tied'] as const;
describeConformance(ref, { name: 'webgpu (Node, Dawn)', run: on('webgpu'), cases: WEBGPU_CASES });

for (const device of ['tensorflow', 'cuda'] as const) {
  if (installed[device]) describeConformance(ref, { name: `${device} (Node)`, run: on(device) });
  else
    reportNotRun(
      `conformance: ${device}`,
      `${device === 'cuda' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node'} is not installed`,
    );
}
