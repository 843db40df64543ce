/**
 * Unicode helpers shared by both tokenizers.
 *
 * Lone surrogates (UTF-16 code units 0xD800–0xDFFF that are not part of a valid pair) cannot be
 * represented in UTF-8. Like `TextEncoder`, this package replaces each of them by U+FFFD.
 */

/** Shortens text for error messages (the one `preview`, shared with the other packages). */
export { preview } from '@primer-ez/input-checks';

/** U+FFFD REPLACEMENT CHARACTER, which lone surrogates become. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

type WellFormedString = string & {
  isWellFormed?: () => boolean;
  toWellFormed?: () => string;
};

/** True when `text` contains no lone surrogate (so its UTF-8 encoding is lossless). */
export function isWellFormed(text: string): boolean {
  const native = (text as WellFormedString).isWellFormed;
  if (typeof native === 'function') return native.call(text);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c >= 0xdc00) return false;
    const next = text.charCodeAt(i + 1);
    if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
    i++;
  }
  return true;
}

/**
 * Returns `text` with every lone surrogate replaced by U+FFFD (the same result as
 * `String.prototype.toWellFormed` and as a `TextEncoder` → `TextDecoder` round trip).
 */
export function toWellFormed(text: string): string {
  const native = (text as WellFormedString).toWellFormed;
  if (typeof native === 'function') return native.call(text);
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c < 0xdc00) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
    }
    out += `${text.slice(from, i)}${REPLACEMENT_CHARACTER}`;
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Splits `text` into code points (astral characters stay whole; lone surrogates stand alone). */
export function codePoints(text: string): string[] {
  return Array.from(text);
}

/** True when `text` is exactly one code point (a lone surrogate counts as one). */
export function isSingleCodePoint(text: string): boolean {
  if (text.length === 1) return true;
  if (text.length !== 2) return false;
  const hi = text.charCodeAt(0);
  const lo = text.charCodeAt(1);
  return hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff;
}

/** Describes a character for error messages, e.g. `'é' (U+00E9)`. */
export function describeChar(char: string): string {
  const cp = char.codePointAt(0) ?? 0;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  const printable = cp >= 0x20 && cp !== 0x7f && !(cp >= 0xd800 && cp <= 0xdfff);
  return printable ? `${JSON.stringify(char)} (U+${hex})` : `U+${hex}`;
}
