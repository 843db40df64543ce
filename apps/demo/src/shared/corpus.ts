// Checks on a text before training on it: the same refusals as the CLI's --text (an empty file,
// binary data, text that is not UTF-8), plus what the race needs (enough text for a validation
// window).
import { minimumCorpusLength } from './settings.js';

/** Why a text cannot be trained on, in words, or undefined when it can. */
export function textProblem(text: string, name: string): string | undefined {
  if (text.length === 0) return `${name} is empty; give a text with something in it.`;
  if (text.includes('\u0000'))
    return `${name} looks binary (it contains NUL bytes); give a UTF-8 text file.`;
  let bad = 0;
  for (const ch of text) if (ch === '\uFFFD') bad++;
  if (bad > text.length / 100)
    return `${name}: ${bad.toLocaleString('en')} of ${text.length.toLocaleString('en')} characters are not valid UTF-8; convert it to UTF-8 text first.`;
  if (text.trim().length === 0)
    return `${name} holds only whitespace; give a text with words in it.`;
  return undefined;
}

/** Why a text is too short for windows of `seqLen`, or undefined. */
export function lengthProblem(text: string, seqLen: number, name: string): string | undefined {
  const needed = minimumCorpusLength(seqLen);
  if (text.length >= needed) return undefined;
  return `${name} has ${text.length.toLocaleString('en')} characters; a run with sequence length ${seqLen} needs at least ${needed.toLocaleString('en')} (the last 10% is kept for validation).`;
}

/** Characters and distinct characters (the character tokenizer's vocabulary size). */
export function textStats(text: string): { characters: number; distinct: number } {
  return { characters: text.length, distinct: new Set(text).size };
}
