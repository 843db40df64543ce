/**
 * Node-only: reads UTF-8 text files as one stream of text pieces (the files joined with '\n', a
 * leading byte-order mark of each dropped), without ever holding a whole file, checking each file
 * as it goes and hashing it (SHA-256).
 *
 * The pieces are cut where tokenizing them one by one gives the same ids as tokenizing the whole
 * text at once: just before a whitespace character that follows a non-whitespace one. No GPT-2
 * pre-token crosses such a point (a pre-token that ends in a non-space character never continues
 * with whitespace, and the next one starts there whatever came before), and a character
 * tokenizer can be cut anywhere. Special tokens are not cut either.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { firstInvalidUtf8Byte } from '@primer-ez/tokenizer';

/** A text file that cannot be used; `message` starts with the path and says what to do. */
export class TextSourceError extends Error {
  override name = 'TextSourceError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
  }
}

/** One source file of a corpus, as recorded in a token dataset's `meta.json`. */
export interface TextSourceInfo {
  path: string;
  bytes: number;
  sha256: string;
}

/** Progress of a pass over the corpus: bytes read of all files. */
export interface TextProgress {
  bytesRead: number;
  totalBytes: number;
}

/** Options of {@link TextStream}. */
export interface TextStreamOptions {
  /** Bytes read from a file at a time. Default 256 KiB (the memory a pass holds grows with it). */
  chunkBytes?: number;
  /**
   * Texts that must not be cut (special tokens containing whitespace); cuts never fall inside one.
   */
  protect?: readonly string[];
  /** Called after each read. */
  onProgress?: (progress: TextProgress) => void;
}

const DEFAULT_CHUNK_BYTES = 1 << 18;
/** A piece with no safe cut point grows to this many chunks before it is cut anyway. */
const MAX_PIECE_CHUNKS = 64;

/**
 * Text files read as a stream of pieces. Each call to {@link TextStream.pieces} is one pass over
 * the files; after a complete pass {@link TextStream.sources} holds their sizes and SHA-256.
 *
 * @example
 * ```ts
 * const stream = new TextStream(['a.txt', 'b.txt']);
 * for await (const piece of stream.pieces()) ids.push(...tokenizer.encode(piece));
 * ```
 */
export class TextStream {
  /** Sizes and hashes of the files, filled by a complete pass. */
  sources: TextSourceInfo[] = [];
  private readonly chunkBytes: number;

  constructor(
    readonly paths: readonly string[],
    private readonly options: TextStreamOptions = {},
  ) {
    if (paths.length === 0) throw new RangeError('TextStream: give at least one file.');
    this.chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!(Number.isInteger(this.chunkBytes) && this.chunkBytes >= 4))
      throw new RangeError(`TextStream: chunkBytes = ${this.chunkBytes} must be an integer ≥ 4.`);
  }

  /** Total size of the files in bytes (they are opened and checked to be regular files). */
  async totalBytes(): Promise<number> {
    let total = 0;
    for (const path of this.paths) {
      const handle = await openText(path);
      try {
        total += (await handle.stat()).size;
      } finally {
        await handle.close();
      }
    }
    return total;
  }

  /**
   * One pass: the text of the files, joined with '\n', in pieces of about `chunkBytes` cut at
   * safe points (see the module comment). Throws a {@link TextSourceError} for a missing, empty,
   * binary, non-UTF-8 or whitespace-only file, naming the byte offset of bad UTF-8.
   */
  async *pieces(): AsyncGenerator<string, void, undefined> {
    const totalBytes = await this.totalBytes();
    const sources: TextSourceInfo[] = [];
    const target = this.chunkBytes;
    let bytesRead = 0;
    let pending = '';
    let searched = 0; // pending[0, searched) holds no safe cut
    const longestProtected = (this.options.protect ?? []).reduce(
      (m, s) => Math.max(m, s.length),
      1,
    );
    for (const [index, path] of this.paths.entries()) {
      if (index > 0) pending += '\n';
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const text of readFileText(path, this.chunkBytes, hash, (n) => {
        bytes += n;
        bytesRead += n;
        this.options.onProgress?.({ bytesRead, totalBytes });
      })) {
        pending += text;
        while (pending.length >= target) {
          const cut = safeCut(pending, this.options.protect ?? [], searched);
          if (cut > 0) {
            yield pending.slice(0, cut);
            pending = pending.slice(cut);
            searched = 0;
          } else if (pending.length >= target * MAX_PIECE_CHUNKS) {
            // NOTE: text with no whitespace for this long is cut anyway (at a character
            // boundary); a BPE tokenizer may then split one pre-token in two there.
            const forced = characterBoundary(pending, target * MAX_PIECE_CHUNKS);
            yield pending.slice(0, forced);
            pending = pending.slice(forced);
            searched = 0;
          } else {
            searched = Math.max(0, pending.length - longestProtected);
            break;
          }
        }
      }
      sources.push({ path, bytes, sha256: hash.digest('hex') });
    }
    if (pending.length > 0) yield pending;
    this.sources = sources;
  }
}

