import { readMobyDick } from '@primer-ez/test-utils/corpus';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BpeTrainer, trainByteLevelBpe, trainByteLevelBpeAsync } from './bpe-trainer.js';
import { BYTE_ORDER } from './byte-level.js';
import { preTokenize } from './pretokenize.js';

/**
 * Textbook BPE training: recount every pair after every merge. Picks the most frequent pair,
 * ties going to the smallest (left id, right id), like the trainer.
 */
function naiveTrain(text: string, merges: number): [number, number][] {
  const counts = new Map<string, number>();
  for (const piece of preTokenize(text)) counts.set(piece, (counts.get(piece) ?? 0) + 1);
  const words = [...counts].map(([piece, count]) => ({
    symbols: [...new TextEncoder().encode(piece)].map((b) => BYTE_ORDER.indexOf(b)),
    count,
  }));
  const learned: [number, number][] = [];
  for (let next = 256; learned.length < merges; next++) {
    const pairs = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = `${symbols[i]},${symbols[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    let best: [number, number] | undefined;
    let bestCount = 0;
    for (const [key, count] of pairs) {
      const [a, b] = key.split(',').map(Number) as [number, number];
      if (
        count > bestCount ||
        (count === bestCount &&
          best !== undefined &&
          (a < best[0] || (a === best[0] && b < best[1])))
      ) {
        best = [a, b];
        bestCount = count;
      }
    }
    if (best === undefined) break;
    learned.push(best);
    for (const word of words) {
      const out: number[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (word.symbols[i] === best[0] && word.symbols[i + 1] === best[1]) {
          out.push(next);
          i++;
        } else {
          out.push(word.symbols[i] as number);
        }
      }
      word.symbols = out;
    }
  }
  return learned;
}

function mergeIds(text: string, vocabSize: number): [number, number][] {
  const tok = trainByteLevelBpe(text, { vocabSize });
  return tok.merges().map(([a, b]) => [tok.tokenToId(a) as number, tok.tokenToId(b) as number]);
}

describe('BPE training', () => {
  it('learns the expected first merges on a toy corpus', () => {
    // pre-tokens: 'low', ' low' x2, ' lower', ' lowest', ' newest' x2
    const tok = trainByteLevelBpe('low low low lower lowest newest newest', { vocabSize: 260 });
    expect(tok.merges()).toEqual([
      ['l', 'o'], // 5 times, tied with (o, w): the smaller pair wins
      ['lo', 'w'], // 5
      ['Ġ', 'low'], // 4
      ['e', 's'], // 3, tied with (s, t)
    ]);
    expect(tok.encode(' lowest').map((i) => tok.idToToken(i))).toEqual(['Ġlow', 'es', 't']);
  });

  it('learns exactly the merges of textbook BPE (incremental counts are exact, property)', () => {
    const word = fc.constantFrom('a', 'aa', 'ab', 'ba', 'aaa', 'abab', 'b', ' ', '\n', 'é', 'x');
    const text = fc.array(word, { maxLength: 60 }).map((ws) => ws.join(''));
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 30 }), (t, merges) => {
        expect(mergeIds(t, 256 + merges)).toEqual(naiveTrain(t, merges));
      }),
      { numRuns: 200 },
    );
  });

  it('matches textbook BPE on real text', () => {
    const text = readMobyDick().slice(0, 20_000);
    expect(mergeIds(text, 256 + 60)).toEqual(naiveTrain(text, 60));
  });

  it('reaches the requested vocabulary size, specials last, and is deterministic', () => {
    const text = readMobyDick().slice(0, 100_000);
    const options = { vocabSize: 700, specialTokens: ['<|endoftext|>', '<|pad|>'] };
    const a = trainByteLevelBpe(text, options);
    expect(a.vocabSize).toBe(700);
    expect(a.mergeCount).toBe(700 - 256 - 2);
    expect(a.specialTokens.map((t) => [t.content, t.id])).toEqual([
      ['<|endoftext|>', 698],
      ['<|pad|>', 699],
    ]);
    expect(a.toTokenizerJson()).toEqual(trainByteLevelBpe(text, options).toTokenizerJson());
  });

  it('stops early when no pair is frequent enough', () => {
    expect(trainByteLevelBpe('ab', { vocabSize: 1000 }).vocabSize).toBe(257);
    expect(trainByteLevelBpe('', { vocabSize: 1000 }).vocabSize).toBe(256);
    // 'ab' occurs twice; after merging it, every remaining pair occurs once.
    const rare = trainByteLevelBpe('ab ab cd', { vocabSize: 1000, minFrequency: 2 });
    expect(rare.merges()).toEqual([['a', 'b']]);
    expect(trainByteLevelBpe('ab ab cd', { vocabSize: 1000 }).mergeCount).toBe(4);
  });

  it('leaves special-token text out of training', () => {
    const tok = trainByteLevelBpe('<|s|><|s|><|s|>ab', {
      vocabSize: 300,
      specialTokens: ['<|s|>'],
    });
    expect(tok.merges()).toEqual([['a', 'b']]);
    expect(tok.encode('<|s|>ab')).toEqual([tok.vocabSize - 1, tok.tokenToId('ab')]);
  });

  it('trains the same from a stream of texts, sync or async', async () => {
    const docs = readMobyDick().slice(0, 50_000).split('\n\n');
    const fromArray = trainByteLevelBpe(docs, { vocabSize: 400 });
    function* gen() {
      yield* docs;
    }
    async function* agen() {
      yield* docs;
    }
    expect(trainByteLevelBpe(gen(), { vocabSize: 400 }).merges()).toEqual(fromArray.merges());
    expect((await trainByteLevelBpeAsync(agen(), { vocabSize: 400 })).merges()).toEqual(
      fromArray.merges(),
    );
    const trainer = new BpeTrainer({ vocabSize: 400 });
    for (const doc of docs) trainer.feed(doc);
    expect(trainer.finish().merges()).toEqual(fromArray.merges());
  });

  it('treats lone surrogates in training text as U+FFFD', () => {
    const a = trainByteLevelBpe('\ud800\ud800 \udfff', { vocabSize: 270 });
    const b = trainByteLevelBpe('\uFFFD\uFFFD \uFFFD', { vocabSize: 270 });
    expect(a.merges()).toEqual(b.merges());
  });

  it('rejects bad options, naming the bad value', () => {
    expect(() => trainByteLevelBpe('x', { vocabSize: 100 })).toThrow(
      'vocabSize must be an integer from 256 (256 byte tokens + 0 special tokens) to 2097152, got 100',
    );
    expect(() => trainByteLevelBpe('x', { vocabSize: 256, specialTokens: ['<s>'] })).toThrow(
      /from 257 .* got 256/,
    );
    expect(() => trainByteLevelBpe('x', { vocabSize: 300.5 })).toThrow(/got 300.5/);
    expect(() => trainByteLevelBpe('x', { vocabSize: 300, minFrequency: 0 })).toThrow(
      'minFrequency must be an integer ≥ 1, got 0',
    );
    expect(() => trainByteLevelBpe('x', { vocabSize: 300, specialTokens: [''] })).toThrow(
      /specialTokens\[0\]/,
    );
    expect(() => trainByteLevelBpe(['a', 3 as unknown as string], { vocabSize: 300 })).toThrow(
      'training texts must be strings, got number',
    );
    expect(() => trainByteLevelBpe(5 as unknown as string, { vocabSize: 300 })).toThrow(
      /string or an iterable/,
    );
    expect(() => trainByteLevelBpe('x', undefined as unknown as { vocabSize: number })).toThrow(
      /options are required/,
    );
  });
});
