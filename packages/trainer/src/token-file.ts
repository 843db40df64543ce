/**
 * Node-only: token datasets on disk, the format `primer-ez data prepare` writes and both trainers
 * (this one and `interop/pytorch/train.py`) read. See docs/token-format.md.
 *
 * ```
 * DIR/
 *   meta.json        {"format": "primer-ez-tokens", "version": 1, "dtype": "uint16", …}
 *   tokenizer.json   the tokenizer that made the ids (Hugging Face format)
 *   train.bin        the first train_tokens ids of the stream, little-endian dtype, no header
 *   val.bin          the remaining val_tokens ids
 * ```
 *
 * A {@link FileTokenSource} reads windows of a `.bin` file at their offsets, so a corpus larger
 * than memory trains with memory bounded by the model.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import type { Tokenizer } from '@primer-ez/tokenizer';
import { loadTokenizer } from '@primer-ez/tokenizer/node';
import { DataError, type TokenSource, type TokenSplit } from './data.js';
import type { TextSourceInfo } from './text-stream.js';

/** File names inside a token dataset directory. */
export const TOKEN_DATASET_FILES = {
  meta: 'meta.json',
  tokenizer: 'tokenizer.json',
  train: 'train.bin',
  validation: 'val.bin',
} as const;

/** The element type of `train.bin` and `val.bin`. */
export type TokenDtype = 'uint16' | 'uint32';

/** `meta.json` of a token dataset. */
export interface TokenDatasetMeta {
  format: 'primer-ez-tokens';
  version: 1;
  /** `uint16` when `vocab_size ≤ 65536`, else `uint32`; little-endian. */
  dtype: TokenDtype;
  vocab_size: number;
  train_tokens: number;
  val_tokens: number;
  /** The stream's last `val_tokens = n − floor(n·(1 − f))` ids validate. */
  validation_fraction: number;
  /** The text files, in the order they were joined (with '\n'). */
  sources: TextSourceInfo[];
  /** File name of the tokenizer, relative to the dataset directory. */
  tokenizer: 'tokenizer.json';
}

/** The dtype that holds every id of a vocabulary of `vocabSize` tokens. */
export function tokenDtype(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

/** Bytes per id of `dtype`. */
export function dtypeBytes(dtype: TokenDtype): 2 | 4 {
  return dtype === 'uint16' ? 2 : 4;
}

/** Number of training tokens of a stream of `n` with `validationFraction` held out (as `splitTokens`). */
export function trainTokenCount(n: number, validationFraction: number): number {
  return Math.floor(n * (1 - validationFraction));
}

const LITTLE_ENDIAN = endianness() === 'LE';
/** `meta.json` is small; anything far larger is not one. */
const MAX_META_BYTES = 16 * 1024 * 1024;

/** Ids as little-endian bytes of `dtype` (the bytes of a fresh typed array). */
export function encodeTokenBytes(ids: ArrayLike<number>, dtype: TokenDtype): Buffer {
  const typed = dtype === 'uint16' ? Uint16Array.from(ids) : Uint32Array.from(ids);
  const bytes = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
  if (!LITTLE_ENDIAN) {
    if (dtype === 'uint16') bytes.swap16();
    else bytes.swap32();
  }
  return bytes;
}

/**
 * A token file read window by window with positioned reads (`pread`): `length` ids of `dtype`
 * starting at byte `offset`. Every id read is checked to be below `idLimit`.
 */
export class FileTokenSource implements TokenSource {
  private fd: number | undefined;
  private readonly width: 2 | 4;

  /**
   * Opens `path`; `length` defaults to the file's size in ids. The file must be a regular file
   * holding at least `length` ids.
   */
  constructor(
    readonly path: string,
    readonly dtype: TokenDtype,
    readonly idLimit: number,
    length?: number,
  ) {
    this.width = dtypeBytes(dtype);
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const info = fstatSync(fd);
      if (!info.isFile()) throw new DataError(`${path} is not a regular file.`);
      if (info.size % this.width !== 0 && length === undefined)
        throw new DataError(
          `${path} holds ${info.size} bytes, not a whole number of ${dtype} ids; the dataset is damaged.`,
        );
      const n = length ?? info.size / this.width;
      if (info.size !== n * this.width)
        throw new DataError(
          `${path} holds ${info.size} bytes but should hold ${n} ${dtype} ids (${n * this.width} bytes); the dataset is damaged or incomplete — prepare it again.`,
        );
      this.length = n;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.fd = fd;
  }

  readonly length: number;

  /** Ids `[start, end)`, clamped to the file, as a fresh Int32Array. */
  subarray(start: number, end: number): Int32Array {
    if (this.fd === undefined) throw new DataError(`${this.path}: the token file is closed.`);
    const from = clamp(start, this.length);
    const to = Math.max(from, clamp(end, this.length));
    const count = to - from;
    const bytes = new Uint8Array(count * this.width);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(this.fd, bytes, done, bytes.length - done, from * this.width + done);
      if (n === 0)
        throw new DataError(`${this.path} ended early (was it truncated while training?).`);
      done += n;
    }
    if (!LITTLE_ENDIAN) {
      const b = Buffer.from(bytes.buffer);
      if (this.width === 2) b.swap16();
      else b.swap32();
    }
    const ids = this.width === 2 ? new Uint16Array(bytes.buffer) : new Uint32Array(bytes.buffer);
    const out = Int32Array.from(ids);
    for (let i = 0; i < count; i++) {
      if ((ids[i] as number) >= this.idLimit)
        throw new DataError(
          `${this.path}: token ${from + i} is ${ids[i]}, outside the vocabulary [0, ${this.idLimit}); the dataset is damaged — prepare it again.`,
        );
    }
    return out;
  }

  /** Closes the file (later reads throw). */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** An opened token dataset: its metadata, tokenizer and the two splits as token files. */
export interface TokenDataset {
  dir: string;
  meta: TokenDatasetMeta;
  tokenizer: Tokenizer;
  split: TokenSplit<FileTokenSource>;
  /** Closes both token files. */
  close(): void;
}

/**
 * Opens a directory written by `primer-ez data prepare` (or `prepareTokenDataset`): checks
 * `meta.json` field by field, loads the tokenizer, and checks that the `.bin` files hold exactly
 * the counts `meta.json` states. Errors name the file and the fix.
 *
 * @example
 * ```ts
 * const data = await openTokenDataset('data/moby');
 * const trainer = new Trainer(model, data.split, {}, data.tokenizer);
 * ```
 */
export async function openTokenDataset(dir: string): Promise<TokenDataset> {
  const meta = await readTokenDatasetMeta(dir);
  let tokenizer: Tokenizer;
  try {
    tokenizer = await loadTokenizer(join(dir, TOKEN_DATASET_FILES.tokenizer));
  } catch (error) {
    throw new DataError(`${join(dir, TOKEN_DATASET_FILES.tokenizer)}: ${(error as Error).message}`);
  }
  if (tokenizer.vocabSize !== meta.vocab_size)
    throw new DataError(
      `${dir}: tokenizer.json has ${tokenizer.vocabSize} tokens but meta.json says vocab_size ${meta.vocab_size}; the dataset is damaged — prepare it again.`,
    );
  const train = new FileTokenSource(
    join(dir, TOKEN_DATASET_FILES.train),
    meta.dtype,
    meta.vocab_size,
    meta.train_tokens,
  );
  let validation: FileTokenSource;
  try {
    validation = new FileTokenSource(
      join(dir, TOKEN_DATASET_FILES.validation),
      meta.dtype,
      meta.vocab_size,
      meta.val_tokens,
    );
  } catch (error) {
    train.close();
    throw error;
  }
  return {
    dir,
    meta,
    tokenizer,
    split: { train, validation },
    close: () => {
      train.close();
      validation.close();
    },
  };
}

/** Reads and checks `DIR/meta.json` (a regular file of bounded size). */
export async function readTokenDatasetMeta(dir: string): Promise<TokenDatasetMeta> {
  const path = join(dir, TOKEN_DATASET_FILES.meta);
  let text: string;
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new DataError(`${path} is not a regular file.`);
      if (info.size > MAX_META_BYTES)
        throw new DataError(`${path} is ${info.size} bytes, too large for a meta.json.`);
      text = (await handle.readFile()).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new DataError(
        `${dir} has no meta.json: it is not a token dataset (make one with primer-ez data prepare).`,
      );
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DataError(`${path} is not valid JSON (${(error as Error).message}).`);
  }
  return validateTokenDatasetMeta(json, path);
}

