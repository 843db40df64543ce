import { describeValue } from '@primer-ez/input-checks';
import { type DataType, Tensor } from '@tensorflow/tfjs-core';

/** Formats a shape the way error messages print it: `[2,3,4]`. */
export function formatShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(',')}]`;
}

/** Throws unless `value` is a tf.Tensor. */
export function assertTensor(op: string, name: string, value: unknown): asserts value is Tensor {
  if (!(value instanceof Tensor)) {
    throw new TypeError(
      `${op}: argument '${name}' must be a tf.Tensor, got ${describeValue(value)}. ` +
        `Wrap plain data with tf.tensor(...).`,
    );
  }
}

/** Throws unless `t.dtype` is one of `dtypes`, suggesting the cast that fixes it. */
export function assertDtype(
  op: string,
  name: string,
  t: Tensor,
  dtypes: readonly DataType[],
): void {
  if (!dtypes.includes(t.dtype)) {
    throw new TypeError(
      `${op}: argument '${name}' has dtype ${t.dtype}; expected ${dtypes.join(' or ')}. ` +
        `Cast it with tf.cast(${name}, '${dtypes[0]}').`,
    );
  }
}

/**
 * Throws unless `t` has the expected rank and sizes.
 *
 * @param dims names of the dimensions, e.g. `['B', 'T', 'C']`.
 * @param sizes the required size of each dimension, or `undefined` where any size is fine.
 * @param context where the required sizes come from, appended to the message.
 */
export function assertShape(
  op: string,
  name: string,
  t: Tensor,
  dims: readonly string[],
  sizes: readonly (number | undefined)[] = [],
  context = '',
): void {
  const matches =
    t.rank === dims.length &&
    dims.every((_, i) => sizes[i] === undefined || sizes[i] === t.shape[i]);
  if (matches) return;
  const wanted = dims.map((d, i) => sizes[i] ?? d);
  const detail = sizes.some((s) => s !== undefined) ? ` = ${formatShape(wanted)}` : '';
  throw new RangeError(
    `${op}: argument '${name}' has shape ${formatShape(t.shape)}; ` +
      `expected ${formatShape(dims)}${detail}${context ? ` (${context})` : ''}.`,
  );
}

/** Throws a RangeError naming the argument when `ok` is false. */
export function check(ok: boolean, message: () => string): asserts ok {
  if (!ok) throw new RangeError(message());
}
