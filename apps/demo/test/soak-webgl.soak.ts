// The WebGL soak check (`pnpm --filter @primer-ez/demo soak`, not part of `pnpm test`): a long
// `tiny` race in headless Chromium on WebGL (SwiftShader here), with each worker's tf.memory()
// and texture counts read after every step. Nothing may grow once the first validation interval
// has passed: not the tensors, not the textures holding them, not the bytes of GPU memory tfjs
// holds (textures in use plus its pool of released ones). Prints the figures every 25 steps and
// writes them to test-artifacts/soak-webgl.json. SOAK_STEPS sets the length (default 300).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ARTIFACTS, buildApp, launch, serve, watchErrors } from './harness.js';

const STEPS = Number(process.env.SOAK_STEPS ?? 300);
const EVAL_EVERY = 50;
const SAMPLE_EVERY = 25;

type Role = 'primer' | 'vanilla';
interface Entry {
  step: number;
  numTensors: number;
  numBytes: number;
  gpu?: {
    bytesInUse: number;
    bytesAllocated: number;
    bytesFree: number;
    texturesInUse: number;
    texturesFree: number;
  };
}

const work = mkdtempSync(join(tmpdir(), 'primer-ez-demo-soak-'));
const log: string[] = [];
let site: { origin: string; close(): Promise<void> };
let browser: Awaited<ReturnType<typeof launch>>;

beforeAll(async () => {
  if (!(Number.isInteger(STEPS) && STEPS >= 2 * EVAL_EVERY))
    throw new Error(`SOAK_STEPS must be an integer ≥ ${2 * EVAL_EVERY}, got ${STEPS}.`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const dist = join(work, 'dist');
  await buildApp(dist);
  site = await serve(dist);
  browser = await launch(join(work, 'home'));
}, 180_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await site?.close();
  writeFileSync(join(ARTIFACTS, 'soak-browser-log.txt'), `${log.join('\n')}\n`);
  rmSync(work, { recursive: true, force: true });
});

it(
  `trains ${STEPS} steps on WebGL with flat tensors, textures and GPU bytes`,
  async () => {
    const page = await (await browser.newContext()).newPage();
    const errors = watchErrors(page, log);
    await page.goto(`${site.origin}/?device=webgl`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 90_000 });
    expect(await page.getAttribute('#backend-status', 'data-backend')).toBe('webgl');
    await page.selectOption('#preset', 'tiny');
    await page.fill('#steps', String(STEPS));
    await page.fill('#batch_size', '8');
    await page.fill('#eval_every', String(EVAL_EVERY));
    await page.fill('#lr', '0.01');
    const started = Date.now();
    await page.click('#start');
    await page.waitForSelector(
      '#race-status[data-state="finished"], #race-status[data-state="failed"]',
      { timeout: STEPS * 4_000 },
    );
    expect(await page.textContent('#race-status')).toMatch(/^Finished/);
    const seconds = (Date.now() - started) / 1000;
    const tensorLog = (await page.evaluate(() =>
      (window as unknown as { primerDemo: { tensorLog(): unknown } }).primerDemo.tensorLog(),
    )) as Record<Role, Entry[]>;

    const samples = (role: Role) =>
      tensorLog[role].filter((e) => e.step === 1 || e.step % SAMPLE_EVERY === 0);
    console.log(
      '[soak] model    step  tensors  MiB in textures  textures used/pooled  MiB allocated',
    );
    for (const role of ['primer', 'vanilla'] as const) {
      for (const e of samples(role)) {
        const g = e.gpu;
        const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(3);
        console.log(
          `[soak] ${role.padEnd(7)}  ${String(e.step).padStart(4)}  ${String(e.numTensors).padStart(7)}  ${(g ? mib(g.bytesInUse) : '—').padStart(15)}  ${(g ? `${g.texturesInUse}/${g.texturesFree}` : '—').padStart(20)}  ${(g ? mib(g.bytesAllocated) : '—').padStart(13)}`,
        );
      }
    }
    console.log(`[soak] ${STEPS} steps of both models on WebGL in ${seconds.toFixed(0)} s`);
    const report = {
      steps: STEPS,
      seconds,
      primer: samples('primer'),
      vanilla: samples('vanilla'),
    };
    writeFileSync(join(ARTIFACTS, 'soak-webgl.json'), `${JSON.stringify(report, null, 1)}\n`);

    for (const role of ['primer', 'vanilla'] as const) {
      const entries = tensorLog[role];
      // The page keeps the last 1000 steps.
      const kept = Math.min(STEPS, 1000);
      expect(entries.map((e) => e.step)).toEqual(
        Array.from({ length: kept }, (_, i) => STEPS - kept + i + 1),
      );
      // Warm-up: up to the first validation after step 0 (every program compiled, every texture
      // shape seen). From then on every step ends holding exactly what the one before held.
      const warm = entries.filter((e) => e.step > EVAL_EVERY);
      const first = warm[0]!;
      for (const e of warm) {
        expect(e.gpu, `${role} step ${e.step}: no GPU counters (not on WebGL?)`).toBeDefined();
        expect(e.numTensors, `${role} tensors at step ${e.step}`).toBe(first.numTensors);
        expect(e.gpu!.bytesInUse, `${role} texture bytes at step ${e.step}`).toBe(
          first.gpu!.bytesInUse,
        );
        expect(e.gpu!.texturesInUse, `${role} textures at step ${e.step}`).toBe(
          first.gpu!.texturesInUse,
        );
        // Released textures go back to tfjs's pool and are reused: the total stops growing.
        expect(e.gpu!.bytesAllocated, `${role} GPU bytes allocated at step ${e.step}`).toBe(
          first.gpu!.bytesAllocated,
        );
      }
    }
    expect(errors).toEqual([]);
  },
  STEPS * 4_000 + 120_000,
);
