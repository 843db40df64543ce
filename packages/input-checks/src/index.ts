/**
 * `@primer-ez/input-checks`: the pure-JavaScript helpers every primer-ez package uses on untrusted
 * input — one strict JSON scan (keys given twice, nesting depth), one way to describe a bad value
 * in an error message, one way to drop `undefined` options. No dependencies; Node and browsers.
 */
export { describeValue, formatValue, preview } from './describe-value.js';
export { type DuplicateKey, type JsonScan, scanJson } from './json-scan.js';
export { stripUndefined } from './options.js';
