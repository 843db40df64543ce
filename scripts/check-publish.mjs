#!/usr/bin/env node
// Publishability check: packs every public package as npm would publish it, installs the
// tarballs into a scratch project outside the workspace, then
//   - refuses leftover `workspace:` ranges and missing `files`;
//   - imports every `exports` entry with plain Node ESM (no bundler, no vitest);
//   - runs the first ```js (or plain-JS ```ts) block of each package README there (its example);
//   - type-checks an import of every entry with `tsc` (strict, NodeNext);
//   - runs publint and @arethetypeswrong/cli (ESM-only profile) on each package.
// Usage: node scripts/check-publish.mjs [--keep] [@primer-ez/NAME ...]  (after `pnpm build`)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const keep = process.argv.includes('--keep');
const only = process.argv.slice(2).filter((a) => a.startsWith('@'));
const sh = (cmd, args, cwd, env = {}) =>
  execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
const attw = (tgz) => {
  try {
    return sh('pnpm', ['exec', 'attw', tgz, '--format', 'json'], root);
  } catch (error) {
    if (error.status === 1 && error.stdout) return error.stdout; // problems found: read them
    throw error;
  }
};
const fail = (message) => {
  console.error(`check-publish: ${message}`);
  process.exit(1);
};

const packages = ['packages', 'apps']
  .flatMap((group) => readdirSync(join(root, group)).map((dir) => join(root, group, dir)))
  .map((dir) => ({ dir, json: readJson(join(dir, 'package.json')) }))
  .filter((p) => p.json && !p.json.private)
  .filter((p) => only.length === 0 || only.includes(p.json.name));

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'primer-ez-pack-'));
const tarballs = join(scratch, 'tarballs');
mkdirSync(tarballs);
console.log(`check-publish: scratch project in ${scratch}`);

try {
  // 1. Pack, and look inside each tarball's package.json.
  const deps = {};
  const peers = new Set();
  for (const p of packages) {
    const out = sh('pnpm', ['pack', '--pack-destination', tarballs], p.dir).trim().split('\n');
    const tgz = out.findLast((line) => line.endsWith('.tgz'));
    if (!tgz) fail(`pnpm pack printed no tarball for ${p.json.name}`);
    const packed = JSON.parse(
      sh('tar', ['-xOzf', resolve(p.dir, tgz), 'package/package.json'], root),
    );
    const text = JSON.stringify(packed);
    if (text.includes('workspace:'))
      fail(`${p.json.name}: packed package.json keeps a workspace: range`);
    const listing = sh('tar', ['-tzf', resolve(p.dir, tgz)], root);
    if (!listing.includes('package/dist/'))
      fail(`${p.json.name}: tarball has no dist/ (run pnpm build)`);
    if (!listing.includes('package/README.md')) fail(`${p.json.name}: tarball has no README.md`);
    deps[p.json.name] = `file:${resolve(p.dir, tgz)}`;
    for (const [name, range] of Object.entries(packed.peerDependencies ?? {})) {
      // Optional peers (tfjs-node, tfjs-node-gpu) are the user's choice; the scratch project skips them.
      if (!packed.peerDependenciesMeta?.[name]?.optional) peers.add(`${name}@${range}`);
    }
    console.log(`  packed ${p.json.name}@${packed.version}`);
  }

  // 2. A scratch project that depends on the tarballs (and their peers, from the registry).
  const backendFor = (peer) => peer.replace('tfjs-core', 'tfjs-backend-cpu');
  for (const peer of peers) {
    const at = peer.lastIndexOf('@');
    deps[peer.slice(0, at)] = peer.slice(at + 1);
    if (peer.startsWith('@tensorflow/tfjs-core@'))
      deps['@tensorflow/tfjs-backend-cpu'] = backendFor(peer).slice(
        backendFor(peer).lastIndexOf('@') + 1,
      );
  }
  const overrides = Object.fromEntries(
    Object.entries(deps).filter(([, v]) => v.startsWith('file:')),
  );
  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify(
      { name: 'scratch', private: true, type: 'module', dependencies: deps, overrides },
      null,
      2,
    ),
  );
  sh(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel=error',
      'typescript@5',
      '@types/node@20',
      '@types/long@4',
    ],
    scratch,
  );

  // 3. Import every exports entry with plain Node, and run each README's example.
  const entries = [];
  for (const p of packages) {
    for (const key of Object.keys(p.json.exports ?? { '.': null })) {
      if (key.endsWith('package.json')) continue;
      entries.push(key === '.' ? p.json.name : `${p.json.name}/${key.slice(2)}`);
    }
  }
  const importAll = entries
    .map(
      (e, i) =>
        `import * as m${i} from '${e}';\nif (Object.keys(m${i}).length === 0) throw new Error('${e} exports nothing');`,
    )
    .join('\n');
  writeFileSync(
    join(scratch, 'import-all.mjs'),
    `${importAll}\nconsole.log('imported ${entries.length} entries');\n`,
  );
  console.log(`  ${sh('node', ['import-all.mjs'], scratch).trim()}`);

  for (const p of packages) {
    const readme = readFileSync(join(p.dir, 'README.md'), 'utf8');
    const example = readme.match(/```(?:js|ts)\n([\s\S]*?)```/)?.[1];
    if (!example) fail(`${p.json.name}: README.md has no runnable \`\`\`js example`);
    const file = `example-${p.json.name.split('/')[1]}.mjs`;
    writeFileSync(join(scratch, file), example);
    const out = sh('node', [file], scratch).trim();
    console.log(`  README example of ${p.json.name} ran: ${out.split('\n').at(-1)}`);
  }

  // 4. Type-check an import of every entry, as a strict TypeScript ESM user would.
  writeFileSync(
    join(scratch, 'check.ts'),
    entries
      .map(
        (e, i) =>
          `import * as m${i} from '${e}';\nexport const k${i}: string[] = Object.keys(m${i});`,
      )
      .join('\n'),
  );
  writeFileSync(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node', 'long'],
      },
      files: ['check.ts'],
    }),
  );
  sh(join(scratch, 'node_modules', '.bin', 'tsc'), ['-p', '.'], scratch);
  console.log(`  tsc type-checked imports of ${entries.length} entries`);

  // 5. publint and arethetypeswrong on each package.
  for (const p of packages) {
    sh('pnpm', ['exec', 'publint', '--strict', p.dir], root);
    const tgz = deps[p.json.name].slice('file:'.length);
    // attw's exit code ignores --profile for problems keyed by resolutionOption (its own bug), so
    // read its report: these packages are ESM-only, and node10 / require() resolution don't apply.
    const report = JSON.parse(attw(tgz));
    const ignored = new Set(['node10', 'node16-cjs']);
    const problems = (report.analysis.problems ?? []).filter(
      (pr) => !ignored.has(pr.resolutionKind ?? pr.resolutionOption),
    );
    if (problems.length > 0)
      fail(`${p.json.name}: attw found ${JSON.stringify(problems, null, 2)}`);
    console.log(`  publint and attw: ${p.json.name} ok`);
  }
  console.log(`check-publish: ${packages.length} packages ok`);
} catch (error) {
  const detail = [error.stdout, error.stderr].filter(Boolean).join('\n');
  fail(`${error.message}\n${detail}`);
} finally {
  if (!keep) rmSync(scratch, { recursive: true, force: true });
}
