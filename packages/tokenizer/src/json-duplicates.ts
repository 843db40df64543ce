/**
 * Finds repeated keys in JSON text. `JSON.parse` silently keeps the last of two equal keys, so
 * `{"a": 0, "a": 1}` would load as something the file does not unambiguously say; a
 * `tokenizer.json` with a repeated vocabulary entry or field is rejected instead.
 */
import { preview } from './unicode.js';

/** A repeated key: where (a JSON path such as `model.vocab`) and which. */
export interface DuplicateKey {
  readonly path: string;
  readonly key: string;
}

interface Frame {
  /** Keys seen so far, for objects; `null` for arrays. */
  readonly keys: Set<string> | null;
  /** Current key (objects) or index (arrays). */
  at: string | number;
  /** Objects: the next string is a key. */
  expectKey: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Formats one step of a JSON path: `.name`, `["odd key"]` or `[3]`. */
export function pathStep(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${preview(key)}]`;
}

/**
 * Returns the first repeated key of an object in `text`, or `undefined`. `text` must be valid
 * JSON (call it after `JSON.parse` succeeded). One linear pass with an explicit stack, so deep
 * nesting cannot overflow the call stack. Keys are compared after unescaping (`"a"` and
 * `"\u0061"` are the same key).
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = [];
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Find the closing quote: the next quote not preceded by an odd number of backslashes.
      let end = i + 1;
      for (;;) {
        end = text.indexOf('"', end);
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
        end++;
      }
      const top = stack[stack.length - 1];
      if (top?.keys != null && top.expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        if (top.keys.has(key)) return { path: pathOf(stack, stack.length - 1), key };
        top.keys.add(key);
        top.at = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), at: '', expectKey: true });
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: null, at: 0, expectKey: false });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1] as Frame;
      if (top.keys === null) top.at = (top.at as number) + 1;
      else top.expectKey = true;
    }
  }
  return undefined;
}

/** The JSON path of the container `stack[depth]`. */
function pathOf(stack: readonly Frame[], depth: number): string {
  let path = '';
  for (let d = 0; d < depth; d++) path = pathStep(path, (stack[d] as Frame).at);
  return path;
}
