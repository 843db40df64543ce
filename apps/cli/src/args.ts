import { parseArgs } from 'node:util';
import { type ConfigInput, resolveConfig } from '@primer-ez/primer-layers';
import { UsageError } from './errors.js';

/** A typed flag: its kind decides how the value is parsed and checked. */
export type Flag =
  | { type: 'string'; multiple?: boolean; short?: string; description: string; default?: string }
  | { type: 'int' | 'float'; description: string; default?: number; min?: number }
  | { type: 'boolean'; description: string; short?: string }
  | { type: 'enum'; values: readonly string[]; description: string; default?: string };

export type Flags = Record<string, Flag>;

/** Parsed values, by flag name (camelCase is not applied: names stay as written, with dashes). */
export type Values = Record<string, string | string[] | number | boolean | undefined>;

/**
 * Parses `argv` against typed flags: unknown flags, missing values and values of the wrong type
 * are {@link UsageError}s naming the flag, the value and what was expected.
 */
export function parse(
  command: string,
  argv: string[],
  flags: Flags,
): { values: Values; positionals: string[] } {
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
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(
      `${command}: ${(error as Error).message.replace(/\. To specify.*$/, '')} (see primer-ez ${command} --help).`,
    );
  }
  const values: Values = {};
  for (const [name, flag] of Object.entries(flags)) {
    const raw = parsed.values[name];
    if (raw === undefined) {
      if ('default' in flag && flag.default !== undefined) values[name] = flag.default;
      continue;
    }
    values[name] = convert(command, name, flag, raw as string | string[] | boolean);
  }
  return { values, positionals: parsed.positionals };
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

/** Every model config key as a typed flag (`--d-model 256`, `--dconv shared`, `--tie-embeddings`). */
export const CONFIG_FLAGS: Flags = {
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
};

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

/** A help text from a command's synopsis and flags. */
export function help(synopsis: string, flags: Flags): string {
  const lines = Object.entries(flags).map(([name, flag]) => {
    const kind =
      flag.type === 'boolean'
        ? ''
        : flag.type === 'enum'
          ? ` ${flag.values.join('|')}`
          : flag.type === 'string'
            ? ' VALUE'
            : ` ${flag.type.toUpperCase()}`;
    const def = 'default' in flag && flag.default !== undefined ? ` (default ${flag.default})` : '';
    return `  --${name}${kind}`.padEnd(38) + flag.description + def;
  });
  return `${synopsis}\n\n${lines.join('\n')}\n`;
}
