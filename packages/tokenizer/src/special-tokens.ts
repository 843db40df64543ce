/**
 * Special (added) tokens such as `<|endoftext|>`: strings matched verbatim in the input before
 * pre-tokenisation and mapped to a single id.
 */

import { describeValue, formatValue } from '@primer-ez/input-checks';
import { readBooleanOption } from './arguments.js';
import { TokenizerError } from './errors.js';
import { VOCAB_SIZE_CEILING } from './limits.js';
import type { EncodeOptions } from './types.js';
import { isWellFormed, preview, toWellFormed } from './unicode.js';

/** A token matched verbatim in text (Hugging Face calls these "added tokens"). */
export interface SpecialToken {
  /** The exact text of the token, e.g. `<|endoftext|>`. */
  readonly content: string;
  /** Its id. */
  readonly id: number;
  /** `true` for control tokens that `decode(..., { skipSpecial: true })` drops. */
  readonly special: boolean;
}

/** Checks a list of special-token strings given as an option, naming the first bad one. */
export function validateSpecialTokenContents(contents: unknown, option: string): string[] {
  if (!Array.isArray(contents)) {
    throw new TokenizerError(
      `${option} must be an array of strings such as ['<|endoftext|>'], got ${describeValue(contents)}`,
    );
  }
  const seen = new Set<string>();
  contents.forEach((content, i) => {
    if (typeof content !== 'string' || content.length === 0) {
      throw new TokenizerError(
        `${option}[${i}] must be a non-empty string, got ${formatValue(content)}; remove it or give the token's text`,
      );
    }
    if (!isWellFormed(content)) {
      throw new TokenizerError(
        `${option}[${i}] ${preview(content)} contains a lone surrogate, which UTF-8 cannot represent; use well-formed text`,
      );
    }
    if (seen.has(content)) {
      throw new TokenizerError(
        `${option}[${i}] ${preview(content)} is listed twice; list each special token once`,
      );
    }
    seen.add(content);
  });
  return contents as string[];
}

/**
 * Checks the `specialTokens` of a tokenizer constructor (an array of `{ content, id, special }`
 * with integer ids, non-empty well-formed texts and boolean flags) and returns a copy sorted by
 * id. Clashes between tokens are left to the constructor, which knows the ordinary tokens.
 */
export function checkSpecialTokens(list: unknown): SpecialToken[] {
  if (!Array.isArray(list)) {
    throw new TokenizerError(
      `specialTokens must be an array of { content, id, special }, got ${describeValue(list)}`,
    );
  }
  const tokens = list.map((entry: unknown, i): SpecialToken => {
    if (entry === null || typeof entry !== 'object') {
      throw new TokenizerError(
        `specialTokens[${i}] must be an object { content, id, special }, got ${describeValue(entry)}`,
      );
    }
    const { content, id, special } = entry as Record<string, unknown>;
    if (typeof content !== 'string' || content === '' || !isWellFormed(content)) {
      throw new TokenizerError(
        `special token id ${formatValue(id)} needs non-empty, well-formed text, got ${formatValue(content)}`,
      );
    }
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= VOCAB_SIZE_CEILING) {
      throw new TokenizerError(
        `special token ${preview(content)} has id ${formatValue(id)}; ids are integers from 0 to ${VOCAB_SIZE_CEILING - 1}`,
      );
    }
    if (typeof special !== 'boolean') {
      throw new TokenizerError(
        `special token ${preview(content)} has special = ${formatValue(special)}; expected true or false`,
      );
    }
    return { content, id, special };
  });
  return tokens.sort((a, b) => a.id - b.id);
}

/**
 * The vocabulary size for `ordinaryCount` ordinary ids plus `specials` (sorted by id), checked
 * against the package's ceiling. A size larger than the number of tokens must leave a gap, which
 * is reported here, before anything of that size is allocated.
 */
export function checkIdSpace(
  ordinary: readonly unknown[],
  specials: readonly SpecialToken[],
): number {
  const last = specials[specials.length - 1];
  const size = Math.max(ordinary.length, last === undefined ? 0 : last.id + 1);
  if (size > VOCAB_SIZE_CEILING) {
    throw new TokenizerError(
      `${size} ids are more than this package supports (${VOCAB_SIZE_CEILING})`,
    );
  }
  const count = ordinary.length + specials.length;
  if (size > count) {
    const present = new Uint8Array(count);
    for (let id = 0; id < Math.min(count, ordinary.length); id++)
      if (ordinary[id] !== undefined) present[id] = 1;
    for (const t of specials) if (t.id < count) present[t.id] = 1;
    throw new TokenizerError(
      `id ${present.indexOf(0)} has no token; ids must run from 0 to ${size - 1} without gaps`,
    );
  }
  return size;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Finds special tokens in text: at each position the longest token wins, scanning left to
 * right (the same rule as Hugging Face's added-token splitter).
 */
export class SpecialTokenSplitter {
  private readonly pattern: RegExp | undefined;
  private readonly ids: ReadonlyMap<string, number>;

  constructor(tokens: readonly SpecialToken[]) {
    this.ids = new Map(tokens.map((t) => [t.content, t.id]));
    const contents = [...this.ids.keys()].sort((a, b) => b.length - a.length);
    this.pattern =
      contents.length === 0 ? undefined : new RegExp(contents.map(escapeRegExp).join('|'), 'g');
  }

  /** `true` when there is at least one special token. */
  get active(): boolean {
    return this.pattern !== undefined;
  }

  /**
   * Walks `text`, calling `onText(start, end)` for each (non-empty) stretch of ordinary text and
   * `onToken(id)` for each special token, in order.
   */
  split(
    text: string,
    onText: (start: number, end: number) => void,
    onToken: (id: number) => void,
  ): void {
    const pattern = this.pattern;
    if (pattern === undefined) {
      if (text.length > 0) onText(0, text.length);
      return;
    }
    pattern.lastIndex = 0;
    let from = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      if (m.index > from) onText(from, m.index);
      onToken(this.ids.get(m[0]) as number);
      from = m.index + m[0].length;
    }
    if (from < text.length) onText(from, text.length);
  }
}

/**
 * The encode skeleton both tokenizers share: checks the input is a string, reads lone surrogates
 * as U+FFFD, then encodes special-token text through `splitter` (unless `allowSpecial` is false)
 * and everything between with `ordinary(text, start, end, out)`.
 */
export function encodeWithSpecials(
  text: string,
  options: EncodeOptions | undefined,
  splitter: SpecialTokenSplitter,
  ordinary: (text: string, start: number, end: number, out: number[]) => void,
): number[] {
  if (typeof text !== 'string') {
    throw new TokenizerError(
      `encode() expects a string, got ${describeValue(text)}; to encode several texts use encodeBatch()`,
    );
  }
  const allowSpecial = readBooleanOption(options, 'allowSpecial', 'encode()', true);
  const input = isWellFormed(text) ? text : toWellFormed(text);
  const out: number[] = [];
  if (!allowSpecial || !splitter.active) {
    ordinary(input, 0, input.length, out);
  } else {
    splitter.split(
      input,
      (start, end) => ordinary(input, start, end, out),
      (id) => out.push(id),
    );
  }
  return out;
}
