// The built `primer-ez` command, run as a user runs it: a real process in a scratch folder.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

/** The CLI of this package's build (turbo builds it before the tests). */
export const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** A fresh folder under the system's temporary one, removed after the file's tests. */
export function scratch(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** How a finished `primer-ez` process ended and what it printed. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `primer-ez …args` in `cwd` to its end, or until `timeout` ms have passed. */
export function runCli(
  args: readonly string[],
  {
    cwd,
    timeout = 120_000,
    nodeFlags = [],
    env,
    input,
  }: {
    cwd: string;
    timeout?: number;
    /** Flags for Node itself, before the script. */
    nodeFlags?: readonly string[];
    env?: NodeJS.ProcessEnv;
    input?: string;
  },
): CliResult {
  const r = spawnSync(process.execPath, [...nodeFlags, CLI, ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    timeout,
    ...(env ? { env } : {}),
    ...(input !== undefined ? { input } : {}),
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
