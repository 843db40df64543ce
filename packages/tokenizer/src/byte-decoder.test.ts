import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ADDED, ByteDecoder, ORDINARY, SPECIAL } from './byte-decoder.js';
import { isWellFormed } from './unicode.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

// ids: 0 'a', 1 first byte of 'é', 2 second byte of 'é', 3 first 2 bytes of '😀', 4 last 2 bytes,
// 5 '<|s|>' (special), 6 '[x]' (added, not special), 7 a BOM, 8 a long token
const emoji = utf8('😀');
const tokens = [
  utf8('a'),
  utf8('é').subarray(0, 1),
  utf8('é').subarray(1),
  emoji.subarray(0, 2),
  emoji.subarray(2),
  utf8('<|s|>'),
  utf8('[x]'),
  utf8('\ufeff'),
  utf8('0123456789abcdef'),
];
const kinds = Uint8Array.of(
  ORDINARY,
  ORDINARY,
  ORDINARY,
  ORDINARY,
  ORDINARY,
  SPECIAL,
  ADDED,
  ORDINARY,
  ORDINARY,
);
const contents = [
  undefined,
  undefined,
  undefined,
  undefined,
  undefined,
  '<|s|>',
  '[x]',
  undefined,
  undefined,
];
const decoder = new ByteDecoder(tokens, kinds, contents);

function streamAll(ids: number[], chunk: number, skip = false): string[] {
  const stream = decoder.stream(skip);
  const out: string[] = [];
  for (let i = 0; i < ids.length; i += chunk) out.push(stream.write(ids.slice(i, i + chunk)));
  out.push(stream.end());
  return out;
}

describe('ByteDecoder', () => {
  it('joins bytes across tokens before decoding UTF-8', () => {
    expect(decoder.decode([0, 1, 2, 3, 4, 8], false)).toBe('aé😀0123456789abcdef');
    expect(decoder.decode([], false)).toBe('');
  });

  it('renders incomplete characters as U+FFFD, split at special tokens', () => {
    expect(decoder.decode([1], false)).toBe('\uFFFD');
    expect(decoder.decode([1, 5, 2], false)).toBe('\uFFFD<|s|>\uFFFD');
    expect(decoder.decode([3, 0], false)).toBe('\uFFFDa');
  });

  it('skips only special tokens when asked', () => {
    expect(decoder.decode([0, 5, 6, 0], true)).toBe('a[x]a');
    expect(decoder.decode([0, 5, 6, 0], false)).toBe('a<|s|>[x]a');
  });

  it('keeps a byte order mark', () => {
    expect(decoder.decode([7, 0], false)).toBe('\ufeffa');
    expect(streamAll([7, 0], 1).join('')).toBe('\ufeffa');
  });

  it('rejects invalid ids, naming them', () => {
    expect(() => decoder.decode([0, 9], false)).toThrow(
      'ids[1] = 9 is not a token id; valid ids are integers from 0 to 8',
    );
    expect(() => decoder.decode([-1], false)).toThrow(/ids\[0\] = -1/);
    expect(() => decoder.decode([1.5], false)).toThrow(/ids\[0\] = 1.5/);
    expect(() => decoder.decode([Number.NaN], false)).toThrow(/NaN/);
    const stream = decoder.stream(false);
    expect(stream.write(1)).toBe('');
    expect(() => stream.write([2, 99])).toThrow(/ids\[1\] = 99/);
    // nothing of the rejected batch was consumed
    expect(stream.write(2)).toBe('é');
  });

  it('streams text only at character boundaries', () => {
    const stream = decoder.stream(false);
    expect(stream.write(0)).toBe('a');
    expect(stream.write(1)).toBe('');
    expect(stream.write(2)).toBe('é');
    expect(stream.write(3)).toBe('');
    expect(stream.write(4)).toBe('😀');
    expect(stream.write(3)).toBe('');
    expect(stream.end()).toBe('\uFFFD');
    expect(stream.write([0])).toBe('a');
  });

  it('streams exactly what decode returns, in any chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.boolean(),
        (ids, chunk, skip) => {
          const chunks = streamAll(ids, chunk, skip);
          expect(chunks.join('')).toBe(decoder.decode(ids, skip));
          for (const c of chunks) expect(isWellFormed(c)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('grows its buffer for long outputs', () => {
    const ids = new Array<number>(20_000).fill(8);
    expect(decoder.decode(ids, false)).toBe('0123456789abcdef'.repeat(20_000));
  });
});
