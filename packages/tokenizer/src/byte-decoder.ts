/**
 * Turns ids of a byte-level vocabulary back into text: the bytes of consecutive ordinary tokens
 * are decoded together as UTF-8 (invalid sequences become U+FFFD, as in Hugging Face's
 * ByteLevel decoder); special tokens are emitted as their text.
 */
import { asIdList, expectIdList, invalidId, isValidId } from './ids.js';
import type { StreamDecoder } from './types.js';

/** Flag values of {@link ByteDecoder} `kinds`. */
export const ORDINARY = 0;
export const ADDED = 1;
export const SPECIAL = 2;

const utf8Options = { fatal: false, ignoreBOM: true } as const;
const INITIAL_BUFFER = 1 << 16;
const MAX_KEPT_BUFFER = 1 << 22;

/** Decodes ids using each token's bytes, stored back to back in one array. */
export class ByteDecoder {
  private readonly flat: Uint8Array;
  private readonly offsets: Int32Array;
  private buffer = new Uint8Array(INITIAL_BUFFER);
  private readonly textDecoder = new TextDecoder('utf-8', utf8Options);

  /**
   * @param bytes - Bytes of each ordinary token, by id (ignored for added tokens).
   * @param kinds - {@link ORDINARY}, {@link ADDED} (non-special added token) or {@link SPECIAL}, by id.
   * @param contents - Text of each added token, by id.
   */
  constructor(
    bytes: readonly (Uint8Array | undefined)[],
    private readonly kinds: Uint8Array,
    private readonly contents: readonly (string | undefined)[],
  ) {
    const size = kinds.length;
    this.offsets = new Int32Array(size + 1);
    let total = 0;
    for (let id = 0; id < size; id++) {
      this.offsets[id] = total;
      if (kinds[id] === ORDINARY) total += (bytes[id] as Uint8Array).length;
    }
    this.offsets[size] = total;
    this.flat = new Uint8Array(total);
    for (let id = 0; id < size; id++) {
      if (kinds[id] === ORDINARY)
        this.flat.set(bytes[id] as Uint8Array, this.offsets[id] as number);
    }
  }

  /** Decodes `ids` in one go. */
  decode(input: ArrayLike<number>, skipSpecial: boolean): string {
    const ids = expectIdList(input, 'decode()');
    const { flat, offsets, kinds } = this;
    const size = kinds.length;
    let buffer = this.buffer;
    let length = 0;
    let text = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (!isValidId(id, size)) invalidId(id, i, size);
      if (kinds[id] !== ORDINARY) {
        if (length > 0) text += this.textDecoder.decode(buffer.subarray(0, length));
        length = 0;
        if (!(skipSpecial && kinds[id] === SPECIAL)) text += this.contents[id] as string;
        continue;
      }
      let j = offsets[id] as number;
      const end = offsets[id + 1] as number;
      if (length + end - j > buffer.length) {
        const grown = new Uint8Array(Math.max(buffer.length * 2, length + end - j));
        grown.set(buffer.subarray(0, length));
        buffer = grown;
        this.buffer = grown;
      }
      while (j < end) buffer[length++] = flat[j++] as number;
    }
    if (length > 0) text += this.textDecoder.decode(buffer.subarray(0, length));
    if (buffer.length > MAX_KEPT_BUFFER) this.buffer = new Uint8Array(INITIAL_BUFFER);
    return text;
  }

  /** Creates a streaming decoder that emits text only at UTF-8 character boundaries. */
  stream(skipSpecial: boolean): StreamDecoder {
    const { flat, offsets, kinds, contents } = this;
    const size = kinds.length;
    const decoder = new TextDecoder('utf-8', utf8Options);
    return {
      write(input: number | ArrayLike<number>): string {
        const ids = asIdList(input);
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i] as number;
          if (!isValidId(id, size)) invalidId(id, i, size);
        }
        let text = '';
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i] as number;
          const kind = kinds[id] as number;
          if (kind === ORDINARY) {
            const token = flat.subarray(offsets[id] as number, offsets[id + 1] as number);
            text += decoder.decode(token, { stream: true });
          } else {
            text += decoder.decode();
            if (!(skipSpecial && kind === SPECIAL)) text += contents[id] as string;
          }
        }
        return text;
      },
      end(): string {
        return decoder.decode();
      },
    };
  }
}
