import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileReadError, hashRegularFile, readRegularFile } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'node-io-read-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readRegularFile', () => {
  it('reads a regular file, and a link to one', async () => {
    writeFileSync(join(dir, 'a.txt'), 'hello');
    symlinkSync(join(dir, 'a.txt'), join(dir, 'link-to-a'));
    expect((await readRegularFile(join(dir, 'a.txt'), { maxBytes: 5 })).toString()).toBe('hello');
    expect((await readRegularFile(join(dir, 'link-to-a'), { maxBytes: 5 })).toString()).toBe(
      'hello',
    );
  });

  it('refuses, at once and in one line, what is not a regular file of bounded size', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    symlinkSync(join(dir, 'loop-b'), join(dir, 'loop-a'));
    symlinkSync(join(dir, 'loop-a'), join(dir, 'loop-b'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'big'), Buffer.alloc(100));
    const socketPath = join(dir, 'socket');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const cases: [string, RegExp][] = [
        [fifo, /is not a regular file \(it is a named pipe\)/],
        ['/dev/zero', /is not a regular file \(it is a device\)/],
        [join(dir, 'loop-a'), /too many levels of symbolic links/],
        [join(dir, 'sub'), /is not a regular file \(it is a directory\)|a directory/],
        [join(dir, 'big'), /is 100 bytes, more than the 99 bytes read/],
        [join(dir, 'missing'), /no such file/],
        [socketPath, /not a regular file/],
      ];
      for (const [path, message] of cases) {
        const error = await readRegularFile(path, { maxBytes: 99 }).catch((e: unknown) => e);
        expect(error, path).toBeInstanceOf(FileReadError);
        expect((error as Error).message).toMatch(message);
        expect((error as Error).message).not.toMatch(/\n/);
      }
    } finally {
      server.close();
    }
  });

  it('hashes a file in chunks', async () => {
    writeFileSync(join(dir, 'h'), 'abc');
    expect(await hashRegularFile(join(dir, 'h'))).toEqual({
      size: 3,
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    });
    await expect(hashRegularFile('/dev/zero')).rejects.toThrow(/not a regular file/);
  });
});
