/**
 * The checks on a safetensors header, before any tensor is decoded: everything a hostile or
 * corrupted file could get wrong, each reported with the value and the likely cause.
 */
import { formatValue, scanJson } from '@primer-ez/input-checks';

/** Thrown for a malformed file; the message says what is wrong and where. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** Names that would reach an object's prototype if ever used as a property key. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
]);

/** Bytes per value of the dtypes read (a Map: `'toString' in {…}` would be true). */
export const DTYPE_BYTES: ReadonlyMap<string, number> = new Map([
  ['F32', 4],
  ['F16', 2],
  ['BF16', 2],
]);

/** The reference implementation's cap on the header length (`MAX_HEADER_SIZE`). */
export const MAX_HEADER_BYTES = 100_000_000;
/** Most dimensions a tensor may have (NumPy's limit before 2.0; ours have at most 3). */
export const MAX_DIMS = 32;
/** A header nests 3 deep (`{name: {shape: […]}}`); anything much deeper is not one. */
const MAX_DEPTH = 8;

/** One tensor's header entry, checked: its bytes are `data[begin, end)`. */
export interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Number of values (the product of the shape). */
  size: number;
  begin: number;
  end: number;
}

/** Parses and checks the header of a safetensors file (see `readSafetensors` for the rules). */
export function readHeader(bytes: Uint8Array): {
  metadata: Record<string, string>;
  entries: TensorEntry[];
  dataStart: number;
} {
  if (bytes.length < 8) {
    throw new SafetensorsError(
      `file is ${bytes.length} bytes, shorter than the 8-byte header length (truncated file?).`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_HEADER_BYTES) {
    throw new SafetensorsError(
      `header length ${headerLength} is above the ${MAX_HEADER_BYTES}-byte cap of the reference implementation (not a safetensors file, or a corrupted one).`,
    );
  }
  if (8 + headerLength > bytes.length) {
    throw new SafetensorsError(
      `header length ${headerLength} does not fit in a ${bytes.length}-byte file (truncated file, or not a safetensors file?).`,
    );
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let text: string;
  let header: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart));
  } catch (error) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  const scan = scanJson(text, MAX_DEPTH);
  if (scan.tooDeep) {
    throw new SafetensorsError(
      `header nests objects and arrays more than ${MAX_DEPTH} deep; a safetensors header nests 3 (corrupted file?).`,
    );
  }
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(header)) {
    throw new SafetensorsError(`header must be a JSON object, got ${formatValue(header)}.`);
  }
  if (scan.duplicate !== undefined) {
    const { key, path } = scan.duplicate;
    throw new SafetensorsError(
      `${path.length === 0 ? `header has tensor ${quoteName(key)}` : `${pathName(path)} has key ${quoteName(key)}`} twice; ` +
        'JSON readers keep only one of the two, so the file is ambiguous (corrupted, or written by a faulty tool).',
    );
  }
  // Own properties only, by name, in the order of the text.
  const values = new Map(Object.entries(header));
  if (scan.keys.length !== values.size || !scan.keys.every((key) => values.has(key))) {
    // Cannot happen for JSON that parsed; checked so that no tensor is ever skipped silently.
    throw new SafetensorsError('header keys could not be read consistently (corrupted file?).');
  }
  let metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const name of scan.keys) {
    const entry = values.get(name);
    if (RESERVED_NAMES.has(name)) {
      throw new SafetensorsError(
        `header has a tensor named ${quoteName(name)}, a name that reaches into JavaScript object prototypes; no model uses it (a crafted file?). Rename the tensor.`,
      );
    }
    if (name === '__metadata__') metadata = readMetadata(entry);
    else entries.push(readEntry(name, entry, dataLength));
  }
  checkTiling(entries, dataLength);
  return { metadata, entries, dataStart };
}

