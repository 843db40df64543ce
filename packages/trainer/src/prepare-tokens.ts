/**
 * Node-only: tokenizes text files into a token dataset (see token-file.ts), streaming: the files
 * are read in chunks, tokenized piece by piece and the ids appended to a file, so memory holds a
 * chunk, never the corpus. The directory is written under a temporary name and renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { BpeTrainer, type Tokenizer, trainCharTokenizer } from '@primer-ez/tokenizer';
import { DataError } from './data.js';
import { type TextProgress, type TextSourceInfo, TextStream } from './text-stream.js';
import {
  dtypeBytes,
  encodeTokenBytes,
  TOKEN_DATASET_FILES,
  type TokenDatasetMeta,
  type TokenDtype,
  tokenDtype,
  trainTokenCount,
} from './token-file.js';

/** How to get the tokenizer: an existing one, or train one on the files. */
export type TokenizerSpec =
  | Tokenizer
  | { kind: 'char' }
  | {
      kind: 'bpe';
      vocabSize: number;
      specialTokens?: readonly string[];
      /** BPE trains on the first this many bytes of text (default {@link DEFAULT_BPE_SAMPLE_BYTES}). */
      sampleBytes?: number;
    };

/** BPE trains on a bounded sample: the corpus's first 64 MiB. */
export const DEFAULT_BPE_SAMPLE_BYTES = 64 * 1024 * 1024;

/** What a pass over the corpus is doing, for a progress line. */
export type PreparePhase = 'characters' | 'bpe-sample' | 'tokens';

/** Options shared by {@link trainTokenizerOnFiles} and {@link prepareTokenDataset}. */
export interface StreamOptions {
  /** Bytes read at a time (default 256 KiB). */
  chunkBytes?: number;
  onProgress?: (phase: PreparePhase, progress: TextProgress) => void;
  /** Stops between chunks (the temporary directory is removed; the error is an `AbortError`). */
  signal?: AbortSignal;
}

/**
 * Trains a tokenizer on text files without holding them: a character tokenizer sees every
 * character of every file (one streaming pass), a BPE one the first `sampleBytes` of text. Both
 * equal what `trainCharTokenizer` / `trainByteLevelBpe` learn from the whole text joined with
 * '\n' (for BPE: when the corpus fits in the sample).
 */
export async function trainTokenizerOnFiles(
  paths: readonly string[],
  spec: Exclude<TokenizerSpec, Tokenizer>,
  options: StreamOptions = {},
): Promise<Tokenizer> {
  if (spec.kind === 'char') {
    const seen = new Uint8Array(0x110000);
    const stream = textStream(paths, options, 'characters', []);
    for await (const piece of stream.pieces()) {
      options.signal?.throwIfAborted();
      for (let i = 0; i < piece.length; i++) {
        const c = piece.charCodeAt(i);
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < piece.length) {
          seen[piece.codePointAt(i) as number] = 1;
          i++;
        } else seen[c] = 1;
      }
    }
    let chars = '';
    for (let cp = 0; cp < seen.length; cp++) if (seen[cp]) chars += String.fromCodePoint(cp);
    return trainCharTokenizer(chars);
  }
  const trainer = new BpeTrainer({
    vocabSize: spec.vocabSize,
    specialTokens: spec.specialTokens ?? [],
  });
  const limit = spec.sampleBytes ?? DEFAULT_BPE_SAMPLE_BYTES;
  let fed = 0;
  const stream = textStream(paths, options, 'bpe-sample', spec.specialTokens ?? []);
  for await (const piece of stream.pieces()) {
    options.signal?.throwIfAborted();
    trainer.feed(piece);
    fed += Buffer.byteLength(piece);
    if (fed >= limit) break;
  }
  return trainer.finish();
}

/** Options of {@link prepareTokenDataset}. */
export interface PrepareOptions extends StreamOptions {
  /** Text files, joined with '\n' in this order. */
  paths: readonly string[];
  tokenizer: TokenizerSpec;
  /** The stream's last fraction validates. Default 0.1 (as `primer-ez train`). */
  validationFraction?: number;
  /** Replace a non-empty `out`. */
  force?: boolean;
}

/** What {@link prepareTokenDataset} wrote. */
export interface PreparedDataset {
  dir: string;
  meta: TokenDatasetMeta;
  tokenizer: Tokenizer;
}

/**
 * Checks that `out` can receive a dataset: absent, an empty directory, or (with `force`) any
 * directory. Call it before the long work; {@link prepareTokenDataset} calls it too.
 */
export async function checkDatasetOut(out: string, force = false): Promise<void> {
  const info = await stat(out).catch(() => undefined);
  if (info === undefined) return;
  if (!info.isDirectory()) throw new DataError(`${out} exists and is not a directory.`);
  if (!force && (await readdir(out)).length > 0)
    throw new DataError(
      `${out} is not empty; choose another directory or add --force to replace it.`,
    );
}

/**
 * Tokenizes `paths` into the dataset directory `out` (see docs/token-format.md): trains the
 * tokenizer if asked (one streaming pass), then a second pass writes the ids, which are split by
 * count into `train.bin` and `val.bin` exactly as `splitTokens` splits them in memory. Written
 * under a temporary name next to `out`, then renamed: `out` is either untouched or complete.
 *
 * @example
 * ```ts
 * await prepareTokenDataset('data/moby', { paths: ['moby.txt'], tokenizer: { kind: 'char' } });
 * ```
 */
