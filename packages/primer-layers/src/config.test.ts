import { describe, expect, it } from 'vitest';
import { ConfigError, PRESETS, presetConfig, presetName, resolveConfig } from './config.js';
import { countParameters } from './params.js';

const sizes = { vocab_size: 65, d_model: 32, n_heads: 4, n_layers: 2, d_ff: 64, max_seq_len: 16 };

describe('resolveConfig', () => {
  it('defaults to Primer EZ: squared ReLU, per-channel 3-tap MDHA with a bias from the uniform init, learned positions', () => {
    expect(resolveConfig(sizes)).toEqual({
      model_type: 'primer-ez',
      ...sizes,
      ffn_activation: 'squared_relu',
      attention: 'mdha',
      dconv: 'per_channel',
      dconv_kernel: 3,
      dconv_bias: true,
      dconv_init: 'uniform',
      positional: 'learned',
      norm_eps: 1e-5,
      tie_embeddings: false,
      dropout: 0,
    });
  });

  it('gives both convolutions a bias and the uniform init by default, unless told otherwise', () => {
    for (const dconv of ['per_channel', 'shared'] as const) {
      const c = resolveConfig({ ...sizes, dconv });
      expect([c.dconv_bias, c.dconv_init]).toEqual([true, 'uniform']);
      expect(resolveConfig({ ...sizes, dconv, dconv_bias: false }).dconv_bias).toBe(false);
      expect(resolveConfig({ ...sizes, dconv, dconv_init: 'smoothing' }).dconv_init).toBe(
        'smoothing',
      );
    }
    expect(() => resolveConfig({ ...sizes, dconv_init: 'kaiming' as 'uniform' })).toThrow(
      `config: dconv_init = "kaiming" must be one of 'smoothing', 'uniform'.`,
    );
  });

  it.each([
    [
      { d_model: 30 },
      'config: d_model = 30 must be a multiple of n_heads = 4 (head width d_model / n_heads); try d_model = 32.',
    ],
    [{ n_layers: 0 }, 'config: n_layers = 0 must be a positive integer.'],
    [{ vocab_size: 6.5 }, 'config: vocab_size = 6.5 must be a positive integer.'],
    [{ dconv_kernel: 0 }, 'config: dconv_kernel = 0 must be a positive integer.'],
    [{ attention: 'conv' }, "config: attention = \"conv\" must be one of 'mdha', 'mha'."],
    [{ dropout: 1 }, 'config: dropout = 1 must be a number in [0, 1).'],
    [{ dropout: '0.1' }, 'config: dropout = "0.1" must be a number in [0, 1).'],
    [{ norm_eps: 0 }, 'config: norm_eps = 0 must be a number in (0, 1) (PyTorch uses 1e-5).'],
    [{ norm_eps: 1e5 }, 'config: norm_eps = 100000 must be a number in (0, 1)'],
    [{ tie_embeddings: 'yes' }, 'config: tie_embeddings = "yes" must be true or false.'],
    [{ d_model: -32 }, 'config: d_model = -32 must be a positive integer.'],
    [{ d_model: '32' }, 'config: d_model = "32" must be a positive integer.'],
    [{ d_model: null }, 'config: d_model = null must be a positive integer.'],
    [{ d_model: Number.NaN }, 'config: d_model = NaN must be a positive integer.'],
    [{ n_layers: 2.5 }, 'config: n_layers = 2.5 must be a positive integer.'],
    [
      { d_model: 1e9 },
      'config: d_model = 1000000000 is above 65536, the largest accepted (no model that size fits in memory; is config.json corrupted?).',
    ],
    [{ vocab_size: 2 ** 23 }, 'config: vocab_size = 8388608 is above 4194304'],
    [{ max_seq_len: 1e300 }, 'config: max_seq_len = 1e+300 is above 1048576'],
    [{ n_layers: 5000 }, 'config: n_layers = 5000 is above 1024'],
    [
      { d_model: 32768, n_layers: 2 },
      'config: the model would have about 8.60e+9 parameters (3.44e+10 bytes of float32), more than the 2147483648 accepted; reduce vocab_size, d_model, d_ff or n_layers.',
    ],
    [{ model_type: 'gpt2' }, 'config: model_type = "gpt2" must be \'primer-ez\'.'],
    [
      { d_modle: 32 },
      "config: unknown key 'd_modle' (did you mean 'd_model'?). Known keys: model_type, vocab_size,",
    ],
    [
      { Dropout: 0.1, nheads: 4, colour: 'red' },
      "config: unknown keys 'Dropout' (did you mean 'dropout'?), 'nheads' (did you mean 'n_heads'?), 'colour'. Known keys:",
    ],
    [JSON.parse('{"__proto__": {"polluted": true}}'), "config: unknown key '__proto__'."],
    [{ constructor: 1 }, "config: unknown key 'constructor'."],
  ])('rejects %j naming the key and the fix', (override, message) => {
    expect(() => resolveConfig({ ...sizes, ...override } as never)).toThrow(ConfigError);
    expect(() => resolveConfig({ ...sizes, ...override } as never)).toThrow(message);
  });

  it.each(['vocab_size', 'd_model', 'n_heads', 'n_layers', 'd_ff', 'max_seq_len'] as const)(
    'says when the required size %s is missing',
    (key) => {
      const { [key]: _, ...rest } = sizes;
      expect(() => resolveConfig(rest as never)).toThrow(
        new ConfigError(`config: ${key} is missing; it must be a positive integer.`),
      );
    },
  );

  it('refuses what is not an object', () => {
    expect(() => resolveConfig([] as never)).toThrow('config must be an object');
    expect(() => resolveConfig(null as never)).toThrow('config must be an object');
  });

  it('accepts the largest sizes the caps allow when the model stays under the parameter cap', () => {
    const c = resolveConfig({
      ...sizes,
      vocab_size: 2 ** 22,
      max_seq_len: 2 ** 20,
      n_layers: 1024,
    });
    expect([c.vocab_size, c.max_seq_len, c.n_layers]).toEqual([2 ** 22, 2 ** 20, 1024]);
  });
});

