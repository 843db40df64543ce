/**
 * Corrupted real files: a byte-level BPE and a character tokenizer trained on a few KB of
 * Moby-Dick, written to `tokenizer.json`, then truncated at every length and hit with byte flips.
 * Every corruption must give a clear `TokenizerJsonError` or a tokenizer identical to the
 * original; never a crash, a hang or a silently different tokenizer. The one exception is
 * documented and checked exactly: in a character vocabulary, a flip that turns one character into
 * another unused character is a different but perfectly valid file (see the README).
 */
import { readMobyDick } from '@primer-ez/test-utils/corpus';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { trainByteLevelBpe } from './bpe-trainer.js';
import { trainCharTokenizer } from './char-tokenizer.js';
import { TokenizerJsonError } from './errors.js';
import { loadTokenizerJson } from './load.js';
import type { Tokenizer } from './types.js';

const corpus = readMobyDick().slice(20_000, 24_000);
const sample = `${corpus.slice(1000, 1400)}<|endoftext|> Ahab! 😀`;
const bpe = trainByteLevelBpe(corpus, { vocabSize: 400, specialTokens: ['<|endoftext|>'] });
const chars = trainCharTokenizer(corpus.slice(0, 1500), {
  specialTokens: ['<|endoftext|>'],
  unkToken: '<unk>',
});
const encoder = new TextEncoder();

type Outcome = 'error' | 'identical' | Tokenizer;

/** Loads `bytes`; an error must be a TokenizerJsonError, a tokenizer is compared with `original`. */
function outcome(bytes: Uint8Array, original: Tokenizer): Outcome {
  let tok: Tokenizer;
  try {
    tok = loadTokenizerJson(bytes);
  } catch (error) {
    if (error instanceof TokenizerJsonError) return 'error';
    throw error;
  }
  const same =
    JSON.stringify(tok) === JSON.stringify(original) &&
    JSON.stringify(tok.encode(sample)) === JSON.stringify(original.encode(sample)) &&
    tok.decode(tok.encode(sample)) === original.decode(original.encode(sample));
  return same ? 'identical' : tok;
}

/** True when `tok` differs from `original` only in the character of one ordinary id. */
function oneCharacterSwapped(tok: Tokenizer, original: Tokenizer): boolean {
  if (tok.kind !== 'char' || tok.vocabSize !== original.vocabSize) return false;
  if (JSON.stringify(tok.specialTokens) !== JSON.stringify(original.specialTokens)) return false;
  let changed = 0;
  for (let id = 0; id < tok.vocabSize; id++) {
    const now = tok.idToToken(id) as string;
    if (now === original.idToToken(id)) continue;
    changed++;
    if ([...now].length !== 1 || original.tokenToId(now) !== undefined) return false;
  }
  return changed === 1;
}

describe('corrupted tokenizer.json files', () => {
  const files = [
    ['byte-level BPE', bpe],
    ['character', chars],
  ] as const;

  it('the originals load back identically', () => {
    expect(bpe.vocabSize).toBe(400);
    for (const [, tok] of files) {
      expect(outcome(encoder.encode(JSON.stringify(tok)), tok)).toBe('identical');
    }
  });

  for (const [name, tok] of files) {
    it(`${name}: every truncation is a clear error`, () => {
      const bytes = encoder.encode(JSON.stringify(tok));
      for (let length = 0; length < bytes.length; length++) {
        expect(outcome(bytes.subarray(0, length), tok), `cut at ${length}`).toBe('error');
      }
    });
  }

  it('byte-level BPE: merges or vocabulary cut at an entry boundary (then re-closed) are errors', () => {
    const json = JSON.parse(JSON.stringify(bpe));
    const merges: string[] = json.model.merges;
    const entries = Object.entries(json.model.vocab as Record<string, number>);
    for (let k = 0; k < merges.length; k += 7) {
      const cut = { ...json, model: { ...json.model, merges: merges.slice(0, k) } };
      expect(outcome(encoder.encode(JSON.stringify(cut)), bpe), `merges cut at ${k}`).toBe('error');
    }
    const cuts = Array.from({ length: Math.ceil((entries.length - 1) / 7) }, (_, i) => i * 7);
    for (const k of [...cuts, entries.length - 1]) {
      const cut = {
        ...json,
        model: { ...json.model, vocab: Object.fromEntries(entries.slice(0, k)) },
      };
      // The last entry is <|endoftext|>, which added_tokens repeats: without it nothing changes.
      expect(outcome(encoder.encode(JSON.stringify(cut)), bpe), `vocab cut at ${k}`).toMatch(
        k === entries.length - 1 ? 'identical' : 'error',
      );
    }
    const error = (() => {
      try {
        loadTokenizerJson({ ...json, model: { ...json.model, merges: merges.slice(0, -1) } });
      } catch (e) {
        return e as TokenizerJsonError;
      }
    })();
    expect(error?.message).toMatch(/is never produced: no entry of model.merges makes/);
  });

  it('byte-level BPE: random byte flips are errors or change nothing (property)', () => {
    const bytes = encoder.encode(JSON.stringify(bpe));
    const flip = fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }));
    fc.assert(
      fc.property(fc.array(flip, { minLength: 1, maxLength: 3 }), (flips) => {
        const copy = bytes.slice();
        for (const [at, mask] of flips) copy[at] = (copy[at] as number) ^ mask;
        expect(outcome(copy, bpe)).toMatch(/^(error|identical)$/);
      }),
      { numRuns: 1500 },
    );
  });

  it('character: every single-bit flip is an error, changes nothing, or swaps one vocabulary character', () => {
    const bytes = encoder.encode(JSON.stringify(chars));
    let swapped = 0;
    for (let at = 0; at < bytes.length; at++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = bytes.slice();
        copy[at] = (copy[at] as number) ^ (1 << bit);
        const result = outcome(copy, chars);
        if (typeof result === 'string') continue;
        expect(oneCharacterSwapped(result, chars), `flip of bit ${bit} at byte ${at}`).toBe(true);
        swapped++;
      }
    }
    // The undetectable case exists (so the README is right to say so), and is rare.
    expect(swapped).toBeGreaterThan(0);
    expect(swapped).toBeLessThan(bytes.length);
  });
});
