import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenizerError } from './errors.js';
import { decodeUtf8Strict, firstInvalidUtf8Byte } from './utf8.js';

const toError = (message: string) => new TokenizerError(message);
const fatal = new TextDecoder('utf-8', { fatal: true });

function isValidUtf8(bytes: Uint8Array): boolean {
  try {
    fatal.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

describe('strict UTF-8', () => {
  it('decodes valid text and drops a leading byte order mark', () => {
    const bytes = new TextEncoder().encode('héllo 😀 中');
    expect(decodeUtf8Strict(bytes, toError)).toBe('héllo 😀 中');
    expect(decodeUtf8Strict(Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d), toError)).toBe('{}');
    expect(firstInvalidUtf8Byte(bytes)).toBe(-1);
  });

  it('names the first invalid byte', () => {
    const bad = Uint8Array.of(0x7b, 0x22, 0x61, 0xff, 0x22);
    expect(() => decodeUtf8Strict(bad, toError)).toThrow(
      'not UTF-8 text at byte 3 (0xFF); save the file as UTF-8',
    );
    // Latin-1 "é", a truncated 3-byte sequence, an overlong "/", a surrogate, > U+10FFFF.
    expect(firstInvalidUtf8Byte(Uint8Array.of(0x61, 0xe9, 0x62))).toBe(1);
    expect(firstInvalidUtf8Byte(Uint8Array.of(0x61, 0xe4, 0xb8))).toBe(1);
    expect(firstInvalidUtf8Byte(Uint8Array.of(0xc0, 0xaf))).toBe(0);
    expect(firstInvalidUtf8Byte(Uint8Array.of(0x20, 0xed, 0xa0, 0x80))).toBe(1);
    expect(firstInvalidUtf8Byte(Uint8Array.of(0xf4, 0x90, 0x80, 0x80))).toBe(0);
  });

  it('recognises UTF-16 files', () => {
    const utf16 = Uint8Array.of(0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00);
    expect(() => decodeUtf8Strict(utf16, toError)).toThrow(
      'not UTF-8 text at byte 0 (0xFF); the file starts with a UTF-16 byte order mark; save the file as UTF-8',
    );
  });

  it("agrees with TextDecoder's fatal mode on arbitrary bytes (property)", () => {
    const utf8ish = fc.oneof(
      fc.uint8Array({ maxLength: 24 }),
      fc
        .tuple(
          fc.string({ unit: 'binary', maxLength: 12 }),
          fc.nat(40),
          fc.integer({ min: 0, max: 255 }),
        )
        .map(([text, at, byte]) => {
          const bytes = new TextEncoder().encode(text);
          if (bytes.length > 0) bytes[at % bytes.length] = byte;
          return bytes;
        }),
    );
    fc.assert(
      fc.property(utf8ish, (bytes) => {
        const at = firstInvalidUtf8Byte(bytes);
        expect(at === -1).toBe(isValidUtf8(bytes));
        if (at >= 0) {
          // Everything before the reported byte is valid.
          expect(isValidUtf8(bytes.subarray(0, at))).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
