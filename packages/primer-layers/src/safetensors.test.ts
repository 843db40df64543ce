import { describe, expect, it } from 'vitest';
import { readSafetensors, SafetensorsError, writeSafetensors } from './safetensors.js';

const a = { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, -7]) };
const b = { shape: [4], data: Float32Array.from([0.25, 0.5, 0.75, 1]) };

/** A file with a hand-written header and data section. */
function file(header: object, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors', () => {
  it('round-trips float32 tensors and metadata, in order', () => {
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
    expect(metadata).toEqual({ format: 'pt' });
  });

  it('writes the layout of the reference implementation: u64 LE length, JSON, 8-aligned LE data', () => {
    const bytes = writeSafetensors([['b', b]]);
    const view = new DataView(bytes.buffer);
    const n = Number(view.getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({ b: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } });
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

  it.each([
    ['a file shorter than 8 bytes', new Uint8Array(3), 'shorter than the 8-byte header length'],
    ['a header length past the end', file({}, new Uint8Array()).subarray(0, 9), 'does not fit'],
    [
      'an unsupported dtype',
      file({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)),
      'tensor \'x\': dtype "I64" is not supported',
    ],
    [
      'a truncated data section',
      file({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(12)),
      "tensor 'x': data_offsets [0, 16] do not hold 4 F32 values within the 12-byte data section",
    ],
    [
      'overlapping tensors',
      file(
        {
          x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
        },
        new Uint8Array(12),
      ),
      "tensors 'x' and 'y' overlap",
    ],
    [
      'a header that is not JSON',
      file({}, new Uint8Array()).fill(120, 8),
      'header is not valid UTF-8 JSON',
    ],
  ])('rejects %s with a message saying what is wrong', (_, bytes, message) => {
    expect(() => readSafetensors(bytes)).toThrow(SafetensorsError);
    expect(() => readSafetensors(bytes)).toThrow(message);
  });

  it('refuses to write data that does not match its shape', () => {
    expect(() => writeSafetensors([['x', { shape: [3], data: new Float32Array(2) }]])).toThrow(
      "tensor 'x': shape [3] holds 3 values but 2 were given.",
    );
  });
});
