import { parseArgs } from 'node:util';
import { type ConfigInput, PRESETS, resolveConfig } from '@primer-ez/primer-layers';
import { UsageError } from './errors.js';

/** A typed flag: its kind decides how the value is parsed and checked. */
export type Flag =
  | {
      type: 'string';
      multiple?: boolean;
      short?: string;
      description: string;
      default?: string;
      /** What the value is, in the help (`--text FILE`); default `VALUE`. */
      placeholder?: string;
    }
  | { type: 'int' | 'float'; description: string; default?: number; min?: number }
  | { type: 'boolean'; description: string; short?: string }
  | { type: 'enum'; values: readonly string[]; description: string; default?: string };

export type Flags = Record<string, Flag>;

/** Parsed values, by flag name (camelCase is not applied: names stay as written, with dashes). */
export type Values = Record<string, string | string[] | number | boolean | undefined>;

/** The value a flag parses to: an enum's own values, numbers for int and float, and so on. */
export type FlagValue<F extends Flag> = F extends { type: 'boolean' }
  ? boolean
  : F extends { type: 'int' | 'float' }
    ? number
    : F extends { type: 'enum'; values: readonly (infer V)[] }
      ? V
      : F extends { multiple: true }
        ? string[]
        : 'multiple' extends keyof F
          ? string | string[]
          : string;

/**
 * Parsed values typed by their flags (declare flags `as const satisfies Flags` to get them): a
 * flag with a default always has a value, a boolean is `true` or absent, others may be absent.
 */
export type ValuesOf<F extends Flags> = {
  [K in keyof F]: FlagValue<F[K]> | (F[K] extends { default: string | number } ? never : undefined);
};

/**
 * Parses `argv` against typed flags: unknown flags, missing values and values of the wrong type
 * are {@link UsageError}s naming the flag, the value and what was expected.
 */
export function parse<const F extends Flags>(
  command: string,
  argv: string[],
  flags: F,
): { values: ValuesOf<F>; positionals: string[] } {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; multiple?: boolean; short?: string }
  > = {};
  for (const [name, flag] of Object.entries(flags)) {
    const spec: { type: 'string' | 'boolean'; multiple?: boolean; short?: string } = {
      type: flag.type === 'boolean' ? 'boolean' : 'string',
    };
    if ('multiple' in flag && flag.multiple) spec.multiple = true;
    if ('short' in flag && flag.short) spec.short = flag.short;
    options[name] = spec;
  }
  // `--help` wins over any other mistake on the line, so it always shows the help.
  if ('help' in flags && (argv.includes('--help') || argv.includes('-h')))
    return { values: { ...defaults(flags), help: true } as ValuesOf<F>, positionals: [] };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(
      `${command}: ${(error as Error).message.replace(/\. To specify.*$/, '')} (see primer-ez ${command} --help).`,
    );
  }
  const values = defaults(flags);
  for (const [name, flag] of Object.entries(flags)) {
    const raw = parsed.values[name];
    if (raw !== undefined)
      values[name] = convert(command, name, flag, raw as string | string[] | boolean);
  }
  return { values: values as ValuesOf<F>, positionals: parsed.positionals };
}

/** The flags' defaults, by name. */
function defaults(flags: Flags): Values {
  const values: Values = {};
  for (const [name, flag] of Object.entries(flags))
    if ('default' in flag && flag.default !== undefined) values[name] = flag.default;
  return values;
}

function convert(command: string, name: string, flag: Flag, raw: string | string[] | boolean) {
  const bad = (expected: string) =>
    new UsageError(`${command}: --${name} ${JSON.stringify(raw)} is not ${expected}.`);
  switch (flag.type) {
    case 'boolean':
    case 'string':
      return raw;
    case 'int': {
      const n = Number(raw);
      if (!Number.isInteger(n) || String(raw).trim() === '') throw bad('an integer');
      if (flag.min !== undefined && n < flag.min) throw bad(`an integer ≥ ${flag.min}`);
      return n;
    }
    case 'float': {
      const n = Number(raw);
      if (!Number.isFinite(n) || String(raw).trim() === '') throw bad('a number');
      if (flag.min !== undefined && n < flag.min) throw bad(`a number ≥ ${flag.min}`);
      return n;
    }
    case 'enum':
      if (!flag.values.includes(raw as string)) throw bad(`one of ${flag.values.join(', ')}`);
      return raw;
  }
}

/** The model sizes of `--preset` (each preset also has a `-vanilla` twin, chosen by `--arch`). */
export const PRESET_SIZES: readonly string[] = Object.keys(PRESETS).filter(
  (name) => !name.endsWith('-vanilla'),
);

