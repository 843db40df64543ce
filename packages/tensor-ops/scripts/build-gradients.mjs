// Generates the two `#register-gradients` targets (see package.json "imports"):
//  - dist/register-gradients.node.js: tfjs-core's gradient registrations bundled with esbuild.
//    tfjs-core ships them only as extensionless ESM inside a CommonJS package, which plain Node
//    ESM cannot import. The bundle registers into tfjs-core's global registry (shared by every
//    copy of tfjs-core in the process), so it works next to the user's own tfjs-core.
//  - dist/register-gradients.js: a one-line deep import, for bundlers (Vite, webpack), which
//    resolve tfjs-core's ESM sources themselves and so avoid a second copy of the gradient code.
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist');
const require = createRequire(import.meta.url);
const coreDir = dirname(require.resolve('@tensorflow/tfjs-core/package.json'));

await mkdir(dist, { recursive: true });
await build({
  entryPoints: [join(coreDir, 'dist', 'register_all_gradients.js')],
  outfile: join(dist, 'register-gradients.node.js'),
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  minify: true,
  legalComments: 'eof',
  logLevel: 'warning',
});
await writeFile(join(dist, 'register-gradients.d.ts'), 'export {};\n');
await writeFile(
  join(dist, 'register-gradients.js'),
  "import '@tensorflow/tfjs-core/dist/register_all_gradients';\n",
);
