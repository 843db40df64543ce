import { describe, expect, it } from 'vitest';
import { lengthProblem, textProblem, textStats } from './corpus.js';

describe('corpus checks', () => {
  it('accepts ordinary text', () => {
    expect(textProblem('Call me Ishmael.', 'a.txt')).toBeUndefined();
  });

  it('refuses what the CLI refuses', () => {
    expect(textProblem('', 'a.txt')).toMatch(/a.txt is empty/);
    expect(textProblem('ab\u0000cd', 'a.bin')).toMatch(/binary/);
    expect(textProblem('\uFFFD\uFFFDabc', 'latin1.txt')).toMatch(
      /2 of 5 characters are not valid UTF-8/,
    );
    expect(textProblem(' \n\t ', 'blank.txt')).toMatch(/only whitespace/);
  });

  it('needs a validation window', () => {
    expect(lengthProblem('x'.repeat(330), 32, 'short.txt')).toMatch(/330 characters.*at least 331/);
    expect(lengthProblem('x'.repeat(331), 32, 'ok.txt')).toBeUndefined();
  });

  it('counts characters and the vocabulary', () => {
    expect(textStats('hello')).toEqual({ characters: 5, distinct: 4 });
  });
});
