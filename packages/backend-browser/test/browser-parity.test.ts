// The backend conformance suite (@primer-ez/test-utils/conformance) in real headless Chromium —
// WebGPU and WebGL on SwiftShader, and wasm — against the Node cpu reference: the same checkpoint
// files, loaded in the page, give the same logits, loss, gradients, AdamW steps, evaluation and
// cached decoding, with flat tensor counts. Then the adapter's own behaviour in a real browser
// (auto's choices, threaded wasm, float16 WebGL, missing .wasm files). Needs /usr/bin/chromium
// (`apt-get install -y chromium`); without it this file fails, saying so.
import { Buffer } from 'node:buffer';
import * as layers from '@primer-ez/primer-layers';
import {
  type CaseLibrary,
  type CaseName,
  type ConformanceCase,
  type ConformanceResult,
  compareResults,
  decodeResult,
  describeConformance,
  maxAbsDiff,
  reference,
  SEEDED_CASE,
  TOLERANCES,
} from '@primer-ez/test-utils/conformance';
import * as trainer from '@primer-ez/trainer';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo, BrowserBackendOptions, BrowserDevice } from '../src/index.js';
import { initBrowserBackend } from '../src/index.js';
import { type Harness, type ServedFiles, startHarness } from './browser-harness.js';

const lib = { ...layers, ...trainer } as unknown as CaseLibrary;
const ref = { lib, useCpu: async () => void (await initBrowserBackend('cpu')) };
const LOGITS_TOL = TOLERANCES.logits;

/** The harness serves @tensorflow/tfjs-backend-wasm/dist/ here too (the page itself uses Vite's URLs). */
const WASM_PREFIX = '/wasm/';

interface ParityWindow {
  primerParity: {
    init(device: BrowserDevice, options: BrowserBackendOptions): Promise<BackendInfo>;
    backend(): string;
    forceFloat16(): Promise<void>;
    run(name: string): Promise<unknown>;
    forward(name: string): Promise<string>;
  };
}

function decode(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  return new Float32Array(
    bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  );
}

function init(page: Page, device: BrowserDevice, options: BrowserBackendOptions = {}) {
  return page.evaluate(([d, o]) => (window as unknown as ParityWindow).primerParity.init(d, o), [
    device,
    options,
  ] as const);
}

async function run(page: Page, name: string): Promise<ConformanceResult> {
  const encoded = await page.evaluate(
    (n) => (window as unknown as ParityWindow).primerParity.run(n),
    name,
  );
  return decodeResult(encoded, decode);
}

/** One browser and server for the whole file, started with the cases once. */
let harnessStart: Promise<{ harness: Harness; page: Page }> | undefined;
function shared(cases: readonly ConformanceCase[]) {
  harnessStart ??= (async () => {
    const served: ServedFiles = new Map(
      cases.map((c) => [
        c.name,
        new Map<string, Uint8Array | string>([
          ['config.json', c.files.config],
          ['model.safetensors', c.files.weights],
          ['batch.json', JSON.stringify(c.batch)],
        ]),
      ]),
    );
    const harness = await startHarness(served);
    return { harness, page: await harness.open() };
  })();
  return harnessStart;
}
afterAll(async () => {
  await (await harnessStart)?.harness.close();
});

