import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Hex } from './crc32.js';

const ascii = (text: string) => new TextEncoder().encode(text);

describe('crc32', () => {
  it('gives the check value of CRC-32/ISO-HDLC and of the empty input', () => {
    expect(crc32Hex(ascii('123456789'))).toBe('cbf43926');
    expect(crc32(new Uint8Array())).toBe(0);
    expect(crc32Hex(ascii('The quick brown fox jumps over the lazy dog'))).toBe('414fa339');
  });

  it("equals zlib's CRC-32 for any bytes, at any offset into a buffer", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(7), (bytes, skip) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        expect(crc32(view)).toBe(zlibCrc32(view));
      }),
      { numRuns: 300 },
    );
  });

  it('continues a checksum over data that arrives in pieces', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(100), (bytes, cut) => {
        const at = Math.min(cut, bytes.length);
        expect(crc32(bytes.subarray(at), crc32(bytes.subarray(0, at)))).toBe(crc32(bytes));
      }),
    );
  });

  it('pads the hex form to 8 digits', () => {
    // Some two-byte input has a CRC below 0x10000000, i.e. a leading zero digit.
    const found = Array.from({ length: 4096 }, (_, i) => Uint8Array.of(i & 0xff, i >> 8)).find(
      (bytes) => crc32(bytes) < 0x10000000,
    )!;
    expect(crc32Hex(found)).toMatch(/^0[0-9a-f]{7}$/);
    expect(Number.parseInt(crc32Hex(found), 16)).toBe(crc32(found));
  });
});
