import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from './config.js';
import { configFromJson, configToJson } from './config-json.js';

const sizes = { vocab_size: 65, d_model: 32, n_heads: 4, n_layers: 2, d_ff: 64, max_seq_len: 16 };
const text = configToJson(resolveConfig(sizes));
const edit = (key: string, value: string) =>
  text.replace(new RegExp(`"${key}": [^,\\n]+`), `"${key}": ${value}`);

describe('config.json', () => {
  it('round-trips every key, pretty-printed', () => {
    expect(configFromJson(text)).toEqual(resolveConfig(sizes));
    expect(text).toContain('\n  "d_model": 32,\n');
  });

  it.each([
    ['not JSON', '{"d_model": 32', 'config.json is not valid JSON: '],
    [
      'an array',
      '[1, 2]',
      "config.json must hold one JSON object of the model's sizes, got [1,2].",
    ],
    [
      'a string',
      '"primer"',
      'config.json must hold one JSON object of the model\'s sizes, got "primer".',
    ],
    [
      'nested arrays',
      `{"d_model": ${'['.repeat(10_000)}`,
      'config.json nests objects or arrays; a config is one flat object.',
    ],
    [
      'a key given twice',
      text.replace('"d_ff": 64,', '"d_ff": 64, "d_ff": 128,'),
      "config.json has the key 'd_ff' twice; keep one (JSON readers silently use the last).",
    ],
    [
      'a misspelt key',
      text.replace('"n_heads"', '"n_head"'),
      "config: unknown key 'n_head' (did you mean 'n_heads'?).",
    ],
    [
      'a __proto__ key',
      text.replace('{', '{"__proto__": {"d_model": 8},'),
      "config: unknown key '__proto__'.",
    ],
    [
      'a number as a string',
      edit('d_model', '"32"'),
      'config: d_model = "32" must be a positive integer.',
    ],
    ['a size of zero', edit('n_layers', '0'), 'config: n_layers = 0 must be a positive integer.'],
    ['a fractional size', edit('d_ff', '64.5'), 'config: d_ff = 64.5 must be a positive integer.'],
    [
      'an absurd size',
      edit('d_model', '1e9'),
      'config: d_model = 1000000000 is above 65536, the largest accepted',
    ],
    [
      'a number too large for a double',
      edit('vocab_size', '1e400'),
      'config: vocab_size = Infinity must be a positive integer.',
    ],
    [
      'a boolean as a string',
      edit('tie_embeddings', '"false"'),
      'config: tie_embeddings = "false" must be true or false.',
    ],
    [
      'an unknown choice',
      edit('positional', '"rotary"'),
      "config: positional = \"rotary\" must be one of 'learned', 'sinusoidal'.",
    ],
    [
      'a negative dropout',
      edit('dropout', '-0.1'),
      'config: dropout = -0.1 must be a number in [0, 1).',
    ],
    [
      'a missing size',
      text.replace(/\s*"d_model": 32,/, ''),
      'config: d_model is missing; it must be a positive integer.',
    ],
  ])('rejects %s, naming the key and the fix', (_, json, message) => {
    expect(() => configFromJson(json)).toThrow(ConfigError);
    expect(() => configFromJson(json)).toThrow(message);
  });

  it('refuses a file far larger than any config before parsing it', () => {
    const huge = `{"d_model": 32, "pad": "${'x'.repeat(1_000_000)}"}`;
    expect(() => configFromJson(huge)).toThrow(
      `config.json is ${huge.length} characters, more than the 1000000 read; a config is under 1 KB (is it the right file?).`,
    );
  });

  it('leaves Object.prototype alone', () => {
    expect(() => configFromJson('{"__proto__": {"polluted": true}}')).toThrow(ConfigError);
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
