/**
 * `options` without its `undefined` entries, so that spreading it over defaults keeps the default
 * where a caller wrote `{ seed: undefined }` (under `exactOptionalPropertyTypes` a missing key
 * and an `undefined` value are different things).
 *
 * @example
 * ({ ...{ lr: 1e-3, seed: 0 }, ...stripUndefined({ seed: undefined }) }); // { lr: 1e-3, seed: 0 }
 */
export function stripUndefined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(options).filter(([, v]) => v !== undefined),
  ) as Partial<T>;
}
