// Cross-backend parity in real headless Chromium (WebGL2 on SwiftShader, and wasm): the same
// checkpoint files, loaded in the page, give the logits and loss the Node cpu backend gives
// (≤ 1e-4), and two SGD steps give the same gradients of every parameter — so every kernel the
// ops and their custom gradients use exists and is right on WebGL. Needs /usr/bin/chromium
// (`apt-get install -y chromium`); without it this file fails, saying so.
import { Buffer } from 'node:buffer';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo, BrowserBackendOptions, BrowserDevice } from '../src/index.js';
import { initBrowserBackend } from '../src/index.js';
import { type Harness, type ServedFiles, startHarness } from './browser-harness.js';
import { type ParityCase, seededCase, TORCH_CASES, torchCase } from './cases.js';
import {
  decodeResult,
  type EncodedResult,
  maxAbs,
  maxAbsDiff,
  type ParityResult,
  runCheckpoint,
} from './procedure.js';

const LOGITS_TOL = 1e-4;
const LOSS_TOL = 1e-4;
/**
 * Gradients: |diff| ≤ 1e-6 + 1e-4·(largest entry of that parameter's gradient). The absolute part
 * is for gradients that are zero in exact arithmetic and float noise here (vanilla attention's key
 * bias: softmax ignores a constant added to every score of a row).
 */
const GRAD_ATOL = 1e-6;
const GRAD_RTOL = 1e-4;

/** The harness serves @tensorflow/tfjs-backend-wasm/dist/ here too (the page itself uses Vite's URLs). */
const WASM_PREFIX = '/wasm/';

interface ParityWindow {
  primerParity: {
    init(device: BrowserDevice, options: BrowserBackendOptions): Promise<BackendInfo>;
    backend(): string;
    forceFloat16(): Promise<void>;
    run(name: string): Promise<EncodedResult & { ms: number }>;
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

async function run(page: Page, name: string): Promise<ParityResult & { ms: number }> {
  const encoded = await page.evaluate(
    (n) => (window as unknown as ParityWindow).primerParity.run(n),
    name,
  );
  return { ...decodeResult(encoded, decode), ms: encoded.ms };
}

/** Worst differences between a backend's results and the reference's. */
function compare(reference: ParityResult, got: ParityResult) {
  let grads = 0;
  let gradsRel = 0;
  const bad: string[] = [];
  reference.steps.forEach((step, s) => {
    const other = got.steps[s]!;
    expect(Object.keys(other.grads).sort()).toEqual(Object.keys(step.grads).sort());
    for (const [name, g] of Object.entries(step.grads)) {
      const diff = maxAbsDiff(g, other.grads[name]!);
      const scale = maxAbs(g);
      grads = Math.max(grads, diff);
      if (scale > 1e-6) gradsRel = Math.max(gradsRel, diff / scale);
      if (!(diff <= GRAD_ATOL + GRAD_RTOL * scale)) {
        bad.push(`step ${s + 1} ${name}: max |diff| ${diff} with max |grad| ${scale}`);
      }
    }
  });
  const loss = Math.max(
    Math.abs(reference.loss - got.loss),
    ...reference.steps.map((s, i) => Math.abs(s.loss - got.steps[i]!.loss)),
  );
  return { logits: maxAbsDiff(reference.logits, got.logits), loss, grads, gradsRel, bad };
}

describe('browser parity against Node cpu (headless Chromium)', () => {
  const cases: ParityCase[] = [];
  const reference = new Map<string, ParityResult>();
  const summary: string[] = [];
  let harness: Harness | undefined;
  let page: Page;

  beforeAll(async () => {
    await initBrowserBackend('cpu'); // the Node reference
    cases.push(...TORCH_CASES.map(torchCase), await seededCase());
    for (const c of cases) reference.set(c.name, runCheckpoint(c.files, c.batch));
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
    harness = await startHarness(served);
    page = await harness.open();
  }, 120_000);

  afterAll(async () => {
    if (summary.length > 0) {
      console.log(`[backend-webgl] max |diff| against Node cpu:\n${summary.join('\n')}`);
    }
    await harness?.close();
  });

  /** Fails with the page's log attached, to see what the browser said. */
  function withLog<T>(promise: Promise<T>): Promise<T> {
    return promise.catch((error: unknown) => {
      const log = harness?.log.slice(-40).join('\n') ?? '';
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\n--- page log ---\n${log}`,
      );
    });
  }

  it('auto notices the software WebGL renderer and takes wasm, saying why', async () => {
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
      /^webgl: skipped, the renderer is a software rasteriser \(ANGLE .*SwiftShader.*\), slower than wasm; pass allowSoftwareWebgl: true to use it anyway\.$/,
    );
    expect(info.notes[1]).toContain('the page is not cross-origin isolated');
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

  for (const device of ['webgl', 'wasm'] as const) {
    it.each([...TORCH_CASES, 'seeded-dropout'])(
      `${device}: %s — logits, loss and two steps' gradients match Node cpu`,
      async (name) => {
        const info = await withLog(init(page, device));
        expect(info.device).toBe(device);
        const got = await withLog(run(page, name));
        expect(
          await page.evaluate(() => (window as unknown as ParityWindow).primerParity.backend()),
        ).toBe(device);
        const d = compare(reference.get(name)!, got);
        summary.push(
          `  ${device.padEnd(5)} ${name.padEnd(16)} logits ${d.logits.toExponential(1)}  loss ${d.loss.toExponential(1)}  grads ${d.grads.toExponential(1)} (${d.gradsRel.toExponential(1)} of the largest)  ${got.ms.toFixed(0)} ms`,
        );
        expect(d.logits, 'logits').toBeLessThanOrEqual(LOGITS_TOL);
        expect(d.loss, 'loss').toBeLessThanOrEqual(LOSS_TOL);
        expect(d.bad, 'gradients').toEqual([]);
      },
    );
  }

  it('threaded wasm in a cross-origin isolated page (.wasm files by prefix) matches too', async () => {
    const isolated = await withLog(harness!.open({ isolated: true }));
    try {
      const info = await withLog(init(isolated, 'wasm', { wasmPaths: WASM_PREFIX }));
      expect(info).toMatchObject({ device: 'wasm', crossOriginIsolated: true, simd: true });
      // NOTE: tfjs sizes its worker pool at half the cores (1 to 4): 1 thread on a 2-core machine.
      expect(info.threads).toBeGreaterThanOrEqual(1);
      expect(info.notes[0]).toContain('the threaded build');
      const got = await withLog(run(isolated, 'per_channel'));
      const d = compare(reference.get('per_channel')!, got);
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
    const minified = await withLog(harness!.open({ isolated: true, minified: true }));
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
      const d = compare(reference.get('shared')!, got);
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
    const fresh = await withLog(harness!.open());
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
      const got = await withLog(run(fresh, 'per_channel'));
      const diff = maxAbsDiff(reference.get('per_channel')!.logits, got.logits);
      summary.push(`  webgl float16 (inference) per_channel: logits ${diff.toExponential(1)}`);
      expect(diff).toBeGreaterThan(LOGITS_TOL); // really float16…
      expect(diff).toBeLessThan(0.1); // …and still the same model
    } finally {
      await fresh.close();
    }
  });

  it('wasm with the .wasm files not served: a clear error within the deadline', async () => {
    const fresh = await withLog(harness!.open());
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
