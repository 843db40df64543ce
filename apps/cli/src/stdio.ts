import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CliError } from './errors.js';

/**
 * The standard streams as a Unix tool uses them (like git and ripgrep): stdout is data that
 * reaches its reader whole, whatever it is (a terminal, a file or a pipe); a reader that goes away
 * (`| head`) ends the process quietly; `-` in place of a file reads stdin.
 */

/**
 * Ends the process quietly when the reader of stdout or stderr goes away (EPIPE): there is no one
 * left to tell, so no message, and the exit status is the command's so far (0 unless it was
 * interrupted), as ripgrep does. Another write error on stdout (a full disk under `> file`) is one
 * line on stderr and exit status 1. Call once, before anything is written.
 */
export function exitQuietlyWhenTheReaderGoes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED')
        process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
      if (stream === process.stdout)
        process.stderr.write(`primer-ez: cannot write to standard output: ${error.message}\n`);
      process.exit(1);
    });
  }
}

/** Resolves once everything written so far to `stream` has been handed to the operating system. */
export function flushed(stream: NodeJS.WriteStream): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  // Writes complete in order, so the callback of an empty write runs after every earlier one.
  return new Promise((resolve) => stream.write('', () => resolve()));
}

/**
 * Exits with `code` once stdout and stderr are flushed. `process.exit()` alone drops whatever a
 * pipe has not taken yet (64 KiB of a 3 MB output reached `| wc -c`).
 */
export async function exitWhenFlushed(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/** All of standard input, as bytes (for `--text -`, `--ids -` and text piped in). */
export async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * `paths` with `-` replaced by `file`, which receives all of standard input (streamed to disk, so
 * its size is bounded by the disk), for readers that take file paths and read them more than once
 * (a tokenizer pass, then a tokenizing pass). Without `-`, nothing is read.
 */
export async function stdinAsFile(paths: readonly string[], file: string): Promise<string[]> {
  if (!paths.includes('-')) return [...paths];
  await mkdir(dirname(file), { recursive: true });
  await pipeline(process.stdin, createWriteStream(file));
  if ((await stat(file)).size === 0)
    throw new CliError('--text -: standard input is empty; pipe some text in, or give a file.');
  return paths.map((path) => (path === '-' ? file : path));
}