/** SHA-256 and size of each file, read in chunks (no checks beyond "a regular file"). */
export async function hashFiles(paths: readonly string[]): Promise<TextSourceInfo[]> {
  const out: TextSourceInfo[] = [];
  const buffer = Buffer.allocUnsafe(DEFAULT_CHUNK_BYTES);
  for (const path of paths) {
    const handle = await openText(path);
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
        if (bytesRead === 0) break;
        hash.update(buffer.subarray(0, bytesRead));
        bytes += bytesRead;
      }
    } finally {
      await handle.close();
    }
    out.push({ path, bytes, sha256: hash.digest('hex') });
  }
  return out;
}

/**
 * The last safe cut point of `text` (> 0, at or after `from`), or 0 if there is none: a
 * whitespace character after a non-whitespace one, not inside any text of `protect`.
 */
export function safeCut(text: string, protect: readonly string[], from = 0): number {
  // A protected text across p must lie whole inside `text` to be seen.
  const longest = protect.reduce((m, s) => Math.max(m, s.length), 1);
  for (let p = text.length - longest; p > 0 && p >= from; p--) {
    if (
      isSpace(text.charCodeAt(p)) &&
      !isSpace(text.charCodeAt(p - 1)) &&
      !inside(text, p, protect)
    )
      return p;
  }
  return 0;
}

/** Whether some text of `protect` occurs in `text` across position `p`. */
function inside(text: string, p: number, protect: readonly string[]): boolean {
  for (const s of protect) {
    for (let at = text.indexOf(s, Math.max(0, p - s.length + 1)); at >= 0 && at < p; ) {
      if (at + s.length > p) return true;
      at = text.indexOf(s, at + 1);
    }
  }
  return false;
}

const SPACE_RE = /^\s$/u;
/** JavaScript's `\s` (the class GPT-2's pattern and `String.prototype.trim` use). */
function isSpace(c: number): boolean {
  if (c < 128) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return SPACE_RE.test(String.fromCharCode(c));
}

/** `at`, or one less if that would split a surrogate pair. */
function characterBoundary(text: string, at: number): number {
  const c = text.charCodeAt(at);
  return c >= 0xdc00 && c <= 0xdfff ? at - 1 : at;
}

/** Opens a file to read, refusing what is not a regular file (without blocking on a FIFO). */
async function openText(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TextSourceError(path, 'no such file; check the path.');
    if (code === 'EISDIR') throw new TextSourceError(path, 'not a file.');
    throw new TextSourceError(path, `cannot be read (${(error as Error).message}).`);
  }
  const info = await handle.stat();
  if (!info.isFile()) {
    await handle.close();
    throw new TextSourceError(path, 'not a file.');
  }
  return handle;
}

/**
 * The text of one file, in pieces decoded from `chunkBytes` reads (a character split between two
 * reads waits for the next). Checks as `readTextFiles` always did: not empty, no NUL byte, UTF-8
 * (the first bad byte named by its offset), not only whitespace; drops a leading byte-order mark.
 */
async function* readFileText(
  path: string,
  chunkBytes: number,
  hash: Hash,
  onRead: (bytes: number) => void,
): AsyncGenerator<string, void, undefined> {
  const handle = await openText(path);
  try {
    const buffer = Buffer.allocUnsafe(chunkBytes + 3);
    let carry = 0; // bytes of an unfinished character at the start of `buffer`
    let offset = 0; // file offset of buffer[0]
    let first = true;
    let text = false;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, carry, chunkBytes, null);
      if (bytesRead > 0) {
        hash.update(buffer.subarray(carry, carry + bytesRead));
        onRead(bytesRead);
      }
      const end = carry + bytesRead;
      const last = bytesRead === 0;
      if (last && offset === 0 && end === 0)
        throw new TextSourceError(path, 'the file is empty; give a file with text in it.');
      const bytes = buffer.subarray(0, end);
      if (bytes.includes(0))
        throw new TextSourceError(
          path,
          'looks binary (it contains NUL bytes); give a UTF-8 text file.',
        );
      const complete = last ? end : completeEnd(bytes);
      const invalid = firstInvalidUtf8Byte(bytes.subarray(0, complete));
      if (invalid >= 0) {
        throw new TextSourceError(
          path,
          `not UTF-8 text (the bytes from offset ${offset + invalid}, 0x${bytes[invalid]!.toString(16).padStart(2, '0')}…, are not a well-formed UTF-8 character); ` +
            'convert it first, e.g. iconv -f latin1 -t utf-8.',
        );
      }
      let piece = bytes.toString('utf8', 0, complete);
      if (first && piece.length > 0) {
        if (piece.charCodeAt(0) === 0xfeff) piece = piece.slice(1);
        first = false;
      }
      if (!text && /\S/.test(piece)) text = true;
      if (piece.length > 0) yield piece;
      if (last) break;
      buffer.copy(buffer, 0, complete, end);
      offset += complete;
      carry = end - complete;
    }
    if (!text)
      throw new TextSourceError(path, 'holds only whitespace; give a file with text in it.');
  } finally {
    await handle.close();
  }
}

/** Where the last complete UTF-8 character of `bytes` ends (an unfinished one is left for later). */
function completeEnd(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back] as number;
    if (b < 0x80) return n; // ASCII: complete
    if (b >= 0xc0) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return need > back ? n - back : n;
    }
  }
  return n; // continuation bytes only: let the validator judge them
}
