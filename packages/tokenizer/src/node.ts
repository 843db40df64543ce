/**
 * Node.js-only helpers: save and load `tokenizer.json` files. Import from
 * `@primer-ez/tokenizer/node`; the main entry has no `fs` dependency and runs in browsers.
 */
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describeValue } from '@primer-ez/input-checks';
import { FileReadError, readRegularFile, writeFileAtomic } from '@primer-ez/node-io';
import type { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import type { CharTokenizer } from './char-tokenizer.js';
import { TokenizerError } from './errors.js';
import { type LoadTokenizerOptions, resolveLoadOptions } from './limits.js';
import { loadTokenizerJson } from './load.js';
import type { Tokenizer } from './types.js';

/** Writes `data` to `path` atomically (see `@primer-ez/node-io`, the one home of this helper). */
export { writeFileAtomic };

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

/** Options for {@link loadTokenizer}: the size limits of {@link LoadTokenizerOptions}, and a pin. */
export interface LoadTokenizerFileOptions extends LoadTokenizerOptions {
  /**
   * Expected SHA-256 of the file (64 hex digits). When given, any other content is refused:
   * the only way to detect a change that still makes a valid tokenizer (see the README).
   */
  readonly sha256?: string;
}

/**
 * Loads a tokenizer from a `tokenizer.json` file, or from a directory containing one. Errors
 * name the file; see {@link loadTokenizerJson} for what is supported. The file must be a regular
 * file of valid UTF-8 within `options.maxBytes` (128 MiB by default); its size is checked before
 * it is read, so a huge file or a device such as `/dev/zero` is refused without reading it.
 *
 * @example
 * ```ts
 * const tok = await loadTokenizer('checkpoints/step-000500', { sha256: pinnedDigest });
 * ```
 */
export async function loadTokenizer(
  path: string,
  options: LoadTokenizerFileOptions = {},
): Promise<ByteLevelBpeTokenizer | CharTokenizer> {
  if (typeof path !== 'string' || path === '') {
    throw new TokenizerError(
      `loadTokenizer() expects a file or directory path, got ${describeValue(path)}`,
    );
  }
  const limits = resolveLoadOptions(options);
  const pin = readPin(options.sha256);
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, 'tokenizer.json');
  } catch (error) {
    throw new TokenizerError(
      `cannot read tokenizer file ${JSON.stringify(path)}: ${(error as Error).message}`,
    );
  }
  const bytes = await readLimited(file, limits.maxBytes);
  try {
    if (pin !== undefined) {
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== pin) {
        throw new TokenizerError(
          `its SHA-256 is ${actual}, not the expected ${pin}; the file changed or is not the one that was pinned`,
        );
      }
    }
    return loadTokenizerJson(bytes, limits);
  } catch (error) {
    if (error instanceof TokenizerError) {
      error.message = `${file}: ${error.message}`;
    }
    throw error;
  }
}

/** Reads a regular file of at most `maxBytes` bytes, checked through the open handle before reading. */
async function readLimited(file: string, maxBytes: number): Promise<Uint8Array> {
  try {
    return await readRegularFile(file, { maxBytes });
  } catch (error) {
    if (error instanceof FileReadError && error.code === 'NOT_REGULAR')
      throw new TokenizerError(
        `${JSON.stringify(file)} is not a regular file; give the path of a tokenizer.json file or of its directory`,
      );
    if (error instanceof FileReadError && error.code === 'TOO_LARGE')
      throw new TokenizerError(
        `${JSON.stringify(file)} is ${error.size} bytes, more than the limit of ${maxBytes}; ` +
          'if the file is genuine, raise the limit with the maxBytes option',
      );
    throw new TokenizerError(
      `cannot read tokenizer file ${JSON.stringify(file)}: ${(error as Error).message}`,
    );
  }
}

function readPin(sha256: unknown): string | undefined {
  if (sha256 === undefined) return undefined;
  if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new TokenizerError(
      `sha256 must be 64 hexadecimal digits (e.g. from \`sha256sum tokenizer.json\`), got ${describeValue(sha256)}`,
    );
  }
  return sha256.toLowerCase();
}
