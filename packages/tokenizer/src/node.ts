/**
 * Node.js-only helpers: save and load `tokenizer.json` files. Import from
 * `@primer-ez/tokenizer/node`; the main entry has no `fs` dependency and runs in browsers.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import type { CharTokenizer } from './char-tokenizer.js';
import { TokenizerError } from './errors.js';
import { loadTokenizerJson } from './load.js';
import type { Tokenizer } from './types.js';

/**
 * Writes `data` to `path` atomically: the data goes to a temporary file in the same directory,
 * which is then renamed over `path`, so readers see either the old file or the complete new one.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const temp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    await writeFile(temp, data, { flag: 'wx' });
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Saves `tokenizer` as a Hugging Face `tokenizer.json` at `path` (atomically). */
export async function saveTokenizer(tokenizer: Tokenizer, path: string): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(tokenizer.toTokenizerJson()));
}

/**
 * Saves `tokenizer.json` and `tokenizer_config.json` into the directory `dir` (which must
 * exist), the pair that transformers and transformers.js load. Returns the two paths.
 */
export async function saveTokenizerFiles(
  tokenizer: Tokenizer,
  dir: string,
): Promise<{ tokenizerJson: string; tokenizerConfig: string }> {
  const tokenizerJson = join(dir, 'tokenizer.json');
  const tokenizerConfig = join(dir, 'tokenizer_config.json');
  await writeFileAtomic(tokenizerJson, JSON.stringify(tokenizer.toTokenizerJson()));
  await writeFileAtomic(
    tokenizerConfig,
    `${JSON.stringify(tokenizer.toTokenizerConfig(), null, 2)}\n`,
  );
  return { tokenizerJson, tokenizerConfig };
}

/**
 * Loads a tokenizer from a `tokenizer.json` file, or from a directory containing one. Errors
 * name the file; see {@link loadTokenizerJson} for what is supported.
 */
export async function loadTokenizer(path: string): Promise<ByteLevelBpeTokenizer | CharTokenizer> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, 'tokenizer.json');
  } catch (error) {
    throw new TokenizerError(
      `cannot read tokenizer file ${JSON.stringify(path)}: ${(error as Error).message}`,
    );
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new TokenizerError(
      `cannot read tokenizer file ${JSON.stringify(file)}: ${(error as Error).message}`,
    );
  }
  try {
    return loadTokenizerJson(text);
  } catch (error) {
    if (error instanceof TokenizerError) {
      error.message = `${file}: ${error.message}`;
    }
    throw error;
  }
}
