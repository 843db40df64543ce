/**
 * Error thrown for invalid input to a tokenizer: an unknown character, an out-of-range id, a bad
 * option. The message names the bad value and says how to fix it.
 */
export class TokenizerError extends Error {
  override readonly name: string = 'TokenizerError';
}

/**
 * Error thrown when a `tokenizer.json` document is malformed or uses a feature this package does
 * not support. `path` points at the offending field, e.g. `model.merges[12]`.
 */
export class TokenizerJsonError extends TokenizerError {
  override readonly name: string = 'TokenizerJsonError';
  /** JSON path of the offending field (e.g. `model.vocab`), or `''` for the document itself. */
  readonly path: string;

  constructor(path: string, message: string) {
    super(
      path === ''
        ? `Invalid tokenizer.json: ${message}`
        : `Invalid tokenizer.json at ${path}: ${message}`,
    );
    this.path = path;
  }
}

/**
 * Builds a tokenizer from the parts read out of a `tokenizer.json`: a {@link TokenizerError} the
 * constructor throws (a vocabulary it refuses) is reported as a {@link TokenizerJsonError} at
 * `model`, so every loading failure names where in the document it is.
 */
export function buildFromJson<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof TokenizerError && !(error instanceof TokenizerJsonError)) {
      throw new TokenizerJsonError('model', error.message);
    }
    throw error;
  }
}
