import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nastyString } from '../test/arbitraries.js';
import { describeChar, isSingleCodePoint, isWellFormed, preview, toWellFormed } from './unicode.js';

describe('lone surrogates', () => {
  it('are replaced by U+FFFD, paired surrogates are kept', () => {
    expect(toWellFormed('a\ud800b')).toBe('a\uFFFDb');
    expect(toWellFormed('\udc00\ud83d\ude00\ud83d')).toBe('\uFFFD😀\uFFFD');
    expect(toWellFormed('😀')).toBe('😀');
    expect(isWellFormed('😀')).toBe(true);
    expect(isWellFormed('\ude00\ud83d')).toBe(false);
  });

  it('behave like a TextEncoder/TextDecoder round trip (property)', () => {
    const encoder = new TextEncoder();
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    fc.assert(
      fc.property(nastyString(), (text) => {
        const viaUtf8 = decoder.decode(encoder.encode(text));
        expect(toWellFormed(text)).toBe(viaUtf8);
        expect(isWellFormed(text)).toBe(viaUtf8 === text);
      }),
      { numRuns: 500 },
    );
  });

  it('are handled identically without the native String methods', () => {
    const proto = String.prototype as unknown as Record<string, unknown>;
    const saved = { isWellFormed: proto.isWellFormed, toWellFormed: proto.toWellFormed };
    try {
      delete proto.isWellFormed;
      delete proto.toWellFormed;
      expect(toWellFormed('a\ud800b\udfff😀\ud83d')).toBe('a\uFFFDb\uFFFD😀\uFFFD');
      expect(isWellFormed('a😀')).toBe(true);
      expect(isWellFormed('a\ud800')).toBe(false);
      expect(isWellFormed('\udc00a')).toBe(false);
    } finally {
      Object.assign(proto, saved);
    }
  });
});

describe('character helpers', () => {
  it('recognise single code points', () => {
    expect(isSingleCodePoint('a')).toBe(true);
    expect(isSingleCodePoint('😀')).toBe(true);
    expect(isSingleCodePoint('\ud800')).toBe(true);
    expect(isSingleCodePoint('ab')).toBe(false);
    expect(isSingleCodePoint('e\u0301')).toBe(false);
    expect(isSingleCodePoint('')).toBe(false);
  });

  it('describe characters and shorten text for error messages', () => {
    expect(describeChar('é')).toBe('"é" (U+00E9)');
    expect(describeChar('\n')).toBe('U+000A');
    expect(describeChar('😀')).toBe('"😀" (U+1F600)');
    expect(preview('x'.repeat(50), 5)).toBe('"xxxxx…"');
  });
});
