/**
 * The safetensors format, read and written here (there is no maintained JS package): an 8-byte
 * little-endian header length N, N bytes of JSON header, then the raw little-endian tensor data.
 * The header maps each name to `{dtype, shape, data_offsets: [begin, end]}` (offsets into the
 * data section) and may hold `__metadata__` (string → string).
 */

/** A tensor as stored: its shape and float32 values (F16 and BF16 are upcast when read). */
export interface StoredTensor {
  shape: number[];
  data: Float32Array;
}

/** Thrown for a malformed file; the message says what is wrong and where. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
const MAX_HEADER = 100 * 1024 * 1024;

/**
 * Writes float32 tensors, in the order given, as one safetensors file. The header is padded with
 * spaces so the data section starts 8-byte aligned, as the reference implementation does.
 */
export function writeSafetensors(
  tensors: Iterable<[name: string, tensor: StoredTensor]>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const entries = [...tensors];
  let offset = 0;
  for (const [name, t] of entries) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) {
      throw new SafetensorsError(
        `tensor '${name}': shape [${t.shape}] holds ${size} values but ${t.data.length} were given.`,
      );
    }
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * size] };
    offset += 4 * size;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of entries) {
    for (let i = 0; i < t.data.length; i++, at += 4) view.setFloat32(at, t.data[i] as number, true);
  }
  return out;
}

/** Reads every tensor of a safetensors file (F32, or F16/BF16 upcast to float32). */
export function readSafetensors(bytes: Uint8Array): {
  tensors: Map<string, StoredTensor>;
  metadata: Record<string, string>;
} {
  if (bytes.length < 8) {
    throw new SafetensorsError(
      `file is ${bytes.length} bytes, shorter than the 8-byte header length.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER || 8 + headerLength > bytes.length) {
    throw new SafetensorsError(
      `header length ${headerLength} does not fit in a ${bytes.length}-byte file (not a safetensors file?).`,
    );
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (error) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError('header must be a JSON object.');
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, StoredTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = (entry ?? {}) as {
      dtype?: unknown;
      shape?: unknown;
      data_offsets?: unknown;
    };
    const where = `tensor '${name}'`;
    if (typeof dtype !== 'string' || !(dtype in BYTES)) {
      throw new SafetensorsError(
        `${where}: dtype ${JSON.stringify(dtype)} is not supported (F32, F16, BF16).`,
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SafetensorsError(
        `${where}: shape ${JSON.stringify(shape)} is not a list of sizes.`,
      );
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(Number.isInteger)) {
      throw new SafetensorsError(
        `${where}: data_offsets ${JSON.stringify(offsets)} is not [begin, end].`,
      );
    }
    const [begin, end] = offsets as [number, number];
    const size = (shape as number[]).reduce((a, b) => a * b, 1);
    const width = BYTES[dtype] as number;
    if (begin < 0 || end > dataLength || end - begin !== size * width) {
      throw new SafetensorsError(
        `${where}: data_offsets [${begin}, ${end}] do not hold ${size} ${dtype} values ` +
          `within the ${dataLength}-byte data section (truncated file?).`,
      );
    }
    spans.push([begin, end, name]);
    tensors.set(name, {
      shape: shape as number[],
      data: decode(view, dataStart + begin, size, dtype),
    });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    const [prev, cur] = [spans[i - 1]!, spans[i]!];
    if (cur[0] < prev[1])
      throw new SafetensorsError(`tensors '${prev[2]}' and '${cur[2]}' overlap.`);
  }
  return { tensors, metadata };
}

function decode(view: DataView, at: number, size: number, dtype: string): Float32Array {
  const out = new Float32Array(size);
  if (dtype === 'F32') {
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
