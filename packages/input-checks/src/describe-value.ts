/**
 * Short, safe renderings of arbitrary values for error messages: "got the string "abc"", "got an
 * array of length 3", "shape [2,-1]". Safe means: never throws, runs no getters or `toJSON`,
 * never recurses without a bound, and never copies a huge string or array into the message.
 */

/**
 * Shortens `text` for an error message and writes it as a JSON string literal.
 *
 * @example
 * preview('hello world', 5); // '"hello…"'
 */
export function preview(text: string, max = 40): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/**
 * Describes `value` with its type, e.g. `the string "abc"`, `number NaN`, `an array of length 2`,
 * `a Float32Array`, `a Map`, `an object`.
 *
 * @example
 * `expected a string, got ${describeValue(5)}`; // 'expected a string, got number 5'
 */
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
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const name = className(value as object);
  return name === undefined ? 'an object' : `${/^[AEIO]/.test(name) ? 'an' : 'a'} ${name}`;
}

/**
 * Writes `value` as a literal where it has a short one (`7`, `NaN`, `"7"`, `7n`, `[2,-1]`,
 * `{"dtype":"F64"}`; arrays and plain objects of such values, cut to about `max` characters),
 * else describes it like {@link describeValue}.
 *
 * @example
 * `shape ${formatValue([2, -1])} has a negative size`; // 'shape [2,-1] has a negative size'
 */
export function formatValue(value: unknown, max = 80): string {
  switch (typeof value) {
    case 'number':
      return String(value);
    case 'string':
      return preview(value);
    case 'bigint':
      return `${value}n`;
    case 'object': {
      if (value === null) break;
      const out: string[] = [];
      const budget = { left: max };
      if (!writeLiteral(value, out, budget, 0)) break;
      const text = out.join('');
      return budget.left < 0 ? `${text.slice(0, Math.max(0, max - 3))}...` : text;
    }
  }
  return describeValue(value);
}

/** Own data properties only: a getter is never run. */
function ownValue(o: object, key: string | number): unknown {
  return Object.getOwnPropertyDescriptor(o, key)?.value;
}

/** The class of an object that is not a plain object or array, read without running a getter. */
function className(o: object): string | undefined {
  try {
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto === null || proto === Object.prototype) return undefined;
    const maker = ownValue(proto as object, 'constructor');
    if (typeof maker !== 'function') return undefined;
    const name = ownValue(maker, 'name');
    return typeof name === 'string' && /^[A-Za-z_$][\w$]{0,63}$/.test(name) ? name : undefined;
  } catch {
    return undefined; // a Proxy whose trap throws
  }
}

const MAX_LITERAL_DEPTH = 4;

/**
 * Appends the JSON text of `value` to `out` while `budget.left` lasts (then stops early, leaving
 * `budget.left` negative). Returns false where the value has no JSON literal: a getter, a class
 * instance, a cycle or a nest deeper than {@link MAX_LITERAL_DEPTH}, a non-finite number.
 */
function writeLiteral(
  value: unknown,
  out: string[],
  budget: { left: number },
  depth: number,
): boolean {
  if (budget.left < 0) return true;
  let text: string;
  if (value === null || typeof value === 'boolean') text = String(value);
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) return false;
    text = String(value);
  } else if (typeof value === 'string') text = preview(value, budget.left + 1);
  else if (typeof value !== 'object' || depth >= MAX_LITERAL_DEPTH) return false;
  else if (Array.isArray(value)) {
    out.push('[');
    budget.left -= 1;
    for (let i = 0; i < value.length && budget.left >= 0; i++) {
      if (i > 0) {
        out.push(',');
        budget.left -= 1;
      }
      const descriptor = Object.getOwnPropertyDescriptor(value, i);
      if (descriptor !== undefined && !('value' in descriptor)) return false;
      if (!writeLiteral(descriptor?.value ?? null, out, budget, depth + 1)) return false;
    }
    text = ']';
  } else {
    if (className(value) !== undefined) return false;
    out.push('{');
    budget.left -= 1;
    let first = true;
    for (const key of Object.keys(value)) {
      if (budget.left < 0) break;
      const descriptor = Object.getOwnPropertyDescriptor(value, key);
      if (descriptor === undefined || !('value' in descriptor)) return false;
      const name = `${first ? '' : ','}${preview(key, budget.left + 1)}:`;
      out.push(name);
      budget.left -= name.length;
      first = false;
      if (!writeLiteral(descriptor.value, out, budget, depth + 1)) return false;
    }
    text = '}';
  }
  out.push(text);
  budget.left -= text.length;
  return true;
}