/** Checks a parsed `meta.json`, naming the first bad field. */
export function validateTokenDatasetMeta(json: unknown, where = 'meta.json'): TokenDatasetMeta {
  const m = json as Partial<TokenDatasetMeta> | null;
  if (typeof m !== 'object' || m === null || Array.isArray(m))
    throw new DataError(`${where}: not a JSON object.`);
  const bad = (field: string, why: string) =>
    new DataError(
      `${where}: ${field} = ${JSON.stringify((m as Record<string, unknown>)[field])} ${why}; the dataset is damaged — prepare it again.`,
    );
  if (m.format !== 'primer-ez-tokens' || m.version !== 1)
    throw new DataError(
      `${where}: format ${JSON.stringify(m.format)} version ${JSON.stringify(m.version)} is not a primer-ez token dataset (format "primer-ez-tokens", version 1).`,
    );
  if (m.dtype !== 'uint16' && m.dtype !== 'uint32')
    throw bad('dtype', 'is not "uint16" or "uint32"');
  for (const field of ['vocab_size', 'train_tokens', 'val_tokens'] as const)
    if (!(Number.isSafeInteger(m[field]) && (m[field] as number) >= 0))
      throw bad(field, 'is not an integer ≥ 0');
  if ((m.vocab_size as number) < 1) throw bad('vocab_size', 'is not ≥ 1');
  if (m.dtype === 'uint16' && (m.vocab_size as number) > 65536)
    throw bad('vocab_size', 'does not fit dtype uint16');
  if (
    !(
      typeof m.validation_fraction === 'number' &&
      m.validation_fraction > 0 &&
      m.validation_fraction < 1
    )
  )
    throw bad('validation_fraction', 'is not in (0, 1)');
  if (!Array.isArray(m.sources)) throw bad('sources', 'is not a list');
  if (m.tokenizer !== TOKEN_DATASET_FILES.tokenizer)
    throw bad('tokenizer', `is not "${TOKEN_DATASET_FILES.tokenizer}"`);
  return m as TokenDatasetMeta;
}

function clamp(i: number, length: number): number {
  if (!Number.isInteger(i)) throw new RangeError(`token index ${i} is not an integer.`);
  return i < 0 ? Math.max(0, length + i) : Math.min(i, length);
}
