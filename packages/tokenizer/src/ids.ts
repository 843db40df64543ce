/** Validation of token ids given to `decode` and to stream decoders. */
import { describeValue, formatValue } from '@primer-ez/input-checks';
import { TokenizerError } from './errors.js';

/** Throws a {@link TokenizerError} explaining why `ids[index]` is not a valid id. */
export function invalidId(value: unknown, index: number, vocabSize: number): never {
  throw new TokenizerError(
    `ids[${index}] = ${formatValue(value)} is not a token id; ` +
      (vocabSize === 0
        ? 'the vocabulary is empty, so there are no valid ids'
        : `valid ids are integers from 0 to ${vocabSize - 1}`),
  );
}

/** True when `id` is an integer id in `0..size-1` (a `typeof` check first: no BigInt throws). */
export function isValidId(id: unknown, size: number): boolean {
  return typeof id === 'number' && id >>> 0 === id && id < size;
}

/**
 * Checks that `ids` is a list of ids (an array, a typed array or another array-like object with
 * a length) and returns it; `method` names the caller in the error, e.g. `decode()`.
 */
export function expectIdList(ids: unknown, method: string): ArrayLike<number> {
  if (
    Array.isArray(ids) ||
    (ArrayBuffer.isView(ids) && !(ids instanceof DataView)) ||
    (typeof ids === 'object' &&
      ids !== null &&
      Number.isSafeInteger((ids as { length?: unknown }).length) &&
      ((ids as { length: number }).length as number) >= 0)
  ) {
    return ids as ArrayLike<number>;
  }
  throw new TokenizerError(
    `${method} expects an array of token ids, got ${describeValue(ids)}; e.g. ${method.replace('()', '')}([15496, 995])`,
  );
}

/** Normalizes the argument of `StreamDecoder.write` (one id or a list) to an array-like of ids. */
export function asIdList(ids: unknown): ArrayLike<number> {
  return typeof ids === 'number' ? [ids] : expectIdList(ids, 'write()');
}
