/**
 * The safetensors format, read and written here (there is no maintained JS package): an 8-byte
 * little-endian header length N, N bytes of JSON header, then the raw little-endian tensor data.
 * The header maps each name to `{dtype, shape, data_offsets: [begin, end]}` (offsets into the
 * data section) and may hold `__metadata__` (string → string).
 *
 * The reader is for untrusted files: see {@link readSafetensors} for what it checks.
 */
import { describeValue } from '@primer-ez/input-checks';
import { crc32, crc32Hex } from './crc32.js';
import { quoteName, RESERVED_NAMES, readHeader, SafetensorsError } from './safetensors-header.js';

export { SafetensorsError } from './safetensors-header.js';

/** A tensor as stored: its shape and float32 values (F16 and BF16 are upcast when read). */
export interface StoredTensor {
  shape: number[];
  data: Float32Array;
}

/** The `__metadata__` key under which the writer stores the data section's CRC-32. */
export const CRC_KEY = 'crc32';

/**
 * Writes float32 tensors, in the order given, as one safetensors file. The header is padded with
 * spaces so the data section starts 8-byte aligned, as the reference implementation does, and
 * `__metadata__` gets `crc32`: the CRC-32 of the data section (8 lowercase hex digits, zlib's
 * checksum), which {@link readSafetensors} verifies.
 */
export function writeSafetensors(
  tensors: Iterable<[name: string, tensor: StoredTensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const meta: [string, string][] = [[CRC_KEY, '00000000']]; // the placeholder is filled in last
  for (const [key, value] of Object.entries(metadata)) {
    if (key === CRC_KEY) {
      throw new SafetensorsError(
        `metadata '${CRC_KEY}' is set by the writer (the data section's CRC-32); drop it.`,
      );
    }
    if (RESERVED_NAMES.has(key)) {
      throw new SafetensorsError(`metadata key ${quoteName(key)} is a reserved name; rename it.`);
    }
    if (typeof value !== 'string') {
      throw new SafetensorsError(
        `metadata ${quoteName(key)} must be a string (safetensors metadata maps strings to strings), got ${describeValue(value)}.`,
      );
    }
    meta.push([key, value]);
  }
  const entries = [...tensors];
  const parts = [`{"__metadata__":${jsonObject(meta)}`];
  const seen = new Set<string>();
  let offset = 0;
  for (const [name, t] of entries) {
    if (seen.has(name)) {
      throw new SafetensorsError(`tensor ${quoteName(name)} is given twice; names must be unique.`);
    }
    if (name === '__metadata__' || RESERVED_NAMES.has(name)) {
      throw new SafetensorsError(
        `tensor ${quoteName(name)}: the name is reserved (__metadata__, ${[...RESERVED_NAMES].join(', ')}); rename the tensor.`,
      );
    }
    seen.add(name);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(
        `tensor ${quoteName(name)}: shape [${t.shape}] must be a list of integers ≥ 0.`,
      );
    }
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) {
      throw new SafetensorsError(
        `tensor ${quoteName(name)}: shape [${t.shape}] holds ${size} values but ${t.data.length} were given.`,
      );
    }
    const info = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * size] };
    parts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset += 4 * size;
  }
  let json = `${parts.join(',')}}`;
  const encoder = new TextEncoder();
  json += ' '.repeat((8 - ((8 + encoder.encode(json).length) % 8)) % 8);
  const headerBytes = encoder.encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  const dataStart = 8 + headerBytes.length;
  let at = dataStart;
  for (const [, t] of entries) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i] as number, true);
  }
  // The placeholder's 8 digits sit right after `{"__metadata__":{"crc32":"`.
  const digits = crc32Hex(out.subarray(dataStart));
  out.set(encoder.encode(digits), 8 + `{"__metadata__":{"${CRC_KEY}":"`.length);
  return out;
}

function jsonObject(entries: [string, string][]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;
}

/**
 * Reads every tensor of a safetensors file (F32, or F16/BF16 upcast to float32), in header order,
 * checking everything first. A {@link SafetensorsError} naming the value and the likely cause is
 * thrown for: a file shorter than 8 bytes; a header length past the end of the file or above
 * 100 MB; a header that is not UTF-8 JSON, not an object, or nested deeper than a header is; a
 * name given twice (JSON.parse would keep one silently); the names `__proto__`, `constructor`
 * and `prototype`; a `__metadata__` that is not string → string; an unknown dtype; a shape that
 * is not a list of at most 32 integers ≥ 0, or holds 2⁵³ values or more; `data_offsets` that
 * are not `[begin, end]` inside the data section, do not hold exactly the shape's bytes, overlap
 * another tensor's, or leave bytes of the data section to no tensor (the reference
 * implementation's rule: the tensors tile the data section exactly); and, when `__metadata__`
 * has `crc32` (this package writes it; files from other tools may not), a data section whose
 * CRC-32 differs. Nothing is allocated before the checks pass, and then only the tensors (at most
 * twice the file's data bytes).
 */
export function readSafetensors(bytes: Uint8Array): {
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
} {
  const { metadata, entries, dataStart } = readHeader(bytes);
  const data = bytes.subarray(dataStart);
  const expected = metadata[CRC_KEY];
  if (expected !== undefined) {
    if (!/^[0-9a-f]{8}$/.test(expected)) {
      throw new SafetensorsError(
        `__metadata__.${CRC_KEY} = ${JSON.stringify(expected)} is not a CRC-32 (8 lowercase hex digits): the file is corrupted.`,
      );
    }
    const actual = crc32(data).toString(16).padStart(8, '0');
    if (actual !== expected) {
      throw new SafetensorsError(
        `data section CRC-32 ${actual} does not match __metadata__.${CRC_KEY} = ${expected}: ` +
          'the file is corrupted (copy or download it again, or load an earlier checkpoint).',
      );
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = new Map<string, StoredTensor>();
  for (const { name, dtype, shape, size, begin } of entries) {
    tensors.set(name, { shape, data: decode(view, dataStart + begin, size, dtype) });
  }
  return { tensors, metadata };
}

/** Whether typed arrays are little-endian here, as the file is (so F32 data is copied as is). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

function decode(view: DataView, at: number, size: number, dtype: string): Float32Array {
  const out = new Float32Array(size);
  if (dtype === 'F32' && LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(new Uint8Array(view.buffer, view.byteOffset + at, 4 * size));
  } else if (dtype === 'F32') {
    for (let i = 0; i < size; i++) out[i] = view.getFloat32(at + 4 * i, true);
  } else if (dtype === 'BF16') {
    const word = new DataView(new ArrayBuffer(4));
    for (let i = 0; i < size; i++) {
      word.setUint32(0, view.getUint16(at + 2 * i, true) << 16);
      out[i] = word.getFloat32(0);
    }
  } else {
    for (let i = 0; i < size; i++) out[i] = halfToFloat(view.getUint16(at + 2 * i, true));
  }
  return out;
}

/** IEEE 754 binary16 → number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
