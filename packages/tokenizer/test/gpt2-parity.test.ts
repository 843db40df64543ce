/**
 * Our byte-level BPE loaded with GPT-2's r50k_base ranks (as shipped by gpt-tokenizer) must give
 * exactly gpt-tokenizer's ids on all of Moby-Dick.
 */

import { readMobyDick } from '@primer-ez/test-utils/corpus';
import gpt2Ranks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { decode as gptDecode, encode as gptEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ByteLevelBpeTokenizer } from '../src/byte-level-bpe.js';
import { fromGpt2Ranks } from '../src/gpt2-ranks.js';

let gpt2: ByteLevelBpeTokenizer;

beforeAll(() => {
  gpt2 = fromGpt2Ranks(gpt2Ranks, { specialTokens: { '<|endoftext|>': 50256 } });
});

function firstMismatch(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

describe('GPT-2 (r50k_base) parity with gpt-tokenizer', () => {
  it('has the GPT-2 vocabulary', () => {
    expect(gpt2.vocabSize).toBe(50257);
    expect(gpt2.mergeCount).toBe(50000);
    expect(gpt2.encode('Hello world')).toEqual([15496, 995]);
    expect(gpt2.encode('<|endoftext|>')).toEqual([50256]);
    expect(gpt2.idToToken(50256)).toBe('<|endoftext|>');
    expect(gpt2.idToToken(220)).toBe('Ġ');
  });

  it('gives exactly the same ids on all of Moby-Dick', () => {
    const text = readMobyDick();
    const ours = gpt2.encode(text);
    const theirs = gptEncode(text);
    const at = firstMismatch(ours, theirs);
    expect(at, `first difference at token ${at}`).toBe(-1);
    expect(ours.length).toBe(theirs.length);
    expect(gpt2.decode(ours)).toBe(text);
    expect(gptDecode(ours)).toBe(text);
  });
});