/** Every model config key as a typed flag (`--d-model 256`, `--dconv shared`, `--tie-embeddings`). */
export const CONFIG_FLAGS = {
  'vocab-size': {
    type: 'int',
    min: 1,
    description: 'config vocab_size (normally set by the tokenizer)',
  },
  'd-model': { type: 'int', min: 1, description: 'config d_model (width)' },
  'n-heads': { type: 'int', min: 1, description: 'config n_heads' },
  'n-layers': { type: 'int', min: 1, description: 'config n_layers' },
  'd-ff': { type: 'int', min: 1, description: 'config d_ff (feed-forward width)' },
  'max-seq-len': { type: 'int', min: 1, description: 'config max_seq_len' },
  'ffn-activation': {
    type: 'enum',
    values: ['squared_relu', 'relu'],
    description: 'config ffn_activation',
  },
  attention: { type: 'enum', values: ['mdha', 'mha'], description: 'config attention' },
  dconv: {
    type: 'enum',
    values: ['per_channel', 'shared'],
    description: 'config dconv (MDHA variant)',
  },
  'dconv-kernel': { type: 'int', min: 1, description: 'config dconv_kernel (taps)' },
  'dconv-bias': { type: 'enum', values: ['true', 'false'], description: 'config dconv_bias' },
  'dconv-init': {
    type: 'enum',
    values: ['smoothing', 'uniform'],
    description: 'config dconv_init (initial conv kernels)',
  },
  positional: { type: 'enum', values: ['learned', 'sinusoidal'], description: 'config positional' },
  'norm-eps': { type: 'float', description: 'config norm_eps' },
  'tie-embeddings': {
    type: 'enum',
    values: ['true', 'false'],
    description: 'config tie_embeddings',
  },
  dropout: { type: 'float', min: 0, description: 'config dropout' },
} as const satisfies Flags;

/** The config keys given as flags, as a partial config (snake_case). */
export function configFromFlags(values: Values): Partial<ConfigInput> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(CONFIG_FLAGS)) {
    const v = values[name];
    if (v === undefined) continue;
    out[name.replaceAll('-', '_')] = v === 'true' ? true : v === 'false' ? false : v;
  }
  return out as Partial<ConfigInput>;
}

/** Validates a `--config file.json` object: unknown keys and wrong types are errors. */
export function checkConfigFile(path: string, json: unknown): Partial<ConfigInput> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new UsageError(`--config ${path}: expected a JSON object of config keys.`);
  }
  const given = json as Record<string, unknown>;
  // Placeholder sizes (consistent with whatever the file gives) let every given key be checked.
  const heads = typeof given.n_heads === 'number' ? given.n_heads : 1;
  const placeholders = {
    vocab_size: 1,
    n_layers: 1,
    d_ff: 1,
    max_seq_len: 1,
    n_heads: heads,
    d_model: heads,
  };
  try {
    resolveConfig({ ...placeholders, ...given } as ConfigInput);
  } catch (error) {
    throw new UsageError(`--config ${path}: ${(error as Error).message}`);
  }
  return json as Partial<ConfigInput>;
}

/** The width help text is wrapped to (a terminal's default; fixed, so the output is reproducible). */
export const HELP_WIDTH = 80;

/**
 * A help text from a command's synopsis (`primer-ez eval --checkpoint DIR …`) and flags: one flag per line, descriptions in one column
 * (wrapped to {@link HELP_WIDTH}); a flag too long for the column puts its description on the
 * next line, the way git and clap do.
 */
export function help(synopsis: string, flags: Flags, notes?: string): string {
  const rows = Object.entries(flags).map(([name, flag]) => {
    const short = 'short' in flag && flag.short ? `-${flag.short}, ` : '';
    const value =
      flag.type === 'boolean'
        ? ''
        : flag.type === 'enum'
          ? ` ${flag.values.join('|')}`
          : flag.type === 'string'
            ? ` ${flag.placeholder ?? 'VALUE'}`
            : ` ${flag.type === 'int' ? 'N' : 'NUM'}`;
    const def =
      'default' in flag && flag.default !== undefined && flag.default !== ''
        ? ` (default ${flag.default})`
        : '';
    return [`  ${short}--${name}${value}`, flag.description + def] as const;
  });
  // Continuation lines are indented under the command, past `usage: `.
  const usage = wrap(`usage: ${synopsis}`, HELP_WIDTH - 7).join('\n       ');
  return `${usage}\n\n${columns(rows)}${notes ? `\n${notes}\n` : ''}`;
}

/** Two aligned columns; a left cell wider than {@link MAX_LEFT} puts its text on the next line. */
export function columns(rows: readonly (readonly [left: string, text: string])[]): string {
  const fitting = rows.map(([left]) => left.length).filter((n) => n <= MAX_LEFT);
  const at = Math.max(0, ...fitting) + 2;
  const lines: string[] = [];
  for (const [left, text] of rows) {
    const wrapped = wrap(text, HELP_WIDTH - at);
    if (left.length + 2 > at) lines.push(left);
    else lines.push(left.padEnd(at) + (wrapped.shift() ?? ''));
    for (const line of wrapped) lines.push(' '.repeat(at) + line);
  }
  return `${lines.map((l) => l.trimEnd()).join('\n')}\n`;
}

/** The widest flag column before descriptions move to their own line. */
const MAX_LEFT = 30;

/** Splits text into lines of at most `width` characters at spaces (and after the commas of a list too long for a line). */
export function wrap(text: string, width: number): string[] {
  // [piece, whether a space comes before it]
  const pieces = text
    .split(/\s+/)
    .filter((w) => w !== '')
    .flatMap((w) =>
      (w.length > width ? w.split(/(?<=,)/) : [w]).map((p, i) => [p, i === 0] as const),
    );
  const lines: string[] = [];
  let line = '';
  for (const [piece, spaced] of pieces) {
    const next = line === '' ? piece : `${line}${spaced ? ' ' : ''}${piece}`;
    if (line !== '' && next.length > width) {
      lines.push(line);
      line = piece;
    } else line = next;
  }
  if (line !== '') lines.push(line);
  return lines;
}
