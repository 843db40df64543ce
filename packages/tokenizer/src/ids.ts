/** Validation of token ids given to `decode`. */
import { TokenizerError } from './errors.js';

/** Throws a {@link TokenizerError} explaining why `ids[index]` is not a valid id. */
export function invalidId(value: unknown, index: number, vocabSize: number): never {
  throw new TokenizerError(
    `ids[${index}] = ${typeof value === 'number' ? value : JSON.stringify(value)} is not a token id; ` +
      `valid ids are integers from 0 to ${vocabSize - 1}`,
  );
}

/** Normalizes the argument of `StreamDecoder.write` to an array-like of ids. */
export function asIdList(ids: number | ArrayLike<number>): ArrayLike<number> {
  return typeof ids === 'number' ? [ids] : ids;
}
