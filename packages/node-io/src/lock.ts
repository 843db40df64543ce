/**
 * One writer per directory: an advisory lock file holding its owner's pid, host and start time.
 *
 * The lock file appears whole or not at all (written beside it, then hard-linked into place,
 * which fails if a lock exists). A lock whose owner is provably dead — same host, and no process
 * with that pid, or one with that pid that started at another time (the pid was reused) — is
 * stale and is taken over; the take-over runs under a second, short-lived lock, so two processes
 * that find the same stale lock cannot both win. A lock held from another host is never broken:
 * its owner cannot be checked from here.
 */
import { closeSync, constants, fstatSync, openSync, readSync, unlinkSync } from 'node:fs';
import { link, open, rm, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { isProcessAlive, processStartTime } from './process.js';
import { readRegularTextFile } from './read.js';
import { tempName, writeFileAtomic } from './write.js';

/** What a lock file says about its owner. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** When the lock was taken (ISO 8601). */
  readonly started: string;
  /** The owner's start time in clock ticks since boot, where the platform tells it. */
  readonly processStart?: string;
}

/** Thrown when another live process holds the lock; the message names it in one line. */
export class LockedError extends Error {
  override name = 'LockedError';
  constructor(
    message: string,
    readonly path: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(message);
  }
}

/** The lock file's name inside a locked directory. */
export const LOCK_FILE = 'run.lock';

const held = new Map<string, { count: number; text: string }>();
let exitHookInstalled = false;

/** A held lock on a directory; {@link DirectoryLock.release} gives it up. */
export class DirectoryLock {
  private released = false;
  private constructor(readonly path: string) {}

  /**
   * Takes the lock of `dir` (which must exist), taking over a stale one, or throws a
   * {@link LockedError} naming the live holder. A process may take the same lock more than once
   * (each take needs its release).
   *
   * @example
   * ```ts
   * const lock = await DirectoryLock.acquire('runs/main');
   * try { ... } finally { await lock.release(); }
   * ```
   */
  static async acquire(
    dir: string,
    { name = LOCK_FILE }: { name?: string } = {},
  ): Promise<DirectoryLock> {
    const path = join(dir, name);
    const mine = held.get(path);
    if (mine) {
      mine.count++;
      return new DirectoryLock(path);
    }
    const start = processStartTime(process.pid);
    const me: LockHolder = {
      pid: process.pid,
      host: hostname(),
      started: new Date().toISOString(),
      ...(start !== undefined ? { processStart: start } : {}),
    };
    const text = `${JSON.stringify(me)}\n`;
    for (let attempt = 0; attempt < 8; attempt++) {
      if (await createExclusive(path, text)) {
        held.set(path, { count: 1, text });
        installExitHook();
        return new DirectoryLock(path);
      }
      const found = await readLock(path);
      if (found === 'gone') continue;
      if (found !== 'damaged' && !isStale(found)) {
        const since = `since ${found.started}`;
        const here = found.host === me.host;
        throw new LockedError(
          `${dir} is in use by another process (pid ${found.pid} on host ${found.host}, ${since}); ` +
            (here
              ? 'wait for it to finish, or choose another directory'
              : `if that process is gone, delete ${path}`),
          path,
          found,
        );
      }
      await breakStaleLock(path, found);
    }
    throw new LockedError(
      `${dir}: could not take its lock ${path} (other processes keep taking it); try again`,
      path,
      undefined,
    );
  }

  /** Gives the lock up (removing the lock file if it is still this process's). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    const mine = held.get(this.path);
    if (!mine || --mine.count > 0) return;
    held.delete(this.path);
    const now = await readRegularTextFile(this.path, { maxBytes: 4096 }).catch(() => undefined);
    if (now === mine.text) await rm(this.path, { force: true });
  }
}

/** The holder named by the lock file at `path`, `'gone'` if there is none, `'damaged'` if unreadable. */
export async function readLock(path: string): Promise<LockHolder | 'gone' | 'damaged'> {
  let text: string;
  try {
    text = await readRegularTextFile(path, { maxBytes: 4096 });
  } catch (error) {
    return (error as { code?: string }).code === 'ENOENT' ? 'gone' : 'damaged';
  }
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (Number.isSafeInteger(h.pid) && typeof h.host === 'string' && typeof h.started === 'string')
      return h as LockHolder;
  } catch {}
  return 'damaged';
}

/** Whether a lock's owner is provably dead (on this host; a lock from elsewhere never is). */
export function isStale(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return false;
  if (!isProcessAlive(holder.pid)) return true;
  // This very process (a lock it forgot, e.g. left by a failed release): take it back.
  if (holder.pid === process.pid) return true;
  const start = processStartTime(holder.pid);
  return holder.processStart !== undefined && start !== undefined && start !== holder.processStart;
}

/** Creates `path` holding `text` only if it does not exist: true if created. */
async function createExclusive(path: string, text: string): Promise<boolean> {
  const temp = tempName(path);
  await writeFileAtomic(temp, text);
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    // A file system without hard links: an exclusive create (its content lands a moment later).
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(text);
      await handle.close();
      return true;
    } catch (inner) {
      if ((inner as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw inner;
    }
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * Removes a stale lock, under a short-lived second lock (`<lock>.break`) so that of several
 * processes finding the same stale lock, one removes it and none removes a fresh one.
 */
async function breakStaleLock(path: string, stale: LockHolder | 'damaged'): Promise<void> {
  const breaker = `${path}.break`;
  const text = `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`;
  for (let i = 0; i < 100; i++) {
    if (await createExclusive(breaker, text)) {
      try {
        const now = await readLock(path);
        const same =
          now === 'damaged'
            ? stale === 'damaged'
            : now !== 'gone' &&
              stale !== 'damaged' &&
              now.pid === stale.pid &&
              now.host === stale.host &&
              now.started === stale.started;
        if (same) await unlink(path).catch(() => undefined);
      } finally {
        await rm(breaker, { force: true });
      }
      return;
    }
    // A breaker left by a process killed mid-take-over: gone after a few seconds.
    const info = await stat(breaker).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > 5_000) await rm(breaker, { force: true });
    else await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A process that exits without releasing (process.exit, an uncaught error) leaves no lock behind.
  process.once('exit', () => {
    for (const [path, { text }] of held) {
      try {
        if (readSmallSync(path) === text) unlinkSync(path);
      } catch {}
    }
  });
}

/** A small regular file's text, read without blocking (a FIFO put in its place is not read). */
function readSmallSync(path: string): string | undefined {
  const fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > 4096) return undefined;
    const buffer = Buffer.alloc(info.size);
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return buffer.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
