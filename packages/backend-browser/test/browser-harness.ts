// Drives the system Chromium headless: bundles test/browser/page.ts with Vite (unminified), serves
// it with the .wasm files and the checkpoints on 127.0.0.1, and opens it with playwright-core.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';

/** The browser: Debian's package (`apt-get install -y chromium`), or CHROMIUM_PATH. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Headless flags: WebGL2 through ANGLE and WebGPU through Vulkan, both on SwiftShader (no GPU
 * needed), and no background
 * networking (the machines' closed network refuses it, many connections at a time).
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--enable-unsafe-swiftshader',
  // WebGPU on SwiftShader's Vulkan (a software adapter; needs a page from 127.0.0.1, a secure context).
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];

/** Files a test serves under `/case/<name>/`. */
export type ServedFiles = Map<string, Map<string, Uint8Array | string>>;

const WASM_DIR = join(
  dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')),
  'dist',
);

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
};

/** A bundled page, its server, and the browser looking at it. */
export interface Harness {
  origin: string;
  browser: Browser;
  /**
   * Opens the page. `isolated`: served with COOP/COEP, so `crossOriginIsolated`; `minified`: the
   * minified build.
   */
  open(options?: { isolated?: boolean; minified?: boolean }): Promise<Page>;
  /** Everything the pages printed or threw, for failure messages. */
  log: string[];
  close(): Promise<void>;
}

/** Throws a clear error when Chromium is missing: the browser suite must fail, not pass. */
export function assertChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}. The browser parity suite needs it: run \`apt-get update && apt-get install -y chromium\` (Debian), or set CHROMIUM_PATH to a Chromium binary.`,
    );
  }
}

/** Bundles the page, serves it and `cases`, and launches Chromium. */
export async function startHarness(cases: ServedFiles): Promise<Harness> {
  assertChromium();
  const work = mkdtempSync(join(tmpdir(), 'primer-ez-webgl-'));
  const out = join(work, 'page');
  const outMinified = join(work, 'page-minified');
  const root = fileURLToPath(new URL('./browser/', import.meta.url));
  // NOTE: the page is served unminified; the minified build (what a Vite 8 app ships) breaks
  // tfjs's threaded wasm worker, which one test checks the adapter survives.
  for (const [outDir, minify] of [
    [out, false],
    [outMinified, true],
  ] as const) {
    await build({
      configFile: false,
      root,
      base: './',
      logLevel: 'warn',
      build: {
        outDir,
        emptyOutDir: true,
        minify,
        sourcemap: false,
        reportCompressedSize: false,
        chunkSizeWarningLimit: 10_000,
      },
    });
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    let path = decodeURIComponent(url.pathname);
    if (path.startsWith('/isolated/')) {
      path = path.slice('/isolated'.length);
      response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    let pageDir = out;
    if (path.startsWith('/minified/')) {
      path = path.slice('/minified'.length);
      pageDir = outMinified;
    }
    if (path === '/favicon.ico') {
      response.writeHead(204).end();
      return;
    }
    const body = lookup(path, pageDir);
    if (body === undefined) {
      response.writeHead(404).end(`not found: ${path}`);
      return;
    }
    response.setHeader('Content-Type', TYPES[extname(path)] ?? 'application/octet-stream');
    response.end(body);
  });

  function lookup(path: string, pageDir: string): Uint8Array | string | undefined {
    const caseMatch = /^\/case\/([^/]+)\/([^/]+)$/.exec(path);
    if (caseMatch) return cases.get(caseMatch[1] as string)?.get(caseMatch[2] as string);
    if (path.startsWith('/wasm/')) return readInside(WASM_DIR, path.slice('/wasm/'.length));
    return readInside(pageDir, path === '/' ? 'index.html' : path.slice(1));
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    // A throwaway HOME: Chromium writes crash reports and profile bits under ~/.config.
    env: { ...process.env, HOME: work, XDG_CONFIG_HOME: join(work, '.config') },
    timeout: 60_000,
  });
  const log: string[] = [];
  return {
    origin,
    browser,
    log,
    async open({ isolated = false, minified = false } = {}) {
      const page = await browser.newPage();
      page.on('console', (m) => log.push(`[page ${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => log.push(`[page error] ${e.message}`));
      const prefix = `${isolated ? '/isolated' : ''}${minified ? '/minified' : ''}`;
      await page.goto(`${origin}${prefix}/index.html`);
      await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 30_000 });
      return page;
    },
    async close() {
      await browser.close().catch(() => {});
      await closeServer(server);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

function readInside(dir: string, relative: string): Uint8Array | undefined {
  const file = normalize(join(dir, relative));
  if (!file.startsWith(dir) || !existsSync(file)) return undefined;
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
