import { describe, expect, it } from 'vitest';
import { TokenizerJsonError } from './errors.js';
import { jsonPath, parseTokenizerJsonInput } from './parse-input.js';

describe('jsonPath', () => {
  it('formats path steps', () => {
    expect(jsonPath([])).toBe('');
    expect(jsonPath(['model'])).toBe('model');
    expect(jsonPath(['model', 'vocab'])).toBe('model.vocab');
    expect(jsonPath(['model', 'vocab', 'Ġthe'])).toBe('model.vocab["Ġthe"]');
    expect(jsonPath(['added_tokens', 2])).toBe('added_tokens[2]');
  });
});

describe('parseTokenizerJsonInput', () => {
  it('names the path of a key given twice', () => {
    const text = '{"added_tokens":[{"id":1},{"id":2,"content":"a","id":3}]}';
    expect(() => parseTokenizerJsonInput(text)).toThrow(TokenizerJsonError);
    expect(() => parseTokenizerJsonInput(text)).toThrow(
      /added_tokens\[1\].*the key "id" appears twice/,
    );
  });
});
