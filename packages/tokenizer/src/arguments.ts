/**
 * Checks of the arguments of the public tokenizer methods, so that bad input gives a
 * `TokenizerError` naming the argument and the fix, never a deep `TypeError`.
 */
import { describeValue } from '@primer-ez/input-checks';
import { TokenizerError } from './errors.js';

/** Reads a boolean option (default `false`) from an options object that may be `undefined`. */
export function readBooleanOption(
  options: unknown,
  name: string,
  method: string,
  defaultValue = false,
): boolean {
  if (options === undefined) return defaultValue;
  if (options === null || typeof options !== 'object') {
    throw new TokenizerError(
      `${method} options must be an object such as { ${name}: true }, got ${describeValue(options)}`,
    );
  }
  const value = (options as Record<string, unknown>)[name];
  if (value === undefined) return defaultValue;
  if (typeof value !== 'boolean') {
    throw new TokenizerError(
      `${method} option ${name} must be true or false, got ${describeValue(value)}`,
    );
  }
  return value;
}

/** Encodes each text of an array with `encode`, naming the position of a text that is not a string. */
export function encodeEach(texts: unknown, encode: (text: string) => number[]): number[][] {
  if (!Array.isArray(texts)) {
    throw new TokenizerError(
      `encodeBatch() expects an array of strings, got ${describeValue(texts)}; use encode() for one text`,
    );
  }
  return texts.map((text: unknown, i) => {
    if (typeof text !== 'string') {
      throw new TokenizerError(
        `encodeBatch() expects strings, but texts[${i}] is ${describeValue(text)}`,
      );
    }
    return encode(text);
  });
}

/** Requires the `init` argument of a tokenizer constructor to be an object. */
export function expectInit(init: unknown, what: string, example: string): void {
  if (init === null || typeof init !== 'object') {
    throw new TokenizerError(
      `${what} expects an object such as ${example}, got ${describeValue(init)}`,
    );
  }
}