describe('presets', () => {
  it('small is d_model 128, 4 heads, 4 layers, d_ff 512, 128 positions', () => {
    const c = presetConfig('small', 65);
    expect([c.d_model, c.n_heads, c.n_layers, c.d_ff, c.max_seq_len]).toEqual([
      128, 4, 4, 512, 128,
    ]);
    expect([c.attention, c.ffn_activation, c.dconv]).toEqual([
      'mdha',
      'squared_relu',
      'per_channel',
    ]);
  });

  it("labml is labml.ai's experiment: 512 wide, 8 heads, 6 layers, sinusoidal, shared convs, dropout 0.1", () => {
    const c = presetConfig('labml', 65);
    expect([c.d_model, c.n_heads, c.n_layers, c.d_ff, c.max_seq_len]).toEqual([
      512, 8, 6, 2048, 256,
    ]);
    expect([c.positional, c.dconv, c.dconv_bias, c.dropout]).toEqual([
      'sinusoidal',
      'shared',
      true,
      0.1,
    ]);
  });

  it('every preset has a vanilla twin of the same shape with plain attention and ReLU', () => {
    for (const name of ['tiny', 'small', 'labml', 'medium'] as const) {
      const primer = presetConfig(name, 100);
      const vanilla = presetConfig(`${name}-vanilla`, 100);
      expect({ ...vanilla, attention: 'mdha', ffn_activation: 'squared_relu' }).toEqual(primer);
      expect([vanilla.attention, vanilla.ffn_activation]).toEqual(['mha', 'relu']);
    }
    expect(Object.keys(PRESETS)).toHaveLength(8);
  });

  it('medium fills a GPU: 25–50 M parameters, d_model ≥ 512', () => {
    const config = presetConfig('medium', 65);
    expect(config.d_model).toBeGreaterThanOrEqual(512);
    const count = countParameters(config);
    expect(count).toBeGreaterThan(25e6);
    expect(count).toBeLessThan(50e6);
  });

  it('takes overrides and rejects unknown names', () => {
    expect(presetConfig('tiny', 10, { dropout: 0.2 }).dropout).toBe(0.2);
    expect(() => presetConfig('huge' as 'tiny', 10)).toThrow("unknown preset 'huge'");
  });

  it('presetName joins a size and an architecture, and names the choices for an unknown one', () => {
    expect(presetName('small', 'primer-ez')).toBe('small');
    expect(presetName('small', 'vanilla')).toBe('small-vanilla');
    for (const size of ['tiny', 'small', 'labml', 'medium'])
      for (const arch of ['primer-ez', 'vanilla'] as const)
        expect(Object.keys(PRESETS)).toContain(presetName(size, arch));
    expect(() => presetName('huge', 'vanilla')).toThrow(
      "unknown preset size 'huge'; choose one of tiny, small, labml, medium.",
    );
    expect(() => presetName('tiny-vanilla', 'primer-ez')).toThrow(ConfigError);
    expect(() => presetName('toString', 'primer-ez')).toThrow(ConfigError);
    expect(() => presetName('tiny', 'gpt' as 'vanilla')).toThrow(
      "unknown architecture 'gpt' for preset 'tiny'; choose primer-ez or vanilla.",
    );
  });
});
