/**
 * Bounded reads of regular files. Every file is opened once, checked through the open handle
 * (`fstat`) to be a regular file no larger than a cap, and only then read, so a named pipe, a
 * device such as `/dev/zero`, a socket or a symlink loop fails at once with one clear line
 * instead of hanging or filling memory, and a file swapped between a check and the read cannot
 * slip through (there is no second lookup of the path).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';

/** Why a file could not be read. `code` is the errno (`ENOENT`, `ELOOP`, …) or one of ours. */
export class FileReadError extends Error {
  override name = 'FileReadError';
  constructor(
    message: string,
    readonly path: string,
    readonly code: 'NOT_REGULAR' | 'TOO_LARGE' | 'CHANGED' | string,
    /** The file's size, where it was learnt (`TOO_LARGE`). */
    readonly size?: number,
  ) {
    super(message);
  }
}

/** Options of {@link readRegularFile}. */
export interface ReadOptions {
  /** The largest file read, in bytes. Required: there is no unbounded read. */
  readonly maxBytes: number;
}

/** The largest buffer Node reads in one piece (2 GiB − 1). */
export const MAX_BUFFER_BYTES = 2 ** 31 - 1;

// O_NONBLOCK: opening a FIFO for reading returns at once instead of waiting for a writer.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Opens `path` for reading and checks through the handle that it is a regular file of at most
 * `maxBytes` bytes. The caller closes the handle.
 */
export async function openRegularFile(
  path: string,
  { maxBytes }: ReadOptions,
): Promise<{ handle: FileHandle; size: number }> {
  checkCap(maxBytes);
  let handle: FileHandle;
  try {
    handle = await open(path, READ_FLAGS);
  } catch (error) {
    throw describeOpenError(path, error as NodeJS.ErrnoException);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new FileReadError(
        `${path} is not a regular file (it is ${kind(info)}); give the path of a file`,
        path,
        'NOT_REGULAR',
      );
    }
    if (info.size > maxBytes) {
      throw new FileReadError(
        `${path} is ${info.size} bytes, more than the ${maxBytes} bytes read (is it the right file?)`,
        path,
        'TOO_LARGE',
        info.size,
      );
    }
    return { handle, size: info.size };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Reads a whole regular file of at most `maxBytes` bytes (see the module comment). Errors are
 * {@link FileReadError}s with a one-line message naming the path.
 *
 * @example
 * ```ts
 * const bytes = await readRegularFile('config.json', { maxBytes: 1 << 20 });
 * ```
 */
export async function readRegularFile(path: string, options: ReadOptions): Promise<Buffer> {
  const { handle, size } = await openRegularFile(path, options);
  try {
    // One byte more than the size, to notice a file that grows while it is read.
    const buffer = Buffer.allocUnsafe(Math.min(size, options.maxBytes) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) {
        throw new FileReadError(
          `${path} grew while it was read (past ${size} bytes); read it again once it is complete`,
          path,
          'CHANGED',
        );
      }
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof FileReadError) throw error;
    throw new FileReadError(
      `cannot read ${path}: ${(error as Error).message}`,
      path,
      (error as NodeJS.ErrnoException).code ?? 'EIO',
    );
  } finally {
    await handle.close();
  }
}

/** {@link readRegularFile}, decoded as UTF-8. */
export async function readRegularTextFile(path: string, options: ReadOptions): Promise<string> {
  return (await readRegularFile(path, options)).toString('utf8');
}

/**
 * The size and SHA-256 of a regular file, streamed (any size up to `maxBytes`, default
 * unlimited), through the same one-open check as {@link readRegularFile}.
 */
export async function hashRegularFile(
  path: string,
  { maxBytes = Number.MAX_SAFE_INTEGER }: Partial<ReadOptions> = {},
): Promise<{ size: number; sha256: string }> {
  const { handle } = await openRegularFile(path, { maxBytes });
  try {
    const hash = createHash('sha256');
    const chunk = Buffer.allocUnsafe(1 << 20);
    let size = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      hash.update(chunk.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { size, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

function checkCap(maxBytes: number): void {
  if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 0))
    throw new RangeError(`maxBytes = ${maxBytes} must be an integer ≥ 0`);
}

function describeOpenError(path: string, error: NodeJS.ErrnoException): FileReadError {
  const code = error.code ?? 'EIO';
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'ELOOP'
        ? 'too many levels of symbolic links (a link loop?)'
        : code === 'ENXIO'
          ? 'not a regular file (a socket or a device with nothing behind it)'
          : code === 'EACCES' || code === 'EPERM'
            ? 'permission denied'
            : code === 'EISDIR'
              ? 'a directory, not a file'
              : (error.message.split('\n')[0] ?? code);
  return new FileReadError(`cannot read ${path}: ${why}`, path, code);
}

function kind(info: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a named pipe';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  return 'not a plain file';
}
