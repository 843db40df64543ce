/**
 * Training data as token files: `--data DIR` (a dataset from `primer-ez data prepare`), and
 * `--text FILE…` tokenized in chunks into the run directory's `data/` (the same format), so a
 * corpus is bounded by the disk, not by a JavaScript string.
 */
import { join } from 'node:path';
import type { Tokenizer } from '@primer-ez/tokenizer';
import {
  hashFiles,
  openTokenDataset,
  prepareTokenDataset,
  readTokenDatasetMeta,
  TOKEN_DATASET_FILES,
  type TokenDataset,
  type TokenizerSpec,
  trainTokenizerOnFiles,
} from '@primer-ez/trainer/node';
import { corpusProgress, textError } from './corpus.js';
import { CliError } from './errors.js';

/** The token dataset `primer-ez train --text` writes inside its run directory. */
export const RUN_DATA_DIR = 'data';

/** Opens a token dataset for `flag` (e.g. `--data DIR`), with one-line errors. */
export async function openDataset(dir: string, flag: string): Promise<TokenDataset> {
  try {
    return await openTokenDataset(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new CliError(
        `${flag}: ${(error as NodeJS.ErrnoException).path ?? dir} is missing; make the dataset with primer-ez data prepare --text FILE --out DIR.`,
      );
    throw new CliError(`${flag}: ${(error as Error).message}`);
  }
}

/** Whether `runDir` holds a token dataset written by `train --text`. */
export async function hasRunData(runDir: string): Promise<boolean> {
  return readTokenDatasetMeta(join(runDir, RUN_DATA_DIR)).then(
    () => true,
    () => false,
  );
}

/** Refuses token ids made by another tokenizer than the model's. */
export function checkSameTokenizer(data: TokenDataset, tokenizer: Tokenizer, flag: string): void {
  if (!sameTokenizer(data.tokenizer, tokenizer))
    throw new CliError(
      `${flag}: ${join(data.dir, TOKEN_DATASET_FILES.tokenizer)} is not the checkpoint's tokenizer, so its ids mean other tokens; prepare the data with --tokenizer-file <checkpoint>/tokenizer.json.`,
    );
}

function sameTokenizer(a: Tokenizer, b: Tokenizer): boolean {
  return JSON.stringify(a.toTokenizerJson()) === JSON.stringify(b.toTokenizerJson());
}

/** Trains a tokenizer on `--text` files, streaming, with the CLI's errors and progress line. */
export async function trainTokenizerOnText(
  paths: readonly string[],
  spec: Exclude<TokenizerSpec, Tokenizer>,
): Promise<Tokenizer> {
  return interruptible((signal) =>
    trainTokenizerOnFiles(paths, spec, { onProgress: corpusProgress(), signal }).catch((error) =>
      textError(error, 'train'),
    ),
  );
}

/**
 * The `--text` files as token files in `RUN/data/`: reused when they were made from files with
 * the same SHA-256 by the same tokenizer (a resumed run), else tokenized again (streaming).
 */
export async function runTokenData(
  runDir: string,
  paths: readonly string[],
  tokenizer: Tokenizer,
): Promise<TokenDataset> {
  const dir = join(runDir, RUN_DATA_DIR);
  const meta = await readTokenDatasetMeta(dir).catch(() => undefined);
  if (meta !== undefined && meta.validation_fraction === 0.1) {
    const sources = await hashFiles(paths).catch((error) => textError(error, 'train'));
    const same =
      meta.sources.length === sources.length &&
      meta.sources.every(
        (s, i) => s.sha256 === sources[i]?.sha256 && s.bytes === sources[i]?.bytes,
      );
    if (same) {
      const data = await openTokenDataset(dir).catch(() => undefined);
      if (data !== undefined && sameTokenizer(data.tokenizer, tokenizer)) {
        process.stderr.write(`data: reusing the tokens in ${dir} (same files, same tokenizer)\n`);
        return data;
      }
      data?.close();
    }
  }
  await interruptible((signal) =>
    prepareTokenDataset(dir, {
      paths,
      tokenizer,
      force: true,
      onProgress: corpusProgress(),
      signal,
    }).catch((error) => textError(error, 'train')),
  );
  return openDataset(dir, `--out ${runDir}`);
}

/**
 * Runs a streaming pass that Ctrl-C or SIGTERM stops between chunks (its temporary files
 * removed), exiting 130 / 143 with one line.
 */
export async function interruptible<T>(
  pass: (signal: AbortSignal) => Promise<T>,
  interrupted = 'interrupted while reading the text; nothing was saved.',
): Promise<T> {
  const controller = new AbortController();
  let exitCode = 130;
  const onSigint = () => controller.abort();
  const onSigterm = () => {
    exitCode = 143;
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  try {
    return await pass(controller.signal);
  } catch (error) {
    if (controller.signal.aborted) throw new CliError(interrupted, exitCode);
    throw error;
  } finally {
    process.removeListener('SIGINT', onSigint);
    process.removeListener('SIGTERM', onSigterm);
  }
}
