#!/usr/bin/env node
// Supply-chain checks, run by `pnpm test` (policy: SECURITY.md, "Dependencies").
//  1. No code from data: the shipped sources never call eval, new Function, string timers, node:vm,
//     import() of a computed specifier, or a function reached through ["constructor"].
//  2. The lockfile pins every package by a sha512 integrity from the registry: no git, tarball-URL
//     or directory dependencies.
//  3. Install scripts: only the packages allowed in package.json's pnpm.onlyBuiltDependencies
//     have one (pnpm runs no other), so a new dependency with an install script fails here.
//  4. Known vulnerabilities: `pnpm audit --prod`; a high or critical advisory in a production
//     dependency fails. Where the registry does not serve the audit endpoint (this project's
//     build machines reach only a registry mirror), the audit is reported as not run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const failures = [];
const fail = (message) => failures.push(message);

// 1. No code from data.
const FORBIDDEN = [
  [/\beval\s*\(/, 'eval()'],
  [/\bnew\s+Function\b/, 'new Function'],
  [/(?<![.\w])Function\s*\(/, 'Function()'],
  [/\b(setTimeout|setInterval|setImmediate)\s*\(\s*['"`]/, 'a timer with a string of code'],
  [/from\s+['"](node:)?vm['"]/, 'the vm module'],
  [/\bimport\s*\(\s*[^'"`\s/)]/, 'import() of a computed specifier'],
  [/\bconstructor['"`]?\s*\]\s*\(/, 'a call through ["constructor"]'],
];
function codeFromData(source) {
  // A line may be exempted with a reviewed justification: `// supply-chain-ok: <why>`.
  const code = source
    .replace(/^.*\/\/ supply-chain-ok: \S.*$/gm, '')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  return FORBIDDEN.filter(([pattern]) => pattern.test(code)).map(([, name]) => name);
}
// The scan must be able to fail: each construct is recognised, and comments are not code.
const selfCheck = [
  ['const f = eval("1");', ['eval()']],
  ['const f = new Function("a", "return a");', ['new Function', 'Function()']],
  ["setTimeout('run()', 1);", ['a timer with a string of code']],
  ["import { runInNewContext } from 'node:vm';", ['the vm module']],
  ['await import(userPath);', ['import() of a computed specifier']],
  ["x['constructor']['constructor']('code')()", ['a call through ["constructor"]']],
  ['// eval(x)\nconst a = 1; /* new Function */', []],
  ['return import(name); // supply-chain-ok: a fixed allowlist', []],
  ['return import(name); // supply-chain-ok:', ['import() of a computed specifier']],
  ["setTimeout(() => run(), 1); obj.Function(1); await import('@tensorflow/tfjs-node');", []],
];
for (const [source, expected] of selfCheck) {
  const found = codeFromData(source);
  if (JSON.stringify(found) !== JSON.stringify(expected))
    fail(
      `self-check: ${JSON.stringify(source)} gave ${JSON.stringify(found)}, not ${JSON.stringify(expected)}`,
    );
}
function* sources(dir) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (['node_modules', 'dist', 'test-artifacts', '.turbo'].includes(name) || name.startsWith('.'))
      continue;
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (/\.(ts|mjs|js)$/.test(name) && !/\.(test|soak|bench)\.[mc]?[jt]s$/.test(name))
      yield path;
  }
}
let scanned = 0;
for (const group of ['packages', 'apps']) {
  for (const pkg of readdirSync(join(root, group))) {
    for (const sub of ['src', 'bin']) {
      for (const file of sources(join(root, group, pkg, sub))) {
        scanned++;
        for (const name of codeFromData(readFileSync(file, 'utf8')))
          fail(`${relative(root, file)}: uses ${name}; never turn data into code.`);
      }
    }
  }
}

// 2. The lockfile pins everything by integrity.
const lock = readFileSync(join(root, 'pnpm-lock.yaml'), 'utf8');
const packagesSection = lock.split(/^packages:$/m)[1]?.split(/^snapshots:$/m)[0] ?? '';
const resolutions = [
  ...packagesSection.matchAll(/^ {2}'?([^\s:'][^:']*?)'?:\n {4}resolution: \{([^}]*)\}/gm),
];
if (resolutions.length === 0)
  fail('pnpm-lock.yaml: no package resolutions found (format changed?).');
for (const [, name, resolution] of resolutions) {
  if (!/^integrity: sha512-/.test(resolution.trim()))
    fail(`pnpm-lock.yaml: ${name} is not pinned by a sha512 integrity (${resolution.trim()}).`);
}

// 3. Install scripts only where allowed.
const allowed = new Set(
  JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).pnpm?.onlyBuiltDependencies ?? [],
);
const store = join(root, 'node_modules', '.pnpm');
const withScripts = new Set();
for (const entry of existsSync(store) ? readdirSync(store) : []) {
  const modules = join(store, entry, 'node_modules');
  if (!existsSync(modules)) continue;
  for (const name of readdirSync(modules)) {
    const dirs = name.startsWith('@')
      ? readdirSync(join(modules, name)).map((n) => join(name, n))
      : [name];
    for (const d of dirs) {
      const manifest = join(modules, d, 'package.json');
      if (!existsSync(manifest)) continue;
      try {
        const { name: pkg, scripts = {} } = JSON.parse(readFileSync(manifest, 'utf8'));
        if (scripts.preinstall || scripts.install || scripts.postinstall) withScripts.add(pkg);
      } catch {}
    }
  }
}
for (const pkg of withScripts)
  if (!allowed.has(pkg))
    fail(
      `${pkg} has an install script but is not in package.json's pnpm.onlyBuiltDependencies; review it, then allow it there (or drop the dependency).`,
    );

// 4. Known vulnerabilities.
let audit;
const r = spawnSync('pnpm', ['audit', '--prod', '--json'], {
  cwd: root,
  encoding: 'utf8',
  timeout: 120_000,
});
try {
  const report = JSON.parse(r.stdout);
  if (report.error)
    audit = `not run: ${report.error.code ?? ''} ${String(report.error.message ?? '').split('\n')[0]}`;
  else {
    const counts = report.metadata?.vulnerabilities ?? {};
    const serious = (counts.high ?? 0) + (counts.critical ?? 0);
    audit = `${
      Object.entries(counts)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ') || 'no advisories'
    }`;
    if (serious > 0)
      fail(
        `pnpm audit --prod: ${serious} high or critical advisories; run \`pnpm audit --prod\` and update or replace the package.`,
      );
  }
} catch {
  audit = `not run: ${(r.stderr || r.stdout || r.error?.message || 'no output').trim().split('\n')[0]}`;
}

console.log(
  `supply chain: ${scanned} source files free of code-from-data; ${resolutions.length} locked packages pinned by sha512; ` +
    `install scripts only in ${[...withScripts].join(', ') || 'none'} (allowed: ${[...allowed].join(', ') || 'none'}); ` +
    `dependency audit ${audit}`,
);
if (failures.length > 0) {
  for (const f of failures) console.error(`supply chain: ${f}`);
  process.exit(1);
}
