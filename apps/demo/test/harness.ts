// The end-to-end harness: the production build (vite build, minified as shipped) served on
// 127.0.0.1 by a tiny static server, Debian's Chromium driven headless by playwright-core with
// the flags of BROWSER.md (WebGL2 through ANGLE on SwiftShader, no background networking), and
// the primer-ez CLI run as a child process.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';

export const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
/** Screenshots and logs for CI to keep (gitignored). */
export const ARTIFACTS = join(APP_DIR, 'test-artifacts');

/** The browser: Debian's package (`apt-get install -y chromium`), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--enable-unsafe-swiftshader',
];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Builds the app for production into `outDir`. */
export async function buildApp(outDir: string): Promise<void> {
  await build({
    root: APP_DIR,
    configFile: join(APP_DIR, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, reportCompressedSize: false },
  });
}

/** Serves a folder on 127.0.0.1, with `headers` on every file; returns its origin and a closer. */
export async function serve(
  dir: string,
  headers: Record<string, string> = {},
): Promise<{ origin: string; close(): Promise<void> }> {
  const root = normalize(dir);
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path === '/' ? 'index.html' : path));
    if (!file.startsWith(root) || !existsSync(file)) {
      response.writeHead(404).end(`not found: ${path}`);
      return;
    }
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Launches Chromium headless, with a throwaway HOME (it writes crash reports under ~/.config). */
export async function launch(home: string): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. The demo's browser tests need it: run \`apt-get update && apt-get install -y chromium\` (Debian), or set CHROMIUM_PATH.`,
    );
  }
  mkdirSync(home, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') },
    timeout: 60_000,
  });
}

/** Collects a page's (and its workers') console errors and uncaught exceptions. */
export function watchErrors(page: Page, log: string[]): string[] {
  const errors: string[] = [];
  const note = (where: string, type: string, text: string) => {
    log.push(`[${where} ${type}] ${text}`);
    if (type === 'error') errors.push(`${where}: ${text}`);
  };
  page.on('console', (m) => note('page', m.type(), m.text()));
  page.on('pageerror', (e) => note('page', 'error', `uncaught ${e.name}: ${e.message}`));
  page.on('worker', (worker) => {
    worker.on('console', (m) =>
      note(`worker ${worker.url().split('/').pop()}`, m.type(), m.text()),
    );
  });
  return errors;
}

const exec = promisify(execFile);

/** The CLI of the monorepo (built by turbo before this package's tests: a devDependency). */
export const CLI = join(
  dirname(createRequire(import.meta.url).resolve('@primer-ez/cli/package.json')),
  'dist',
  'cli.js',
);

/** Runs `primer-ez …`, returning stdout; a failure shows the CLI's stderr. */
export async function primerEz(args: string[]): Promise<string> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run pnpm build first.`);
  try {
    const { stdout } = await exec(process.execPath, [CLI, ...args], {
      maxBuffer: 16 * 1024 * 1024,
      env: { ...process.env, NO_COLOR: '1' },
    });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`primer-ez ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

/**
 * How long a page may show no progress at all before a test calls it stuck. CI runs every
 * package's tests at once on two cores; there a step on software WebGL takes seconds and the first
 * shader compiles take a minute, so waits on training have no fixed deadline, only this.
 */
export const STALL_MS = 180_000;

/** Where the page's race stands: the steps and validations of each racer, its state and status lines. */
function raceProgress(): string {
  type Series = Record<'primer' | 'vanilla', unknown[]>;
  const demo = (
    window as unknown as {
      primerDemo?: { history(): { train: Series; validation: Series } };
    }
  ).primerDemo;
  const history = demo?.history();
  const text = (selector: string) => document.querySelector(selector)?.textContent ?? '';
  return JSON.stringify({
    primer: history ? [history.train.primer.length, history.validation.primer.length] : null,
    vanilla: history ? [history.train.vanilla.length, history.validation.vanilla.length] : null,
    state: document.querySelector('#race-status')?.getAttribute('data-state') ?? null,
    race: text('#race-status'),
    save: text('#save-status'),
    keep: text('#keep-status'),
    generation: ['data-state', 'data-pieces'].map((a) =>
      document.querySelector('#gen-output')?.getAttribute(a),
    ),
  });
}

/**
 * Waits until `ready` holds: a CSS selector that matches (as `page.waitForSelector` sees it, on
 * every frame, so a state that lasts one frame counts), or a check that resolves true. It fails
 * only when the page shows no progress (no step, validation, change of state or status line) for
 * `stallMs`, and the error says what it waited for and where the race stood.
 */
export async function untilProgress(
  page: Page,
  what: string,
  ready: string | (() => Promise<boolean>),
  stallMs = STALL_MS,
): Promise<void> {
  let done = false;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const arrived =
    typeof ready === 'string'
      ? page.waitForSelector(ready, { timeout: 0 }).then(() => {})
      : (async () => {
          while (!done && !(await ready())) await sleep(250);
        })();
  const stalled = (async () => {
    let last = '';
    let since = Date.now();
    while (!done) {
      const now = await page.evaluate(raceProgress).catch(() => last);
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (Date.now() - since > stallMs) {
        throw new Error(
          `waited for ${what}, but the page made no progress for ${stallMs / 1000} s; it stands at ${now}`,
        );
      }
      await sleep(1000);
    }
  })();
  // NOTE: the loser of the race is left to settle (a selector wait ends with its page).
  arrived.catch(() => {});
  stalled.catch(() => {});
  try {
    await Promise.race([arrived, stalled]);
  } finally {
    done = true;
  }
}

/** Waits until `role` has trained `steps` steps in the page's race (see `untilProgress`). */
export function untilSteps(page: Page, steps: number, role: 'primer' | 'vanilla' = 'primer') {
  return untilProgress(page, `${steps} steps of ${role}`, () =>
    page.evaluate(
      ([r, n]) =>
        (
          window as unknown as { primerDemo: { history(): { train: Record<string, unknown[]> } } }
        ).primerDemo.history().train[r]!.length >= n,
      [role, steps] as const,
    ),
  );
}
