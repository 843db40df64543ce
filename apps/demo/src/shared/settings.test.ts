import { PRESETS } from '@primer-ez/primer-layers';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TRAINING,
  type Field,
  minimumCorpusLength,
  PRESET_SIZES,
  parseSettings,
  presetOf,
  warmupFor,
} from './settings.js';

const tinyForm: Record<Field, string> = {
  preset: 'tiny',
  d_model: '32',
  n_heads: '4',
  n_layers: '2',
  d_ff: '64',
  max_seq_len: '32',
  steps: '300',
  lr: '0.003',
  batch_size: '16',
  seq_len: '32',
  eval_every: '25',
  seed: '0',
};

describe('presets', () => {
  it('match primer-layers (and their -vanilla twins have the same shapes)', () => {
    for (const name of ['tiny', 'small'] as const) {
      for (const preset of [PRESETS[name], PRESETS[`${name}-vanilla`]]) {
        const { d_model, n_heads, n_layers, d_ff, max_seq_len } = preset;
        expect({ d_model, n_heads, n_layers, d_ff, max_seq_len }).toEqual(PRESET_SIZES[name]);
      }
    }
  });

  it('are recognised from sizes, anything else is custom', () => {
    expect(presetOf(PRESET_SIZES.small)).toBe('small');
    expect(presetOf({ ...PRESET_SIZES.tiny, n_layers: 3 })).toBe('custom');
  });

  it('suggest settings the trainer accepts', () => {
    expect(DEFAULT_TRAINING.tiny.steps).toBeGreaterThan(0);
    expect(warmupFor(300)).toBe(30);
    expect(warmupFor(5000)).toBe(100);
    expect(warmupFor(5)).toBe(0);
  });
});

describe('parseSettings', () => {
  it('reads a valid form', () => {
    const { settings, errors } = parseSettings(tinyForm);
    expect(errors).toEqual([]);
    expect(settings).toEqual({
      preset: 'tiny',
      sizes: PRESET_SIZES.tiny,
      training: {
        steps: 300,
        lr: 0.003,
        batchSize: 16,
        seqLen: 32,
        evalEvery: 25,
        seed: 0,
        warmup: 30,
      },
    });
  });

  it('turns edited sizes into a custom preset', () => {
    const { settings } = parseSettings({ ...tinyForm, d_model: '64' });
    expect(settings?.preset).toBe('custom');
    expect(settings?.sizes.d_model).toBe(64);
  });

  it('names every bad field, with the rule', () => {
    const { settings, errors } = parseSettings({
      ...tinyForm,
      d_model: '30',
      steps: '0',
      lr: 'fast',
      batch_size: '2.5',
      seq_len: '64',
      seed: '',
    });
    expect(settings).toBeUndefined();
    const byField = Object.fromEntries(errors.map((e) => [e.field, e.message]));
    expect(Object.keys(byField).sort()).toEqual(
      ['batch_size', 'd_model', 'lr', 'seed', 'seq_len', 'steps'].sort(),
    );
    expect(byField.d_model).toMatch(/multiple of the number of heads \(4\); try 32/);
    expect(byField.seq_len).toMatch(/from 1 to 32 \(got 64\)/);
    expect(byField.lr).toMatch(/got fast/);
  });

  it('knows how much text a run needs', () => {
    // 10% of 331 characters is 33 = one validation window of 32 + 1.
    expect(minimumCorpusLength(32)).toBe(331);
  });
});
