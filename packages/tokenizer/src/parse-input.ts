/**
 * The first step of loading a `tokenizer.json`: from text, bytes or an object to a plain object,
 * refusing oversized input, invalid UTF-8, invalid JSON and repeated keys.
 */
import { describeValue, scanJson } from '@primer-ez/input-checks';
import { TokenizerJsonError } from './errors.js';
import { type LoadLimits, resolveLoadOptions } from './limits.js';
import { expectObject } from './tokenizer-json.js';
import { preview } from './unicode.js';
import { decodeUtf8Strict } from './utf8.js';

/**
 * Parses `input` (JSON text, its UTF-8 bytes, or an already-parsed object) into a plain object.
 * Duplicate keys can only be found in text or bytes; a parsed object has already lost them.
 */
export function parseTokenizerJsonInput(
  input: unknown,
  limits: LoadLimits = resolveLoadOptions(undefined),
): Record<string, unknown> {
  let text: string | undefined;
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  if (bytes instanceof Uint8Array) {
    tooLarge(bytes.byteLength, 'bytes', limits);
    text = decodeUtf8Strict(bytes, (message) => new TokenizerJsonError('', message));
  } else if (typeof input === 'string') {
    tooLarge(input.length, 'characters', limits);
    text = input;
  } else if (ArrayBuffer.isView(input)) {
    throw new TokenizerJsonError(
      '',
      `expected JSON text, its UTF-8 bytes (a Uint8Array) or a parsed object, got ${describeValue(input)}`,
    );
  }
  if (text === undefined) return expectObject(input, '');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TokenizerJsonError('', `the text is not valid JSON (${(error as Error).message})`);
  }
  const object = expectObject(json, '');
  const { duplicate } = scanJson(text);
  if (duplicate !== undefined) {
    throw new TokenizerJsonError(
      jsonPath(duplicate.path),
      `the key ${preview(duplicate.key)} appears twice; JSON.parse would silently keep only the last value, ` +
        'so the file is ambiguous. Remove one of the two entries',
    );
  }
  return object;
}

/** Writes a path of keys and indices as error messages do: `model.vocab["Ġthe"]`, `added_tokens[2]`. */
export function jsonPath(steps: readonly (string | number)[]): string {
  let path = '';
  for (const step of steps) {
    if (typeof step === 'number') path = `${path}[${step}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(step)) path = path === '' ? step : `${path}.${step}`;
    else path = `${path}[${preview(step)}]`;
  }
  return path;
}

function tooLarge(size: number, unit: string, limits: LoadLimits): void {
  if (size <= limits.maxBytes) return;
  throw new TokenizerJsonError(
    '',
    `the document is ${size} ${unit} long, more than the limit of ${limits.maxBytes}; ` +
      'if the file is genuine, raise the limit with the maxBytes option',
  );
}
