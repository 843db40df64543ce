import { describe, expect, it } from 'vitest';
import { BYTE_ORDER, BYTE_TO_CHAR, bytesToTokenString, tokenStringToBytes } from './byte-level.js';

describe('byte-level mapping', () => {
  it('maps every byte to a distinct printable character in GPT-2 order', () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect(new Set(BYTE_ORDER).size).toBe(256);
    expect(BYTE_TO_CHAR[0x20]).toBe('Ġ');
    expect(BYTE_TO_CHAR[0x0a]).toBe('Ċ');
    expect(BYTE_TO_CHAR[0x41]).toBe('A');
    expect(BYTE_TO_CHAR[0xad]).toBe('Ń');
    expect(BYTE_TO_CHAR[0xa0]).toBe('ł');
    // ids 0..255 of a trained vocabulary are sorted by character code point, as in GPT-2.
    const chars = BYTE_ORDER.map((b) => BYTE_TO_CHAR[b] as string);
    const sorted = [...chars].sort(
      (a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number),
    );
    expect(chars).toEqual(sorted);
    expect(BYTE_ORDER.slice(0, 3)).toEqual([0x21, 0x22, 0x23]);
  });

  it('round-trips all bytes and rejects foreign characters', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const s = bytesToTokenString(all);
    expect(tokenStringToBytes(s)).toEqual(all);
    expect(tokenStringToBytes('Ġhello')).toEqual(new TextEncoder().encode(' hello'));
    expect(tokenStringToBytes('a b')).toBeUndefined();
    expect(tokenStringToBytes('中')).toBeUndefined();
  });
});
