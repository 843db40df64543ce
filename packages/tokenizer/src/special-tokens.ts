/**
 * Special (added) tokens such as `<|endoftext|>`: strings matched verbatim in the input before
 * pre-tokenisation and mapped to a single id.
 */
import { TokenizerError } from './errors.js';
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
export function validateSpecialTokenContents(
  contents: readonly unknown[],
  option: string,
): string[] {
  const seen = new Set<string>();
  contents.forEach((content, i) => {
    if (typeof content !== 'string' || content.length === 0) {
      throw new TokenizerError(
        `${option}[${i}] must be a non-empty string, got ${JSON.stringify(content)}; remove it or give the token's text`,
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
      `encode() expects a string, got ${text === null ? 'null' : typeof text}`,
    );
  }
  const input = isWellFormed(text) ? text : toWellFormed(text);
  const out: number[] = [];
  if (options?.allowSpecial === false || !splitter.active) {
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
