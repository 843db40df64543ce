import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  readSafetensors,
  SafetensorsError,
  type StoredTensor,
  writeSafetensors,
} from './safetensors.js';

const a = { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -7]) };
const b = { shape: [4], data: Float32Array.from([0.25, 0.5, 0.75, 1]) };

/** A file with a hand-written header (an object, or raw JSON text) and data section. */
function file(header: object | string, data: Uint8Array = new Uint8Array()): Uint8Array {
  const text = typeof header === 'string' ? header : JSON.stringify(header);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** An 8-byte file claiming a header of `length` bytes. */
function lengthOnly(length: bigint): Uint8Array {
  const out = new Uint8Array(16);
  new DataView(out.buffer).setBigUint64(0, length, true);
  return out;
}

const f32 = (shape: number[], begin: number, end: number) => ({
  dtype: 'F32',
  shape,
  data_offsets: [begin, end],
});

/** The header of a file (its JSON, parsed). */
function headerOf(bytes: Uint8Array): Record<string, unknown> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}

describe('safetensors', () => {
  it('round-trips float32 tensors and metadata, in order, with the data CRC-32', () => {
    const bytes = writeSafetensors(
      [
        ['a', a],
        ['b', b],
      ],
      { format: 'pt' },
    );
    const { tensors, metadata } = readSafetensors(bytes);
    expect([...tensors.keys()]).toEqual(['a', 'b']);
    expect(tensors.get('a')).toEqual(a);
    expect(tensors.get('b')).toEqual(b);
    const n = bytes.length - 40;
    expect(metadata).toEqual({
      crc32: zlibCrc32(bytes.subarray(n)).toString(16).padStart(8, '0'),
      format: 'pt',
    });
  });

  it('keeps the order of names that look like array indices, and empty tensors', () => {
    const empty = { shape: [0, 3], data: new Float32Array() };
    const bytes = writeSafetensors([
      ['10', b],
      ['2', empty],
      ['a', a],
    ]);
    const { tensors } = readSafetensors(bytes);
    expect([...tensors.keys()]).toEqual(['10', '2', 'a']);
    expect(tensors.get('2')).toEqual(empty);
  });

  it('writes the layout of the reference implementation: u64 LE length, JSON, 8-aligned LE data', () => {
    const bytes = writeSafetensors([['b', b]]);
    const view = new DataView(bytes.buffer);
    const n = Number(view.getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    expect(headerOf(bytes)).toEqual({
      __metadata__: {
        crc32: zlibCrc32(bytes.subarray(8 + n))
          .toString(16)
          .padStart(8, '0'),
      },
      b: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
    });
    expect(view.getFloat32(8 + n + 4, true)).toBe(0.5);
    expect(bytes.length).toBe(8 + n + 16);
  });

  it('reads F16 and BF16, upcasting to float32', () => {
    // 1.5 = 0x3E00 in F16 and 0x3FC0 in BF16; -2 = 0xC000 in F16 and 0xC000 in BF16.
    const f16 = new Uint8Array(new Uint16Array([0x3e00, 0xc000, 0x0001, 0x7c00]).buffer);
    const bf16 = new Uint8Array(new Uint16Array([0x3fc0, 0xc000]).buffer);
    const h = readSafetensors(file({ x: { dtype: 'F16', shape: [4], data_offsets: [0, 8] } }, f16));
    expect(Array.from(h.tensors.get('x')!.data)).toEqual([
      1.5,
      -2,
      2 ** -24,
      Number.POSITIVE_INFINITY,
    ]);
    const g = readSafetensors(
      file({ x: { dtype: 'BF16', shape: [2], data_offsets: [0, 4] } }, bf16),
    );
    expect(Array.from(g.tensors.get('x')!.data)).toEqual([1.5, -2]);
  });

  it('reads files without a CRC-32 (other writers), and checks one when present', () => {
    const data = new Uint8Array(new Float32Array([1, 2]).buffer);
    const plain = readSafetensors(file({ x: f32([2], 0, 8) }, data));
    expect(Array.from(plain.tensors.get('x')!.data)).toEqual([1, 2]);
    const crc = zlibCrc32(data).toString(16).padStart(8, '0');
    const checked = readSafetensors(
      file({ __metadata__: { crc32: crc }, x: f32([2], 0, 8) }, data),
    );
    expect(checked.metadata).toEqual({ crc32: crc });
  });

  it('does not let a header touch Object.prototype', () => {
    const attempts = [
      '{"__proto__": {"polluted": "yes"}}',
      '{"__metadata__": {"__proto__": "yes"}}',
      '{"constructor": {"prototype": {"polluted": "yes"}}}',
    ];
    for (const header of attempts)
      expect(() => readSafetensors(file(header))).toThrow(SafetensorsError);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  const hostile: [string, Uint8Array, string][] = [
    [
      'a file shorter than 8 bytes',
      new Uint8Array(3),
      'file is 3 bytes, shorter than the 8-byte header length',
    ],
    [
      'a header length past the end',
      file({}).subarray(0, 9),
      'header length 2 does not fit in a 9-byte file',
    ],
    [
      'a header length above the 100 MB cap',
      lengthOnly(100_000_001n),
      'header length 100000001 is above the 100000000-byte cap',
    ],
    ['a header length of 2^64 - 1', lengthOnly(2n ** 64n - 1n), 'is above the 100000000-byte cap'],
    [
      'a header that is not UTF-8',
      file('{"a": 1}').fill(0xff, 10, 11),
      'header is not valid UTF-8 JSON',
    ],
    ['a header that is not JSON', file({}).fill(120, 8), 'header is not valid UTF-8 JSON'],
    ['a header that is an array', file('[]'), 'header must be a JSON object, got [].'],
    ['a header that is null', file('null'), 'header must be a JSON object, got null.'],
    [
      'a header nested 9 deep',
      file(`{"x": ${'['.repeat(9)}${']'.repeat(9)}}`),
      'header nests objects and arrays more than 8 deep; a safetensors header nests 3',
    ],
    [
      'an unsupported dtype',
      file({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      'tensor \'x\': dtype "I64" is not supported (F32, F16, BF16); convert the file to one of them.',
    ],
    [
      'a dtype named after an Object.prototype property',
      file({ x: { dtype: 'toString', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      'tensor \'x\': dtype "toString" is not supported',
    ],
    [
      'a missing dtype',
      file({ x: { shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      "tensor 'x': dtype undefined is not supported",
    ],
    [
      'an entry that is not an object',
      file({ x: [1, 2] }),
      "tensor 'x': entry must be an object {dtype, shape, data_offsets}, got [1,2].",
    ],
    [
      'a shape that is not a list',
      file({ x: { dtype: 'F32', shape: 4, data_offsets: [0, 16] } }),
      "tensor 'x': shape 4 is not a list of at most 32 sizes.",
    ],
    [
      'a negative dimension',
      file({ x: f32([-1, 4], 0, 16) }, new Uint8Array(16)),
      "tensor 'x': shape [-1,4] has the size -1; sizes are integers ≥ 0",
    ],
    [
      'a fractional dimension',
      file({ x: f32([1.5], 0, 6) }, new Uint8Array(6)),
      "tensor 'x': shape [1.5] has the size 1.5",
    ],
    [
      'a dimension given as a string',
      file({ x: f32(['4' as never], 0, 16) }, new Uint8Array(16)),
      'tensor \'x\': shape ["4"] has the size "4"',
    ],
    [
      'a dimension of 1e300',
      file({ x: f32([1e300], 0, 16) }, new Uint8Array(16)),
      "tensor 'x': shape [1e+300] has the size 1e+300",
    ],
    [
      '33 dimensions',
      file({ x: f32(Array(33).fill(1), 0, 4) }, new Uint8Array(4)),
      "tensor 'x': shape [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1] is not a list of at most 32 sizes.",
    ],
    [
      'a shape whose product overflows',
      file({ x: f32([2 ** 40, 2 ** 40], 0, 16) }, new Uint8Array(16)),
      "tensor 'x': shape [1099511627776,1099511627776] holds more values than a file can (2^53 bytes or more)",
    ],
    [
      'data_offsets that are not a pair',
      file({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }, new Uint8Array(4)),
      "tensor 'x': data_offsets [0,4,8] is not [begin, end] (two integers).",
    ],
    [
      'fractional data_offsets',
      file({ x: f32([1], 0, 4.5) }, new Uint8Array(5)),
      "tensor 'x': data_offsets [0,4.5] is not [begin, end]",
    ],
    [
      'a negative begin',
      file({ x: f32([1], -4, 0) }, new Uint8Array(4)),
      "tensor 'x': data_offsets [-4, 0] do not hold 1 F32 values",
    ],
    [
      'an end before the begin',
      file({ x: f32([0], 4, 0) }, new Uint8Array(4)),
      "tensor 'x': data_offsets [4, 0] do not hold 0 F32 values",
    ],
    [
      'a shape whose byte size does not match the offsets',
      file({ x: f32([3], 0, 16) }, new Uint8Array(16)),
      "tensor 'x': data_offsets [0, 16] do not hold 3 F32 values within the 16-byte data section",
    ],
    [
      'a truncated data section',
      file({ x: f32([4], 0, 16) }, new Uint8Array(12)),
      "tensor 'x': data_offsets [0, 16] do not hold 4 F32 values within the 12-byte data section (truncated or corrupted file?).",
    ],
    [
      'overlapping tensors',
      file({ x: f32([2], 0, 8), y: f32([2], 4, 12) }, new Uint8Array(12)),
      "tensors 'x' and 'y' overlap (bytes 4–8 of the data section); the file is corrupted.",
    ],
    [
      'a gap between tensors',
      file({ x: f32([1], 0, 4), y: f32([1], 8, 12) }, new Uint8Array(12)),
      "bytes 4–8 of the data section belong to no tensor (a gap after 'x', before 'y'); the file is corrupted.",
    ],
    [
      'a gap at the start',
      file({ y: f32([1], 4, 8) }, new Uint8Array(8)),
      "bytes 0–4 of the data section belong to no tensor (a gap at the start, before 'y')",
    ],
    [
      'bytes after the last tensor',
      file({ x: f32([1], 0, 4) }, new Uint8Array(7)),
      "the data section has 3 byte(s) after the last tensor 'x' (it is 7 bytes, the tensors end at 4); bytes were appended, or the header is corrupted.",
    ],
    [
      'data but no tensors',
      file({}, new Uint8Array(4)),
      'the data section has 4 byte(s) after the last tensor (it is 4 bytes',
    ],
    [
      'a tensor named __proto__',
      file('{"__proto__": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}'),
      "header has a tensor named '__proto__', a name that reaches into JavaScript object prototypes",
    ],
    [
      'a tensor named __proto__ in escapes',
      file('{"\\u005f_proto__": {}}'),
      "header has a tensor named '__proto__'",
    ],
    [
      'a tensor named constructor',
      file({ constructor: f32([0], 0, 0) }),
      "header has a tensor named 'constructor'",
    ],
    [
      'a tensor named prototype',
      file({ prototype: f32([0], 0, 0) }),
      "header has a tensor named 'prototype'",
    ],
    [
      'a tensor name given twice',
      file(
        '{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}',
        new Uint8Array(8),
      ),
      "header has tensor 'x' twice; JSON readers keep only one of the two, so the file is ambiguous (corrupted, or written by a faulty tool).",
    ],
    [
      'a tensor name given twice, once escaped',
      file(
        '{"x": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}, "\\u0078": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}',
      ),
      "header has tensor 'x' twice",
    ],
    [
      'a key given twice in an entry',
      file(
        '{"x": {"dtype": "F32", "shape": [1], "shape": [2], "data_offsets": [0, 8]}}',
        new Uint8Array(8),
      ),
      "tensor 'x' has key 'shape' twice",
    ],
    [
      'a metadata key given twice',
      file('{"__metadata__": {"a": "1", "a": "2"}}'),
      "__metadata__ has key 'a' twice",
    ],
    [
      '__metadata__ that is not an object',
      file({ __metadata__: 'pt' }),
      '__metadata__ must be an object of strings, got "pt"',
    ],
    [
      '__metadata__ with a number',
      file({ __metadata__: { step: 3 } }),
      "__metadata__ 'step' = 3 must be a string (safetensors metadata maps strings to strings).",
    ],
    [
      '__metadata__ with __proto__',
      file('{"__metadata__": {"__proto__": "x"}}'),
      "__metadata__ has the key '__proto__', a name that reaches into JavaScript object prototypes",
    ],
    [
      'a data section that does not match its CRC-32',
      file(
        { __metadata__: { crc32: '00000000' }, x: f32([1], 0, 4) },
        new Uint8Array([0, 0, 128, 63]),
      ),
      'data section CRC-32 aca16a6a does not match __metadata__.crc32 = 00000000: the file is corrupted (copy or download it again, or load an earlier checkpoint).',
    ],
    [
      'a CRC-32 that is not 8 lowercase hex digits',
      file({ __metadata__: { crc32: 'CBF43926' } }),
      '__metadata__.crc32 = "CBF43926" is not a CRC-32 (8 lowercase hex digits): the file is corrupted.',
    ],
    [
      'a very long tensor name, shortened in the message',
      file({ [`${'n'.repeat(1000)}`]: f32([1], 0, 4) }),
      `tensor "${'n'.repeat(100)}"...: data_offsets [0, 4] do not hold`,
    ],
  ];

  it.each(hostile)('rejects %s with a message saying what is wrong', (_, bytes, message) => {
    expect(() => readSafetensors(bytes)).toThrow(SafetensorsError);
    expect(() => readSafetensors(bytes)).toThrow(message);
  });

  it('refuses to write data that does not match its shape', () => {
    expect(() => writeSafetensors([['x', { shape: [3], data: new Float32Array(2) }]])).toThrow(
      "tensor 'x': shape [3] holds 3 values but 2 were given.",
    );
  });

  const unwritable: [string, [string, StoredTensor][], Record<string, string>, string][] = [
    [
      'a name given twice',
      [
        ['x', b],
        ['x', b],
      ],
      {},
      "tensor 'x' is given twice; names must be unique.",
    ],
    [
      'the name __metadata__',
      [['__metadata__', b]],
      {},
      "tensor '__metadata__': the name is reserved (__metadata__, __proto__, constructor, prototype); rename the tensor.",
    ],
    [
      'the name __proto__',
      [['__proto__', b]],
      {},
      "tensor '__proto__': the name is reserved (__metadata__, __proto__, constructor, prototype); rename the tensor.",
    ],
    [
      'a negative size',
      [['x', { shape: [-1], data: new Float32Array() }]],
      {},
      "tensor 'x': shape [-1] must be a list of integers ≥ 0.",
    ],
    [
      'a crc32 of its own',
      [],
      { crc32: '00000000' },
      "metadata 'crc32' is set by the writer (the data section's CRC-32); drop it.",
    ],
    [
      'metadata that is not a string',
      [],
      { step: 3 as unknown as string },
      "metadata 'step' must be a string (safetensors metadata maps strings to strings), got number 3.",
    ],
    [
      'metadata named __proto__',
      [],
      JSON.parse('{"__proto__": "x"}'),
      "metadata key '__proto__' is a reserved name; rename it.",
    ],
  ];

  it.each(unwritable)('refuses to write %s', (_, tensors, metadata, message) => {
    expect(() => writeSafetensors(tensors, metadata)).toThrow(new SafetensorsError(message));
  });
});
