import { describe, expect, it } from 'vitest';
import {
  MAX_TOKENIZER_JSON_BYTES,
  MAX_VOCAB_SIZE,
  resolveLoadOptions,
  VOCAB_SIZE_CEILING,
} from './limits.js';

describe('load limits', () => {
  it('default to 128 MiB and 2,097,152 ids', () => {
    expect(resolveLoadOptions(undefined)).toEqual({
      maxBytes: MAX_TOKENIZER_JSON_BYTES,
      maxVocabSize: MAX_VOCAB_SIZE,
    });
    expect(resolveLoadOptions({})).toEqual(resolveLoadOptions(undefined));
    expect(resolveLoadOptions({ maxBytes: 10, maxVocabSize: VOCAB_SIZE_CEILING })).toEqual({
      maxBytes: 10,
      maxVocabSize: 16_777_216,
    });
  });

  it('reject bad limits, naming the value', () => {
    expect(() => resolveLoadOptions(null)).toThrow(
      'load options must be an object such as { maxBytes: 1e8 }, got null',
    );
    expect(() => resolveLoadOptions({ maxBytes: -1 })).toThrow(
      'maxBytes must be a positive integer (bytes), got number -1',
    );
    expect(() => resolveLoadOptions({ maxBytes: '1e6' })).toThrow('got the string "1e6"');
    expect(() => resolveLoadOptions({ maxVocabSize: 0 })).toThrow(
      'maxVocabSize must be an integer from 1 to 16777216, got number 0',
    );
  });
});