export async function prepareTokenDataset(
  out: string,
  options: PrepareOptions,
): Promise<PreparedDataset> {
  const dir = resolve(out);
  const fraction = options.validationFraction ?? 0.1;
  if (!(fraction > 0 && fraction < 1))
    throw new DataError(`validation fraction ${fraction} must be in (0, 1), e.g. 0.1.`);
  await checkDatasetOut(dir, options.force);
  const spec = options.tokenizer;
  const tokenizer =
    'encode' in spec ? spec : await trainTokenizerOnFiles(options.paths, spec, options);
  const dtype = tokenDtype(tokenizer.vocabSize);
  const width = dtypeBytes(dtype);
  await mkdir(dirname(dir), { recursive: true });
  await removeDeadTemporaries(dir);
  const temp = join(
    dirname(dir),
    `.${basename(dir)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  await mkdir(temp);
  try {
    // Pass 2: every id of the stream into train.bin, then the tail moves to val.bin.
    const trainPath = join(temp, TOKEN_DATASET_FILES.train);
    const { tokens: total, sources } = await tokenizeToFile(trainPath, {
      ...options,
      tokenizer,
      dtype,
    });
    const file = await open(trainPath, 'r+');
    try {
      const cut = trainTokenCount(total, fraction);
      if (cut < 1 || cut >= total)
        throw new DataError(
          `the text makes ${total} tokens, too few to hold out a validation fraction of ${fraction} (train ${cut}, validation ${total - cut}); give more text.`,
        );
      const validation = await open(join(temp, TOKEN_DATASET_FILES.validation), 'wx');
      try {
        const buffer = Buffer.allocUnsafe(1 << 22);
        for (let at = cut * width; at < total * width; ) {
          const { bytesRead } = await file.read(
            buffer,
            0,
            Math.min(buffer.length, total * width - at),
            at,
          );
          if (bytesRead === 0) throw new DataError(`${trainPath} ended early while splitting.`);
          await validation.write(buffer.subarray(0, bytesRead));
          at += bytesRead;
        }
        await validation.sync();
      } finally {
        await validation.close();
      }
      await file.truncate(cut * width);
      await file.sync();
      const meta: TokenDatasetMeta = {
        format: 'primer-ez-tokens',
        version: 1,
        dtype,
        vocab_size: tokenizer.vocabSize,
        train_tokens: cut,
        val_tokens: total - cut,
        validation_fraction: fraction,
        sources,
        tokenizer: TOKEN_DATASET_FILES.tokenizer,
      };
      await writeFile(
        join(temp, TOKEN_DATASET_FILES.tokenizer),
        JSON.stringify(tokenizer.toTokenizerJson()),
      );
      await writeFile(join(temp, TOKEN_DATASET_FILES.meta), `${JSON.stringify(meta, null, 2)}\n`);
      await file.close().catch(() => {});
      await moveIntoPlace(temp, dir, options.force ?? false);
      return { dir, meta, tokenizer };
    } finally {
      await file.close().catch(() => {});
    }
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** Options of {@link tokenizeToFile}. */
export interface TokenizeToFileOptions extends StreamOptions {
  paths: readonly string[];
  tokenizer: Tokenizer;
  /** Default: the smallest that holds the vocabulary ({@link tokenDtype}). */
  dtype?: TokenDtype;
}

/**
 * Tokenizes text files (joined with '\n') into one new file of little-endian ids, piece by
 * piece; returns the number of ids and the files' sizes and SHA-256. The ids equal
 * `tokenizer.encode` of the whole text (see text-stream.ts for where pieces are cut).
 */
export async function tokenizeToFile(
  path: string,
  options: TokenizeToFileOptions,
): Promise<{ tokens: number; sources: TextSourceInfo[] }> {
  const { tokenizer } = options;
  const dtype = options.dtype ?? tokenDtype(tokenizer.vocabSize);
  const protect = tokenizer.specialTokens.map((t) => t.content).filter((s) => /\s/.test(s));
  const stream = textStream(options.paths, options, 'tokens', protect);
  let tokens = 0;
  const file = await open(path, 'wx');
  try {
    for await (const piece of stream.pieces()) {
      options.signal?.throwIfAborted();
      let ids: number[];
      try {
        ids = tokenizer.encode(piece);
      } catch (error) {
        throw new DataError(
          `the text cannot be encoded with this tokenizer: ${(error as Error).message}`,
        );
      }
      await file.write(encodeTokenBytes(ids, dtype));
      tokens += ids.length;
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return { tokens, sources: stream.sources };
}

/**
 * Removes what a prepare killed part-way left next to `dir` (`.NAME.tmp-PID-*`, `.NAME.old-PID-*`)
 * when process PID is gone; another live process's work is left alone.
 */
async function removeDeadTemporaries(dir: string): Promise<void> {
  const prefix = `.${basename(dir)}.`;
  for (const name of await readdir(dirname(dir)).catch(() => [] as string[])) {
    const match = /^\.(?:tmp|old)-(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length - 1));
    if (!name.startsWith(prefix) || !match || processAlive(Number(match[1]))) continue;
    await rm(join(dirname(dir), name), { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Renames `temp` to `dir`: over an empty directory, or (with `force`) over a full one. */
async function moveIntoPlace(temp: string, dir: string, force: boolean): Promise<void> {
  await checkDatasetOut(dir, force);
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) return rename(temp, dir);
  const old = join(
    dirname(dir),
    `.${basename(dir)}.old-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  await rename(dir, old);
  try {
    await rename(temp, dir);
  } catch (error) {
    await rename(old, dir);
    throw error;
  }
  await rm(old, { recursive: true, force: true });
}

function textStream(
  paths: readonly string[],
  options: StreamOptions,
  phase: PreparePhase,
  protect: readonly string[],
): TextStream {
  return new TextStream(paths, {
    ...(options.chunkBytes !== undefined ? { chunkBytes: options.chunkBytes } : {}),
    protect,
    onProgress: (p) => options.onProgress?.(phase, p),
  });
}
