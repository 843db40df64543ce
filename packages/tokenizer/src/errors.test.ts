import { describe, expect, it } from 'vitest';
import { TokenizerError, TokenizerJsonError } from './errors.js';

describe('errors', () => {
  it('name the offending tokenizer.json field', () => {
    const error = new TokenizerJsonError('model.merges[3]', 'token "x" is not in model.vocab');
    expect(error).toBeInstanceOf(TokenizerError);
    expect(error.name).toBe('TokenizerJsonError');
    expect(error.path).toBe('model.merges[3]');
    expect(error.message).toBe(
      'Invalid tokenizer.json at model.merges[3]: token "x" is not in model.vocab',
    );
    expect(new TokenizerJsonError('', 'not JSON').message).toBe('Invalid tokenizer.json: not JSON');
    expect(new TokenizerError('x').name).toBe('TokenizerError');
  });
});
