/**
 * A lexical pass over a JSON text for what `JSON.parse` hides: it keeps the last of two equal
 * keys without a word (so `{"a": 0, "a": 1}` loads as something the file does not unambiguously
 * say), and it has no depth limit. Used on untrusted tokenizer files, headers and configs.
 */

/** A key given twice in one object, and the path of that object from the top. */
export interface DuplicateKey {
  /** The key, unescaped (`"a"` and `"\u0061"` are the same key). */
  readonly key: string;
  /** Keys (objects) and indices (arrays) leading from the outermost value to the object. */
  readonly path: readonly (string | number)[];
}

/** What {@link scanJson} found. */
export interface JsonScan {
  /** The outermost object's keys, in the order they appear in the text. */
  readonly keys: string[];
  /** The first key that appears twice in one object, with the path to that object. */
  readonly duplicate: DuplicateKey | undefined;
  /** Whether objects and arrays nest deeper than the `maxDepth` given (then the scan stopped). */
  readonly tooDeep: boolean;
}

interface Frame {
  /** The keys seen so far, or null for an array. */
  readonly keys: Set<string> | null;
  /** The last key read (objects) or the index of the current element (arrays). */
  at: string | number;
  /** Objects: the next string is a key. */
  expectKey: boolean;
  readonly parent: Frame | undefined;
}

/**
 * Scans `text` once, in linear time, with an explicit stack (deep nesting cannot overflow the
 * call stack) whose size `maxDepth` bounds. It never throws: on text that is not JSON its answers
 * mean nothing, so parse the text (and report that error) before trusting `keys` and
 * `duplicate`; `tooDeep` can be checked first, to refuse a deep nest before `JSON.parse` spends
 * memory on it.
 *
 * @param text - JSON text.
 * @param maxDepth - how deep objects and arrays may nest (default: no limit).
 * @example
 * scanJson('{"a": 1, "b": [{"c": 2, "c": 3}]}', 4).duplicate; // { key: 'c', path: ['b', 0] }
 */
export function scanJson(text: string, maxDepth = Number.POSITIVE_INFINITY): JsonScan {
  const keys: string[] = [];
  let duplicate: DuplicateKey | undefined;
  let frame: Frame | undefined;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (c === 0x22) break;
      }
      if (frame?.keys && frame.expectKey) {
        const key = escaped ? decodeKey(text.slice(start, i + 1)) : text.slice(start + 1, i);
        if (frame.keys.has(key) && duplicate === undefined) {
          duplicate = { key, path: pathOf(frame) };
        }
        frame.keys.add(key);
        frame.at = key;
        frame.expectKey = false;
        if (depth === 1) keys.push(key);
      }
    } else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      if (++depth > maxDepth) return { keys, duplicate, tooDeep: true };
      const object = ch === 0x7b;
      frame = {
        keys: object ? new Set() : null,
        at: object ? '' : 0,
        expectKey: object,
        parent: frame,
      };
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      depth--;
      frame = frame?.parent;
    } else if (ch === 0x2c /* , */ && frame !== undefined) {
      if (frame.keys) frame.expectKey = true;
      else frame.at = (frame.at as number) + 1;
    }
  }
  return { keys, duplicate, tooDeep: false };
}

function decodeKey(literal: string): string {
  try {
    return String(JSON.parse(literal));
  } catch {
    return literal; // not JSON: JSON.parse of the whole text will say so
  }
}

/** The path of the object `frame` (the keys and indices of its ancestors' current entries). */
function pathOf(frame: Frame): (string | number)[] {
  const path: (string | number)[] = [];
  for (let f = frame.parent; f !== undefined; f = f.parent) path.push(f.at);
  return path.reverse();
}
