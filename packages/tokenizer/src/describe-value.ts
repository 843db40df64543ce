/**
 * Short, safe descriptions of arbitrary values for error messages. Safe means: never throws (no
 * `JSON.stringify` of cyclic or deep objects, no getters run), never recurses, and never copies a
 * huge string into the message.
 */
import { preview } from './unicode.js';

/** Describes `value` with its type, e.g. `the string "abc"`, `number NaN`, `an array`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return `the string ${preview(value)}`;
    case 'number':
    case 'boolean':
      return `${typeof value} ${String(value)}`;
    case 'bigint':
      return `bigint ${value}n`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
  }
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return `a ${Object.prototype.toString.call(value).slice(8, -1)}`;
  return 'an object';
}

/** Writes `value` as a literal where it has one (`7`, `NaN`, `"7"`, `7n`), else describes it. */
export function formatValue(value: unknown): string {
  switch (typeof value) {
    case 'number':
      return String(value);
    case 'string':
      return preview(value);
    case 'bigint':
      return `${value}n`;
    default:
      return describeValue(value);
  }
}
