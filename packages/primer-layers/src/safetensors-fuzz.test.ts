// Property tests of the safetensors reader on hostile input: whatever the bytes, it returns
// tensors consistent with their header or throws a SafetensorsError, and it does so quickly.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32Hex } from './crc32.js';
import {
  readSafetensors,
  SafetensorsError,
  type StoredTensor,
  writeSafetensors,
} from './safetensors.js';

/** A file from a header text and a data section. */
function file(header: string, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Reads `bytes`; any throw other than a SafetensorsError fails, and a result must be sound. */
function readOrReject(bytes: Uint8Array): boolean {
  let result: ReturnType<typeof readSafetensors>;
  try {
    result = readSafetensors(bytes);
  } catch (error) {
    if (!(error instanceof SafetensorsError)) throw error;
    expect(error.message.length).toBeLessThan(1000);
    return false;
  }
  for (const [name, t] of result.tensors) {
    expect(t.data.length, name).toBe(t.shape.reduce((a, b) => a * b, 1));
    expect(t.data).toBeInstanceOf(Float32Array);
  }
  for (const value of Object.values(result.metadata)) expect(typeof value).toBe('string');
  return true;
}

// Values a hostile header might put where a size or an offset goes.
const number = fc.oneof(
  fc.nat(24),
  fc.integer({ min: -8, max: 64 }),
  fc.constantFrom(2 ** 31, 2 ** 32, 2 ** 40, 2 ** 53, 2 ** 64, 1e300, -0, 0.5, Number.NaN),
  fc.double(),
);
const shape = fc.oneof(
  fc.array(fc.nat(6), { maxLength: 4 }),
  fc.array(number, { maxLength: 4 }),
  fc.array(fc.constant(1), { minLength: 30, maxLength: 40 }),
  fc.jsonValue({ maxDepth: 1 }),
);
const entry = fc.record(
  {
    dtype: fc.oneof(fc.constantFrom('F32', 'F16', 'BF16', 'I64', 'f32', 'toString'), fc.string()),
    shape,
    data_offsets: fc.oneof(fc.tuple(fc.nat(64), fc.nat(64)), fc.array(number, { maxLength: 3 })),
    extra: fc.jsonValue({ maxDepth: 1 }),
  },
  { requiredKeys: [] },
);
const name = fc.oneof(
  fc.constantFrom('a', 'b', 'c', '__metadata__', '__proto__', 'constructor', 'prototype', ''),
  fc.string({ maxLength: 6 }),
);
const metadata = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 8 })),
  fc.record({
    crc32: fc.oneof(
      fc.constant('00000000'),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefF'), maxLength: 9 }),
    ),
  }),
  fc.jsonValue({ maxDepth: 2 }),
);
/** Header text: entries (maybe with a name twice) and maybe `__metadata__`, written as JSON. */
const header = fc
  .tuple(
    fc.array(fc.tuple(name, fc.oneof(entry, fc.jsonValue({ maxDepth: 2 }))), { maxLength: 4 }),
    fc.option(metadata),
  )
  .map(([entries, meta]) => {
    const parts = entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`);
    if (meta !== null) parts.unshift(`"__metadata__":${JSON.stringify(meta) ?? 'null'}`);
    return `{${parts.join(',')}}`;
  });

const WIDTH: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };

/**
 * A valid header (distinct names, contiguous offsets) with one thing changed, or none: so the
 * checks past the first ones (offsets, tiling, CRC) are reached as often as the first ones.
 */
const mutatedFile = fc
  .record({
    tensors: fc.uniqueArray(
      fc.record({
        name: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
        dtype: fc.constantFrom('F32', 'F16', 'BF16'),
        shape: fc.array(fc.nat(3), { maxLength: 3 }),
      }),
      { selector: (t) => t.name, maxLength: 4 },
    ),
    mutation: fc.constantFrom(
      'none',
      'dtype',
      'shape',
      'offsets',
      'swap',
      'drop',
      'twice',
      'length',
      'crc',
      'metadata',
    ),
    which: fc.nat(),
    value: number,
    dims: shape,
    dtype: fc.constantFrom('I64', 'F64', 'toString', ''),
    delta: fc.integer({ min: 1, max: 3 }),
    seed: fc.nat(255),
  })
  .map(({ tensors, mutation, which, value, dims, dtype, delta, seed }) => {
    let offset = 0;
    const entries = tensors.map((t) => {
      const bytes = t.shape.reduce((x, y) => x * y, 1) * (WIDTH[t.dtype] as number);
      const e = { ...t, data_offsets: [offset, offset + bytes] as unknown[] };
      offset += bytes;
      return e as { name: string; dtype: string; shape: unknown; data_offsets: unknown[] };
    });
    const data = Uint8Array.from({ length: Math.max(0, offset) }, (_, i) => (i * 7 + seed) & 0xff);
    const target = entries[which % Math.max(1, entries.length)];
    const metadata: [string, unknown][] = [];
    let length = data.length;
    if (target && mutation === 'dtype') target.dtype = dtype;
    if (target && mutation === 'shape') target.shape = dims;
    if (target && mutation === 'offsets') target.data_offsets[which % 2] = value;
    if (entries.length > 1 && mutation === 'swap') {
      [entries[0]!.data_offsets, entries[1]!.data_offsets] = [
        entries[1]!.data_offsets,
        entries[0]!.data_offsets,
      ];
    }
    if (target && mutation === 'drop') entries.splice(entries.indexOf(target), 1);
    if (target && mutation === 'twice') entries.push({ ...target });
    if (mutation === 'length') length += length >= delta && which % 2 ? -delta : delta;
    if (mutation === 'crc') metadata.push(['crc32', which % 2 ? '00000000' : crc32Hex(data)]);
    if (mutation === 'metadata') metadata.push([which % 2 ? 'step' : '__proto__', value]);
    const parts = entries.map(
      ({ name, ...info }) => `${JSON.stringify(name)}:${JSON.stringify(info)}`,
    );
    if (metadata.length > 0) {
      const text = metadata.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`);
      parts.unshift(`"__metadata__":{${text.join(',')}}`);
    }
    const bytes = new Uint8Array(length);
    bytes.set(data.subarray(0, length));
    // A mutation that had nothing to act on changed nothing.
    const applied = target || ['length', 'crc', 'metadata'].includes(mutation) ? mutation : 'none';
    return { bytes: file(`{${parts.join(',')}}`, bytes), mutation: applied };
  });

