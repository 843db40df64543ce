/**
 * Atomic writes: the data goes to a temporary file beside the target (its name carries this
 * process's id, so a clean-up can tell whose it is), is flushed to disk, renamed over the target,
 * and the directory is flushed so the rename itself survives a power cut. A crash leaves either
 * the old file or the new one, never half of one.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isProcessAlive } from './process.js';

/**
 * A temporary name beside `path` owned by this process: `path.tmp-<pid>-<hex>` (for directories)
 * or `path.<pid>-<hex>.tmp` (for files). {@link tempOwner} reads the pid back.
 */
export function tempName(path: string, style: 'file' | 'dir' = 'file'): string {
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  return style === 'dir' ? `${path}.tmp-${tag}` : `${path}.${tag}.tmp`;
}

const TEMP = /\.(?:tmp-(?:(\d+)-)?[0-9a-f]+|(?:(\d+)-)?[0-9a-f]+\.tmp)$/;

/**
 * Whether a file name is a temporary name, and whose: `{ pid }` for names made by
 * {@link tempName}, `{ pid: undefined }` for the older names without a pid, `undefined` for
 * anything else.
 */
export function tempOwner(name: string): { pid: number | undefined } | undefined {
  const m = TEMP.exec(name);
  if (!m) return undefined;
  const pid = m[1] ?? m[2];
  return { pid: pid === undefined ? undefined : Number(pid) };
}

/**
 * Whether a temporary name may be removed by this process: it is its own, or its owner is
 * provably dead on this host. Names without a pid are left for the caller to judge.
 */
export function tempIsAbandoned(name: string): boolean {
  const owner = tempOwner(name);
  if (owner === undefined || owner.pid === undefined) return false;
  return owner.pid === process.pid || !isProcessAlive(owner.pid);
}

/**
 * Writes `data` to `path` atomically (see the module comment).
 *
 * @example
 * ```ts
 * await writeFileAtomic('latest.json', '{"step": 500}\n');
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  if (typeof data !== 'string' && !(data instanceof Uint8Array))
    throw new TypeError(`writeFileAtomic(${path}): data must be a string or a Uint8Array`);
  const temp = tempName(path);
  const handle = await open(temp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** Flushes a directory's entries (a rename into it) to disk; a no-op where that is unsupported. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms and file systems (Windows, some network mounts) cannot fsync a directory.
  } finally {
    await handle?.close();
  }
}
