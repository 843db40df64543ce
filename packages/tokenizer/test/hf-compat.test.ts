/**
 * Compatibility with the real Hugging Face tokenizer (`@huggingface/tokenizers`, the library
 * inside transformers.js): it must load our `tokenizer.json` files and produce the same ids and
 * the same decoded text, on a real corpus and on adversarial strings.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { readMobyDick } from '@primer-ez/test-utils/corpus';
import fc from 'fast-check';
import gpt2Ranks from 'gpt-tokenizer/bpeRanks/r50k_base';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainByteLevelBpe } from '../src/bpe-trainer.js';
import type { ByteLevelBpeTokenizer } from '../src/byte-level-bpe.js';
import { type CharTokenizer, trainCharTokenizer } from '../src/char-tokenizer.js';
import { fromGpt2Ranks } from '../src/gpt2-ranks.js';
import { loadTokenizerJson } from '../src/load.js';
import type { Tokenizer } from '../src/types.js';
import { nastyString } from './arbitraries.js';

/** Loads our tokenizer into Hugging Face's, through the JSON text as a file would carry it. */
function toHf(tokenizer: Tokenizer): HfTokenizer {
  const json = JSON.parse(JSON.stringify(tokenizer));
  const config = JSON.parse(JSON.stringify(tokenizer.toTokenizerConfig()));
  return new HfTokenizer(json, config);
}

function hfDecode(hf: HfTokenizer, ids: number[]): string {
  // The HF decoder rejects an empty id list instead of returning ''.
  return ids.length === 0 ? '' : hf.decode(ids);
}

function firstMismatch(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const SPECIAL = '<|endoftext|>';
let moby: string;
let bpe: ByteLevelBpeTokenizer;
let bpeHf: HfTokenizer;

beforeAll(() => {
  moby = readMobyDick();
  bpe = trainByteLevelBpe(moby, { vocabSize: 4096, specialTokens: [SPECIAL] });
  bpeHf = toHf(bpe);
});

describe('byte-level BPE trained here, loaded by @huggingface/tokenizers', () => {
  it('gives the same ids and text on all of Moby-Dick', () => {
    const text = `${moby}${SPECIAL}${moby.slice(0, 5000)}`;
    const ours = bpe.encode(text);
    const theirs = bpeHf.encode(text).ids;
    expect(firstMismatch(ours, theirs)).toBe(-1);
    expect(ours.filter((id) => id === bpe.vocabSize - 1)).toHaveLength(1);
    expect(hfDecode(bpeHf, ours)).toBe(text);
    expect(bpe.decode(ours)).toBe(text);
    expect(bpeHf.decode(ours, { skip_special_tokens: true })).toBe(
      bpe.decode(ours, { skipSpecial: true }),
    );
  });

  it('gives the same ids on adversarial strings, lone surrogates and special tokens included (property)', () => {
    fc.assert(
      fc.property(nastyString(), (text) => {
        expect(bpe.encode(text)).toEqual(bpeHf.encode(text).ids);
      }),
      { numRuns: 300 },
    );
  });

  it('decodes arbitrary id sequences, partial characters included, to the same text (property)', () => {
    const ids = fc.array(fc.integer({ min: 0, max: bpe.vocabSize - 1 }), {
      minLength: 1,
      maxLength: 30,
    });
    const byteIds = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 30 });
    fc.assert(
      fc.property(fc.oneof(ids, byteIds), (list) => {
        expect(bpe.decode(list)).toBe(bpeHf.decode(list));
      }),
      { numRuns: 300 },
    );
  });

  it('survives our own save/load round trip unchanged', () => {
    const reloaded = loadTokenizerJson(JSON.stringify(bpe)) as ByteLevelBpeTokenizer;
    expect(reloaded.toTokenizerJson()).toEqual(bpe.toTokenizerJson());
    const sample = moby.slice(100_000, 160_000);
    expect(reloaded.encode(sample)).toEqual(bpe.encode(sample));
  });
});

describe('GPT-2 ranks exported as tokenizer.json, loaded by @huggingface/tokenizers', () => {
  it('gives the same ids as our encoder on all of Moby-Dick', () => {
    const gpt2 = fromGpt2Ranks(gpt2Ranks, { specialTokens: { [SPECIAL]: 50256 } });
    const hf = toHf(gpt2);
    const text = moby;
    const ours = gpt2.encode(text);
    expect(firstMismatch(ours, hf.encode(text).ids)).toBe(-1);
    expect(hf.decode(ours)).toBe(text);
    // And our loader reads the exported file back to the same tokenizer.
    const reloaded = loadTokenizerJson(JSON.stringify(gpt2));
    expect(firstMismatch(reloaded.encode(text), ours)).toBe(-1);
  });
});

describe('character tokenizer, loaded by @huggingface/tokenizers', () => {
  let chars: CharTokenizer;
  let hf: HfTokenizer;

  beforeAll(() => {
    chars = trainCharTokenizer(moby, { specialTokens: [SPECIAL], unkToken: '<unk>' });
    hf = toHf(chars);
  });

  it('gives the same ids and text on all of Moby-Dick', () => {
    const ours = chars.encode(moby);
    expect(ours).toHaveLength([...moby].length);
    expect(firstMismatch(ours, hf.encode(moby).ids)).toBe(-1);
    expect(hf.decode(ours)).toBe(moby);
    expect(chars.decode(ours)).toBe(moby);
  });

  it('maps unseen characters to <unk> and special tokens to their ids, as HF does', () => {
    const text = `Ahab 🐳 says ${SPECIAL} 中文 and 'hi'\n`;
    const ours = chars.encode(text);
    expect(ours).toEqual(hf.encode(text).ids);
    expect(ours).toContain(chars.tokenToId('<unk>'));
    expect(ours).toContain(chars.tokenToId(SPECIAL));
    expect(chars.decode(ours)).toBe(hf.decode(ours));
  });
});
