import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DirectoryLock, LockedError, tempIsAbandoned, tempName, tempOwner } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'node-io-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const built = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

describe('DirectoryLock', () => {
  it('refuses a second holder, naming the first, and frees the lock on release', async () => {
    const d = mkdtempSync(join(dir, 'a-'));
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { DirectoryLock } from ${JSON.stringify(built)};
         await DirectoryLock.acquire(${JSON.stringify(d)});
         console.log('locked'); setTimeout(() => {}, 60000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
      const error = await DirectoryLock.acquire(d).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockedError);
      expect((error as Error).message).toMatch(
        new RegExp(`in use by another process \\(pid ${child.pid} on host ${hostname()}`),
      );
    } finally {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // Its holder is dead now: the lock is stale and taken over.
    const lock = await DirectoryLock.acquire(d);
    expect(JSON.parse(readFileSync(join(d, 'run.lock'), 'utf8')).pid).toBe(process.pid);
    await lock.release();
    expect(existsSync(join(d, 'run.lock'))).toBe(false);
  });

  it('takes over a lock left by a dead process, and by a reused pid', async () => {
    const d = mkdtempSync(join(dir, 'b-'));
    const stale = { pid: deadPid(), host: hostname(), started: '2026-01-01T00:00:00.000Z' };
    writeFileSync(join(d, 'run.lock'), JSON.stringify(stale));
    const lock = await DirectoryLock.acquire(d);
    await lock.release();
    // This very pid, but a process that started at another time: the pid was reused.
    const reused = { pid: process.ppid, host: hostname(), started: 'x', processStart: '1' };
    writeFileSync(join(d, 'run.lock'), JSON.stringify(reused));
    if (existsSync(`/proc/${process.ppid}/stat`)) await (await DirectoryLock.acquire(d)).release();
    // A live process on another host cannot be checked: never broken.
    writeFileSync(join(d, 'run.lock'), JSON.stringify({ ...stale, host: 'elsewhere' }));
    await expect(DirectoryLock.acquire(d)).rejects.toThrow(/if that process is gone, delete/);
  });

  it('lets exactly one of several processes racing for a stale lock win', async () => {
    const d = mkdtempSync(join(dir, 'c-'));
    writeFileSync(
      join(d, 'run.lock'),
      JSON.stringify({ pid: deadPid(), host: hostname(), started: 'then' }),
    );
    const racers = Array.from(
      { length: 4 },
      () =>
        new Promise<string>((resolve) => {
          const child = spawn(
            process.execPath,
            [
              '--input-type=module',
              '-e',
              `import { DirectoryLock } from ${JSON.stringify(built)};
               try { await DirectoryLock.acquire(${JSON.stringify(d)}); console.log('won');
                     await new Promise((r) => setTimeout(r, 1500)); }
               catch (e) { console.log(e.name); }`,
            ],
            { stdio: ['ignore', 'pipe', 'inherit'] },
          );
          let out = '';
          child.stdout!.on('data', (c) => {
            out += c;
          });
          child.on('exit', () => resolve(out.trim()));
        }),
    );
    const results = await Promise.all(racers);
    expect(results.filter((r) => r === 'won')).toHaveLength(1);
    expect(results.filter((r) => r === 'LockedError')).toHaveLength(3);
  });
});

describe('temporary names', () => {
  it('carry their pid, so only our own or dead owners count as abandoned', () => {
    const ours = tempName('/x/latest.json');
    expect(tempOwner(ours)).toEqual({ pid: process.pid });
    expect(tempIsAbandoned(ours)).toBe(true);
    expect(tempIsAbandoned(`/x/step-000001.tmp-${process.ppid}-0a1b2c3d`)).toBe(false);
    expect(tempIsAbandoned(`/x/step-000001.tmp-${deadPid()}-0a1b2c3d`)).toBe(true);
    expect(tempOwner('/x/step-000001.tmp-0a1b2c3d')).toEqual({ pid: undefined });
    expect(tempOwner('/x/latest.json')).toBeUndefined();
  });
});