/** Fails with the page's log attached, to see what the browser said. */
async function withLog<T>(promise: Promise<T>): Promise<T> {
  return promise.catch(async (error: unknown) => {
    const log = (await harnessStart)?.harness.log.slice(-40).join('\n') ?? '';
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- page log ---\n${log}`,
    );
  });
}

/**
 * WebGPU on SwiftShader compiles every kernel shape anew (~10–50 s a case here): vanilla attention
 * and the seeded model with dropout; the Node webgpu suite runs per_channel and sinusoidal_tied.
 */
const WEBGPU_CASES: readonly CaseName[] = ['vanilla', SEEDED_CASE];

for (const device of ['webgpu', 'webgl', 'wasm'] as const) {
  let page: Page;
  describeConformance(ref, {
    name: `${device} (Chromium)`,
    async setup(cases) {
      ({ page } = await withLog(shared(cases)));
    },
    async run(c) {
      const info = await withLog(init(page, device));
      if (info.device !== device) throw new Error(`asked for ${device}, got ${info.device}`);
      const got = await withLog(run(page, c.name));
      const backend = await page.evaluate(() =>
        (window as unknown as ParityWindow).primerParity.backend(),
      );
      if (backend !== device) throw new Error(`ran on ${backend}, not ${device}`);
      return got;
    },
    ...(device === 'webgpu' ? { cases: WEBGPU_CASES } : {}),
  });
}

describe('the browser adapter in headless Chromium', () => {
  const summary: string[] = [];
  let results: Map<string, ConformanceResult>;
  let harness: Harness;
  let page: Page;

  beforeAll(async () => {
    const r = await reference(ref);
    results = r.results;
    ({ harness, page } = await withLog(shared(r.cases)));
  }, 600_000);

  afterAll(() => {
    if (summary.length > 0) {
      console.log(`[backend-browser] max |diff| against Node cpu:\n${summary.join('\n')}`);
    }
  });

  const compare = (name: string, got: ConformanceResult) => compareResults(results.get(name)!, got);

  it('auto passes over the software WebGPU adapter and WebGL renderer and takes wasm, saying why', async () => {
    const info = await withLog(init(page, 'auto'));
    expect(info).toMatchObject({
      device: 'wasm',
      backend: 'wasm',
      webglVersion: 2,
      softwareRenderer: true,
      simd: true,
    });
    expect(info.renderer).toMatch(/SwiftShader/);
    expect(info.notes[0]).toMatch(
      /^webgpu: skipped, the adapter is a software implementation \(software adapter google swiftshader.*\), slower than wasm; ask for 'webgpu' by name to use it anyway\.$/,
    );
    expect(info.notes[1]).toMatch(
      /^webgl: skipped, the renderer is a software rasteriser \(ANGLE .*SwiftShader.*\), slower than wasm; pass allowSoftwareWebgl: true to use it anyway\.$/,
    );
    expect(info.notes[2]).toContain('the page is not cross-origin isolated');
  });

  it('webgpu asked for by name: the SwiftShader adapter, reported as software', async () => {
    const info = await withLog(init(page, 'webgpu'));
    expect(info).toMatchObject({
      device: 'webgpu',
      backend: 'webgpu',
      float32: true,
      softwareRenderer: true,
      adapter: { vendor: 'google', architecture: 'swiftshader', software: true },
    });
    expect(info.notes).toEqual([
      expect.stringMatching(
        /^webgpu: on software adapter google swiftshader.*, computing on the CPU: slower than wasm\.$/,
      ),
    ]);
  });

  it('webgl asked for by name: WebGL2, float32, the renderer reported', async () => {
    const info = await withLog(init(page, 'webgl'));
    expect(info).toMatchObject({
      device: 'webgl',
      backend: 'webgl',
      webglVersion: 2,
      float32: true,
      softwareRenderer: true,
    });
    expect(info.renderer).toMatch(/SwiftShader/);
    expect(info.notes[0]).toMatch(
      /^webgl: WebGL 2 on ANGLE .*, float32; a software renderer, slower than wasm\.$/,
    );
  });

  it('threaded wasm in a cross-origin isolated page (.wasm files by prefix) matches too', async () => {
    const isolated = await withLog(harness.open({ isolated: true }));
    try {
      const info = await withLog(init(isolated, 'wasm', { wasmPaths: WASM_PREFIX }));
      expect(info).toMatchObject({ device: 'wasm', crossOriginIsolated: true, simd: true });
      // NOTE: tfjs sizes its worker pool at half the cores (1 to 4): 1 thread on a 2-core machine.
      expect(info.threads).toBeGreaterThanOrEqual(1);
      expect(info.notes[0]).toContain('the threaded build');
      const got = await withLog(run(isolated, 'per_channel'));
      const d = compare('per_channel', got);
      summary.push(
        `  wasm threaded (${info.threads} thread${info.threads === 1 ? '' : 's'}) per_channel: logits ${d.logits.toExponential(1)}  grads ${d.grads.toExponential(1)}`,
      );
      expect(d.logits).toBeLessThanOrEqual(LOGITS_TOL);
      expect(d.bad).toEqual([]);
    } finally {
      await isolated.close();
    }
  });

  it('a minified Vite 8 build breaks threaded wasm: the deadline catches it, one thread takes over', async () => {
    const minified = await withLog(harness.open({ isolated: true, minified: true }));
    try {
      const start = Date.now();
      const info = await withLog(init(minified, 'wasm', { timeoutMs: 5000 }));
      expect(Date.now() - start).toBeLessThan(15_000);
      expect(info).toMatchObject({ device: 'wasm', crossOriginIsolated: true, threads: 1 });
      expect(info.notes).toEqual([
        "wasm: the threaded start failed (tf.setBackend('wasm') did not finish within 5000 ms.); retrying on one thread.",
        'wasm: XNNPACK with SIMD, 1 thread (threads off: the threaded start failed).',
      ]);
      const got = await withLog(run(minified, 'shared'));
      const d = compare('shared', got);
      summary.push(
        `  wasm after the threaded start hung (minified build) shared: logits ${d.logits.toExponential(1)}`,
      );
      expect(d.logits).toBeLessThanOrEqual(LOGITS_TOL);
      expect(d.bad).toEqual([]);
    } finally {
      await minified.close();
    }
  });

  it('float16-only WebGL: training is refused; inference runs, within float16 error', async () => {
    const fresh = await withLog(harness.open());
    try {
      await fresh.evaluate(() => (window as unknown as ParityWindow).primerParity.forceFloat16());
      const refused = await fresh.evaluate(() =>
        (window as unknown as ParityWindow).primerParity.init('webgl', { purpose: 'train' }).then(
          () => 'initialised',
          (e: Error) => `${e.name}: ${e.message}`,
        ),
      );
      expect(refused).toMatch(
        /^BackendInitError: this GPU's WebGL 2 renders only float16 textures \(WEBGL_RENDER_FLOAT32_CAPABLE is false; .*\)\. Training in float16 .* train with 'wasm', or pass purpose: 'infer'/,
      );
      const info = await withLog(init(fresh, 'webgl', { purpose: 'infer' }));
      expect(info).toMatchObject({ device: 'webgl', float32: false });
      expect(info.notes[0]).toContain('float16 only (inference');
      const logits = decode(
        await withLog(
          fresh.evaluate(
            (n) => (window as unknown as ParityWindow).primerParity.forward(n),
            'per_channel',
          ),
        ),
      );
      const diff = maxAbsDiff(results.get('per_channel')!.logits, logits);
      summary.push(`  webgl float16 (inference) per_channel: logits ${diff.toExponential(1)}`);
      expect(diff).toBeGreaterThan(LOGITS_TOL); // really float16…
      expect(diff).toBeLessThan(0.1); // …and still the same model
    } finally {
      await fresh.close();
    }
  }, 180_000);

  it('wasm with the .wasm files not served: a clear error within the deadline', async () => {
    const fresh = await withLog(harness.open());
    try {
      const start = Date.now();
      const outcome = await fresh.evaluate(() =>
        (window as unknown as ParityWindow).primerParity
          .init('wasm', { wasmPaths: '/missing/', timeoutMs: 10_000 })
          .then(
            () => 'initialised',
            (e: Error) => `${e.name}: ${e.message}`,
          ),
      );
      expect(outcome).toMatch(/^BackendInitError: /);
      expect(outcome).toMatch(/wasm/);
      expect(Date.now() - start).toBeLessThan(15_000);
      summary.push(`  wasm with wasmPaths '/missing/': ${outcome}`);
    } finally {
      await fresh.close();
    }
  });
});
