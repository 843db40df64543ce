/**
 * A lexical pass over a JSON text for what `JSON.parse` hides: it keeps the last of two equal
 * keys without a word, and it has no depth limit. Used on untrusted headers and configs.
 */

/** What {@link scanJson} found. */
export interface JsonScan {
  /** The outermost object's keys, in the order they appear in the text. */
  keys: string[];
  /** The first key that appears twice in one object, with the keys leading to that object. */
  duplicate: { key: string; path: string[] } | undefined;
  /** Whether objects and arrays nest deeper than the `maxDepth` given (then the scan stopped). */
  tooDeep: boolean;
}

interface Frame {
  /** The keys seen so far, or null for an array. */
  keys: Set<string> | null;
  /** The last key read (the one whose value is being read). */
  key: string;
  expectKey: boolean;
  parent: Frame | undefined;
}

/**
 * Scans `text` once, in linear time and memory bounded by `maxDepth`. It never throws: on text
 * that is not JSON its answers mean nothing, so parse the text (and report that error) before
 * trusting `keys` and `duplicate`; `tooDeep` can be checked first, to refuse a deep nest before
 * `JSON.parse` spends memory on it.
 *
 * @example
 * scanJson('{"a": 1, "b": {"c": 2, "c": 3}}', 4).duplicate; // { key: 'c', path: ['b'] }
 */
export function scanJson(text: string, maxDepth: number): JsonScan {
  const keys: string[] = [];
  let duplicate: JsonScan['duplicate'];
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
        frame.key = key;
        frame.expectKey = false;
        if (depth === 1) keys.push(key);
      }
    } else if (ch === 0x7b /* { */ || ch === 0x5b /* [ */) {
      if (++depth > maxDepth) return { keys, duplicate, tooDeep: true };
      frame = { keys: ch === 0x7b ? new Set() : null, key: '', expectKey: true, parent: frame };
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      depth--;
      frame = frame?.parent;
    } else if (ch === 0x2c /* , */ && frame?.keys) {
      frame.expectKey = true;
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

function pathOf(frame: Frame): string[] {
  const path: string[] = [];
  for (let f = frame.parent; f !== undefined; f = f.parent) path.unshift(f.keys ? f.key : '[]');
  return path;
}
