import { describe, expect, expectTypeOf, it } from 'vitest';
import { type Flags, parse } from './args.js';

const FLAGS = {
  steps: { type: 'int', min: 1, default: 100, description: 'steps' },
  lr: { type: 'float', description: 'learning rate' },
  schedule: { type: 'enum', values: ['cosine', 'constant'], default: 'cosine', description: 's' },
  text: { type: 'string', multiple: true, description: 'files' },
  out: { type: 'string', description: 'directory' },
  json: { type: 'boolean', description: 'JSON' },
  help: { type: 'boolean', short: 'h', description: 'help' },
} as const satisfies Flags;

describe('parse', () => {
  it('returns values typed by their flags: numbers, enum values, lists, defaults filled', () => {
    const { values } = parse('x', ['--lr', '3e-4', '--text', 'a', '--text', 'b', '--json'], FLAGS);
    expect(values).toEqual({
      steps: 100,
      lr: 3e-4,
      schedule: 'cosine',
      text: ['a', 'b'],
      json: true,
    });
    expectTypeOf(values.steps).toEqualTypeOf<number>();
    expectTypeOf(values.lr).toEqualTypeOf<number | undefined>();
    expectTypeOf(values.schedule).toEqualTypeOf<'cosine' | 'constant'>();
    expectTypeOf(values.text).toEqualTypeOf<string[] | undefined>();
    expectTypeOf(values.out).toEqualTypeOf<string | undefined>();
    expectTypeOf(values.json).toEqualTypeOf<boolean | undefined>();
  });

  it('fills the defaults on --help too, so a value typed as present is present', () => {
    const { values } = parse('x', ['--steps', 'oops', '--help'], FLAGS);
    expect(values).toEqual({ steps: 100, schedule: 'cosine', help: true });
  });

  it('names the flag, the value and what was expected', () => {
    expect(() => parse('x', ['--steps', '0'], FLAGS)).toThrow(
      'x: --steps "0" is not an integer ≥ 1.',
    );
    expect(() => parse('x', ['--schedule', 'noam'], FLAGS)).toThrow(
      'x: --schedule "noam" is not one of cosine, constant.',
    );
  });
});