describe('safetensors reader, fuzzed', () => {
  it('throws only SafetensorsError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        readOrReject(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('throws only SafetensorsError on arbitrary bytes behind a plausible header length', () => {
    fc.assert(
      fc.property(fc.nat(300), fc.uint8Array({ maxLength: 400 }), (length, rest) => {
        const bytes = new Uint8Array(8 + rest.length);
        new DataView(bytes.buffer).setBigUint64(0, BigInt(length), true);
        bytes.set(rest, 8);
        readOrReject(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('throws only SafetensorsError on arbitrary JSON headers', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.uint8Array({ maxLength: 64 }), (h, data) => {
        readOrReject(file(JSON.stringify(h) ?? 'null', data));
      }),
      { numRuns: 500 },
    );
  });

  it('on near-valid headers, returns only tensors that tile the data section, or throws', () => {
    fc.assert(
      fc.property(header, fc.nat(96), (h, length) => {
        readOrReject(file(h, new Uint8Array(length)));
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a valid file changed in one place only if the change is harmless', () => {
    const accepted = new Set<string>();
    fc.assert(
      fc.property(mutatedFile, ({ bytes, mutation }) => {
        if (readOrReject(bytes)) accepted.add(mutation);
      }),
      { numRuns: 1000 },
    );
    // Harmless: no change, a correct CRC, dropping the one empty tensor, swapping the offsets of
    // two same-sized tensors… but never data of the wrong length or a name given twice.
    expect(accepted).toContain('none');
    expect(accepted).toContain('crc');
    expect(accepted).not.toContain('length');
    expect(accepted).not.toContain('twice');
    expect(accepted).not.toContain('metadata');
  });

  it('reads back exactly what it wrote, for any float32 tensors', () => {
    const tensor = fc.array(fc.nat(4), { maxLength: 3 }).chain((dims) =>
      fc
        .float32Array({
          minLength: dims.reduce((a, b) => a * b, 1),
          maxLength: dims.reduce((a, b) => a * b, 1),
        })
        .map((data): StoredTensor => ({ shape: dims, data })),
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(fc.string({ maxLength: 8 }), tensor), {
          selector: ([n]) => n,
          maxLength: 5,
        }),
        fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })),
        (tensors, meta) => {
          const reserved = ['__metadata__', '__proto__', 'constructor', 'prototype', 'crc32'];
          const named = tensors.filter(([n]) => !reserved.includes(n));
          const clean = Object.fromEntries(
            Object.entries(meta).filter(([k]) => !reserved.includes(k)),
          );
          const read = readSafetensors(writeSafetensors(named, clean));
          expect([...read.tensors.keys()]).toEqual(named.map(([n]) => n));
          for (const [n, t] of named) {
            const got = read.tensors.get(n)!;
            expect(got.shape).toEqual(t.shape);
            expect(new Uint8Array(got.data.buffer)).toEqual(new Uint8Array(t.data.buffer));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
