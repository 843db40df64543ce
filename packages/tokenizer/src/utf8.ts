/**
 * Strict UTF-8 decoding for files: invalid bytes are an error naming the first bad byte, never
 * silently replaced by U+FFFD (which would load a subtly different vocabulary).
 */

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Offset of the first byte that does not start a valid UTF-8 sequence (overlong forms,
 * surrogates, code points above U+10FFFF and truncated sequences are invalid), or `-1` if
 * `bytes` is valid UTF-8. Agrees with `TextDecoder`'s `fatal` mode.
 */
export function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0; // no overlong forms
      if (b === 0xed) hi = 0x9f; // no surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90; // no overlong forms
      if (b === 0xf4) hi = 0x8f; // nothing above U+10FFFF
    } else {
      return i;
    }
    if (i + need >= n) return i; // truncated at the end
    const second = bytes[i + 1] as number;
    if (second < lo || second > hi) return i;
    for (let k = 2; k <= need; k++) {
      const c = bytes[i + k] as number;
      if (c < 0x80 || c > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * Decodes UTF-8 `bytes` (a leading byte order mark is dropped). Invalid UTF-8 throws
 * `makeError(message)` with a message such as `not UTF-8 text at byte 1234 (0xFF); …`.
 */
export function decodeUtf8Strict(bytes: Uint8Array, makeError: (message: string) => Error): string {
  try {
    return strict.decode(bytes);
  } catch {
    const at = firstInvalidUtf8Byte(bytes);
    const byte = (bytes[at] ?? 0).toString(16).toUpperCase().padStart(2, '0');
    const utf16 =
      bytes.length >= 2 &&
      ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff));
    throw makeError(
      `not UTF-8 text at byte ${at} (0x${byte})` +
        (utf16 ? '; the file starts with a UTF-16 byte order mark' : '') +
        '; save the file as UTF-8',
    );
  }
}