function readMetadata(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsError(
      `__metadata__ must be an object of strings, got ${formatValue(value)} (corrupted file?).`,
    );
  }
  const entries = Object.entries(value);
  for (const [key, v] of entries) {
    if (RESERVED_NAMES.has(key)) {
      throw new SafetensorsError(
        `__metadata__ has the key ${quoteName(key)}, a name that reaches into JavaScript object prototypes (a crafted file?).`,
      );
    }
    if (typeof v !== 'string') {
      throw new SafetensorsError(
        `__metadata__ ${quoteName(key)} = ${formatValue(v)} must be a string (safetensors metadata maps strings to strings).`,
      );
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

function readEntry(name: string, value: unknown, dataLength: number): TensorEntry {
  const where = `tensor ${quoteName(name)}`;
  if (!isPlainObject(value)) {
    throw new SafetensorsError(
      `${where}: entry must be an object {dtype, shape, data_offsets}, got ${formatValue(value)}.`,
    );
  }
  const dtype = own(value, 'dtype');
  const shape = own(value, 'shape');
  const offsets = own(value, 'data_offsets');
  const width = typeof dtype === 'string' ? DTYPE_BYTES.get(dtype) : undefined;
  if (width === undefined) {
    throw new SafetensorsError(
      `${where}: dtype ${formatValue(dtype)} is not supported (F32, F16, BF16); convert the file to one of them.`,
    );
  }
  if (!Array.isArray(shape) || shape.length > MAX_DIMS) {
    throw new SafetensorsError(
      `${where}: shape ${formatValue(shape)} is not a list of at most ${MAX_DIMS} sizes.`,
    );
  }
  const bad = shape.find((d) => !(Number.isSafeInteger(d) && d >= 0));
  if (bad !== undefined) {
    throw new SafetensorsError(
      `${where}: shape ${formatValue(shape)} has the size ${formatValue(bad)}; sizes are integers ≥ 0 (corrupted file?).`,
    );
  }
  const dims = (shape as number[]).map((d) => d + 0); // -0 → 0
  let size = dims.includes(0) ? 0 : 1;
  for (const d of size === 0 ? [] : dims) {
    // NOTE: checked before multiplying, so [2**40, 2**40] is refused rather than rounded.
    if (size > Number.MAX_SAFE_INTEGER / d / width) {
      throw new SafetensorsError(
        `${where}: shape [${dims}] holds more values than a file can (2^53 bytes or more); corrupted file?`,
      );
    }
    size *= d;
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o))
  ) {
    throw new SafetensorsError(
      `${where}: data_offsets ${formatValue(offsets)} is not [begin, end] (two integers).`,
    );
  }
  const [begin, end] = offsets as [number, number];
  if (begin < 0 || end > dataLength || end - begin !== size * width) {
    throw new SafetensorsError(
      `${where}: data_offsets [${begin}, ${end}] do not hold ${size} ${dtype} values ` +
        `within the ${dataLength}-byte data section (truncated or corrupted file?).`,
    );
  }
  return { name, dtype: dtype as string, shape: dims, size, begin: begin + 0, end: end + 0 };
}

/** The tensors must cover the data section exactly: no overlap, no gap, nothing after. */
function checkTiling(entries: TensorEntry[], dataLength: number): void {
  const spans = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: TensorEntry | undefined;
  for (const span of spans) {
    if (span.begin < covered) {
      throw new SafetensorsError(
        `tensors ${quoteName(previous?.name ?? '')} and ${quoteName(span.name)} overlap (bytes ${span.begin}–${covered} of the data section); the file is corrupted.`,
      );
    }
    if (span.begin > covered) {
      throw new SafetensorsError(
        `bytes ${covered}–${span.begin} of the data section belong to no tensor (a gap ${previous ? `after ${quoteName(previous.name)}` : 'at the start'}, before ${quoteName(span.name)}); the file is corrupted.`,
      );
    }
    covered = span.end;
    previous = span;
  }
  if (covered !== dataLength) {
    throw new SafetensorsError(
      `the data section has ${dataLength - covered} byte(s) after the last tensor${previous ? ` ${quoteName(previous.name)}` : ''} (it is ${dataLength} bytes, the tensors end at ${covered}); bytes were appended, or the header is corrupted.`,
    );
  }
}

/** `tensor 'x'`, `__metadata__` or `tensor 'x'.shape[0]…` for a path of keys from the top. */
function pathName([first, ...rest]: readonly (string | number)[]): string {
  const top = first === '__metadata__' ? first : `tensor ${quoteName(String(first ?? ''))}`;
  return rest.reduce<string>(
    (path, step) => (typeof step === 'number' ? `${path}[${step}]` : `${path}.${step}`),
    top,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function own(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** `'name'`, or a JSON string cut to 100 characters when the name is long or unprintable. */
export function quoteName(name: string): string {
  if (/^[\x20-\x7e]{0,100}$/.test(name)) return `'${name}'`;
  const cut = JSON.stringify(name.slice(0, 100));
  return name.length > 100 ? `${cut}...` : cut;
}
