/**
 * GPT-2's reversible byte ↔ printable-character mapping (`bytes_to_unicode`), used to store
 * byte-level tokens as strings in `tokenizer.json` (e.g. the space byte becomes `Ġ`).
 */

/**
 * The 256 byte values in GPT-2 order: printable Latin-1 bytes first (`!`..`~`, `¡`..`¬`,
 * `®`..`ÿ`), then the rest in increasing order. Index `i` of this array is the byte whose
 * character is the `i`-th smallest; trained byte-level vocabularies use this order for ids 0..255.
 */
export const BYTE_ORDER: readonly number[] = (() => {
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  const printable = new Set(order);
  for (let b = 0; b < 256; b++) if (!printable.has(b)) order.push(b);
  return order;
})();

/** `BYTE_TO_CHAR[b]` is the printable character that stands for byte `b`. */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const chars = new Array<string>(256);
  let extra = 0;
  for (const b of BYTE_ORDER) {
    const printable =
      (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars[b] = String.fromCharCode(printable ? b : 256 + extra++);
  }
  return chars;
})();

const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** Maps bytes to their byte-level token string (e.g. `[0x20, 0x61]` → `'Ġa'`). */
export function bytesToTokenString(bytes: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += BYTE_TO_CHAR[bytes[i] as number];
  return out;
}

/**
 * Maps a byte-level token string back to bytes, or returns `undefined` when it contains a
 * character that is not one of the 256 byte characters.
 */
export function tokenStringToBytes(token: string): Uint8Array | undefined {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token[i] as string);
    if (b === undefined) return undefined;
    bytes[i] = b;
  }
  return bytes;
}
