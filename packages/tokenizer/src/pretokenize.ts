/**
 * GPT-2 pre-tokenisation: splits text into the pieces that BPE merges never cross.
 *
 * The split is exactly that of the regular expression {@link GPT2_SPLIT_PATTERN} evaluated by
 * JavaScript (`u` flag), as used by GPT-2, `gpt-tokenizer`, `js-tiktoken` and Hugging Face's
 * ByteLevel pre-tokenizer, but computed by a hand-written scanner that is several times faster.
 */

/** The GPT-2 (`r50k_base`) pre-tokenisation pattern. Use with the `gu` flags. */
export const GPT2_SPLIT_PATTERN =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const SPACE = 1;
const LETTER = 2;
const NUMBER = 3;
const OTHER = 4;

const ASCII_CLASS = (() => {
  const table = new Uint8Array(128).fill(OTHER);
  for (let c = 0x41; c <= 0x5a; c++) table[c] = LETTER;
  for (let c = 0x61; c <= 0x7a; c++) table[c] = LETTER;
  for (let c = 0x30; c <= 0x39; c++) table[c] = NUMBER;
  for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]) table[c] = SPACE;
  return table;
})();

// Classes of BMP code points, filled lazily (0 = not yet computed) from the engine's own
// Unicode tables so that the scanner agrees with `\s`, `\p{L}` and `\p{N}` exactly.
const BMP_CLASS = new Uint8Array(0x10000);
const ASTRAL_CLASS = new Map<number, number>();
const RE_SPACE = /^\s$/u;
const RE_LETTER = /^\p{L}$/u;
const RE_NUMBER = /^\p{N}$/u;

function classifySlow(char: string): number {
  if (RE_SPACE.test(char)) return SPACE;
  if (RE_LETTER.test(char)) return LETTER;
  if (RE_NUMBER.test(char)) return NUMBER;
  return OTHER;
}

function bmpClass(c: number): number {
  let cls = BMP_CLASS[c] as number;
  if (cls === 0) {
    // Surrogate code units only reach here when unpaired: they are neither space, letter nor number.
    cls = c >= 0xd800 && c <= 0xdfff ? OTHER : classifySlow(String.fromCharCode(c));
    BMP_CLASS[c] = cls;
  }
  return cls;
}

function astralClass(cp: number): number {
  let cls = ASTRAL_CLASS.get(cp);
  if (cls === undefined) {
    cls = classifySlow(String.fromCodePoint(cp));
    ASTRAL_CLASS.set(cp, cls);
  }
  return cls;
}

/** Class of the code point starting at `i`; its width (1 or 2 code units) goes to `width`. */
let width = 1;
function classAt(text: string, i: number, limit: number): number {
  const c = text.charCodeAt(i);
  width = 1;
  if (c < 128) return ASCII_CLASS[c] as number;
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < limit) {
    const lo = text.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo <= 0xdfff) {
      width = 2;
      return astralClass(((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000);
    }
  }
  return bmpClass(c);
}

function isSpaceUnit(c: number): boolean {
  return c < 128 ? ASCII_CLASS[c] === SPACE : bmpClass(c) === SPACE;
}

/**
 * Returns the end (exclusive) of the GPT-2 pre-token that starts at `start` in
 * `text.slice(0, limit)`. Requires `start < limit <= text.length`.
 */
export function preTokenEnd(text: string, start: number, limit: number): number {
  const c = text.charCodeAt(start);
  // 's 't 're 've 'm 'll 'd
  if (c === 0x27 && start + 1 < limit) {
    const c1 = text.charCodeAt(start + 1);
    if (c1 === 0x73 || c1 === 0x74 || c1 === 0x6d || c1 === 0x64) return start + 2;
    if (start + 2 < limit) {
      const c2 = text.charCodeAt(start + 2);
      if ((c2 === 0x65 && (c1 === 0x72 || c1 === 0x76)) || (c1 === 0x6c && c2 === 0x6c)) {
        return start + 3;
      }
    }
  }
  let pos = start;
  let cls = classAt(text, pos, limit);
  // ` ?\p{L}+`, ` ?\p{N}+` and ` ?[^\s\p{L}\p{N}]+`: a space joins the run that follows it.
  if (c === 0x20 && start + 1 < limit) {
    const next = classAt(text, start + 1, limit);
    if (next !== SPACE) {
      pos = start + 1;
      cls = next;
    } else {
      width = 1;
    }
  }
  if (cls === SPACE) {
    // `\s+(?!\S)|\s+`: a whitespace run, minus its last character when a non-space follows
    // and the run is longer than one (that last character then prefixes the next piece).
    let end = start + 1;
    while (end < limit && isSpaceUnit(text.charCodeAt(end))) end++;
    return end === limit || end - start === 1 ? end : end - 1;
  }
  let end = pos + width;
  while (end < limit) {
    const c2 = text.charCodeAt(end);
    if (c2 < 128) {
      if (ASCII_CLASS[c2] !== cls) break;
      end++;
    } else {
      if (classAt(text, end, limit) !== cls) break;
      end += width;
    }
  }
  return end;
}

/**
 * Splits `text` into GPT-2 pre-tokens. Equivalent to `text.match(new RegExp(GPT2_SPLIT_PATTERN,
 * 'gu')) ?? []`.
 */
export function preTokenize(text: string): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; ) {
    const end = preTokenEnd(text, start, text.length);
    pieces.push(text.slice(start, end));
    start = end;
  }
  return pieces;
}
