import type { PrimerModel } from '@primer-ez/primer-layers';
import { describeEachBackend } from '@primer-ez/test-utils';
import {
  type ByteLevelBpeTokenizer,
  type CharTokenizer,
  isWellFormed,
  TokenizerError,
  trainByteLevelBpe,
  trainCharTokenizer,
} from '@primer-ez/tokenizer';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomTinyModel, trainTinyModel } from '../test/tiny-model.js';
import { type GenerateResult, generate, generateText, type SampleOptions } from './sample.js';

/** Runs `generate` by hand: the pieces it yields and the result it returns. */
async function collect(
  ...args: Parameters<typeof generate>
): Promise<{ pieces: string[]; result: GenerateResult }> {
  const iterator = generate(...args);
  const pieces: string[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { pieces, result: next.value };
    pieces.push(next.value);
  }
}

const TEXT = 'the cat sat on the mat. ';
const BPE_TEXT = 'café 🐳 olé 🐳 ';
const MAX_SEQ_LEN = 16;

describeEachBackend('generate', () => {
  // The char tokenizer knows <|endoftext|>; `plain` is the same without it (one id fewer).
  let tokenizer: CharTokenizer;
  let plain: CharTokenizer;
  let bpe: ByteLevelBpeTokenizer;
  let trained: PrimerModel;
  let random: PrimerModel;
  let bpeModel: PrimerModel;

  beforeAll(async () => {
    tokenizer = trainCharTokenizer(TEXT, { specialTokens: ['<|endoftext|>'] });
    plain = trainCharTokenizer(TEXT);
    trained = await trainTinyModel(tokenizer, TEXT, { maxSeqLen: MAX_SEQ_LEN });
    random = randomTinyModel(tokenizer.vocabSize, MAX_SEQ_LEN);
    // Few merges, learned on ASCII text, so 'é' (2 bytes) and '🐳' (4 bytes) span several tokens.
    bpe = trainByteLevelBpe('the quick brown fox jumps over the lazy dog '.repeat(4), {
      vocabSize: 262,
    });
    bpeModel = await trainTinyModel(bpe, BPE_TEXT, { maxSeqLen: MAX_SEQ_LEN });
  });

  afterAll(() => {
    for (const model of [trained, random, bpeModel]) model.dispose();
  });

  it('learned the text: greedy continues it', async () => {
    const { text } = await generateText(trained, tokenizer, 'the c', {
      temperature: 0,
      maxNewTokens: 11,
    });
    expect(TEXT.repeat(2)).toContain(`the c${text}`);
  });

  it('greedy with the cache equals greedy with full recompute within max_seq_len', async () => {
    for (const [model, prompt] of [
      [trained, 'the m'],
      [random, 'on the'],
    ] as const) {
      const maxNewTokens = MAX_SEQ_LEN - prompt.length;
      const options = { temperature: 0, maxNewTokens };
      const cached = await generateText(model, tokenizer, prompt, options);
      const full = await generateText(model, tokenizer, prompt, { ...options, useCache: false });
      expect(cached.tokens).toHaveLength(maxNewTokens);
      expect(cached.stoppedBy).toBe('maxNewTokens');
      expect(full).toEqual(cached);
      expect(tokenizer.decode(cached.tokens)).toBe(cached.text);
    }
  });

  it('temperature 0 picks the argmax of the model logits', async () => {
    const prompt = tokenizer.encode('a cat');
    const logits = random.forward([prompt]);
    const last = Array.from(logits.dataSync().slice(-random.config.vocab_size));
    logits.dispose();
    const { tokens } = await generateText(random, tokenizer, 'a cat', {
      temperature: 0,
      maxNewTokens: 1,
    });
    expect(tokens).toEqual([last.indexOf(Math.max(...last))]);
  });

  it('a seed reproduces the text and another seed changes it (temperature 1)', async () => {
    const options = { temperature: 1, maxNewTokens: MAX_SEQ_LEN - 3 };
    const first = await generateText(random, tokenizer, 'the', { ...options, seed: 7 });
    const again = await generateText(random, tokenizer, 'the', { ...options, seed: 7 });
    const other = await generateText(random, tokenizer, 'the', { ...options, seed: 8 });
    expect(again).toEqual(first);
    expect(other.text).not.toBe(first.text);
    // Without the cache the same draws are made.
    expect(
      await generateText(random, tokenizer, 'the', { ...options, seed: 7, useCache: false }),
    ).toEqual(first);
  });

  it('topK 1 and a tiny topP equal greedy', async () => {
    const greedy = await generateText(random, tokenizer, 'the', {
      temperature: 0,
      maxNewTokens: 12,
    });
    for (const options of [{ topK: 1 }, { topP: 1e-9 }]) {
      const sampled = await generateText(random, tokenizer, 'the', {
        ...options,
        temperature: 1,
        maxNewTokens: 12,
        seed: 3,
      });
      expect(sampled).toEqual(greedy);
    }
  });

  it('stop strings cut the text, also when one spans tokens or pieces', async () => {
    const options = { temperature: 0, maxNewTokens: 30 };
    const full = await generateText(trained, tokenizer, 'the c', options);
    expect(full.text).toMatch(/^at sat on the mat\. the cat/);
    // Each stop string spans several tokens; the text is cut where the first one begins.
    for (const stop of [['n t'], ['mat.'], ['never there', 'cat'], ['cat', 'mat'], ['at']]) {
      const { pieces, result } = await collect(trained, tokenizer, 'the c', { ...options, stop });
      const expected = full.text.slice(
        0,
        Math.min(...stop.map((s) => full.text.indexOf(s)).filter((at) => at >= 0)),
      );
      expect(result.text).toBe(expected);
      expect(result.stoppedBy).toBe('stop');
      expect(pieces.join('')).toBe(expected);
      expect(pieces.every((p) => p !== '')).toBe(true);
    }
    // A stop string whose beginning appears (held back) but never completes changes nothing.
    const held = await collect(trained, tokenizer, 'the c', {
      ...options,
      stop: [`${full.text.slice(0, 3)}#`],
    });
    expect(held.result).toEqual(full);
    expect(held.pieces.join('')).toBe(full.text);
  });

  it('stop tokens end generation, without the token', async () => {
    const options = { temperature: 0, maxNewTokens: 30 };
    const full = await generateText(trained, tokenizer, 'the c', options);
    const stopId = full.tokens[5]!;
    const at = full.tokens.indexOf(stopId);
    const { result, pieces } = await collect(trained, tokenizer, 'the c', {
      ...options,
      stopTokens: [stopId],
    });
    expect(result).toEqual({
      text: tokenizer.decode(full.tokens.slice(0, at)),
      tokens: full.tokens.slice(0, at),
      stoppedBy: 'stopToken',
    });
    expect(pieces.join('')).toBe(result.text);
  });

  it('streams pieces whose concatenation is the text', async () => {
    const { pieces, result } = await collect(random, tokenizer, 'the', {
      maxNewTokens: 20,
      seed: 1,
    });
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.every((p) => p !== '')).toBe(true);
    expect(pieces.join('')).toBe(result.text);
    expect(result.text).toBe(tokenizer.decode(result.tokens));
  });

  it('byte-level BPE: every piece is whole characters, never a split one', async () => {
    expect(bpe.encode('🐳').length).toBeGreaterThan(1);
    const { pieces, result } = await collect(bpeModel, bpe, 'café 🐳 ', {
      temperature: 0,
      maxNewTokens: 30,
    });
    expect(result.text).toContain('🐳');
    expect(result.text).toContain('é');
    // Some tokens are parts of a character: alone they decode to U+FFFD.
    expect(result.tokens.some((id) => bpe.decode([id]).includes('\uFFFD'))).toBe(true);
    for (const piece of pieces) {
      expect(piece).not.toContain('\uFFFD');
      expect(isWellFormed(piece)).toBe(true);
    }
    expect(pieces.join('')).toBe(result.text);
    expect(result.text).toBe(bpe.decode(result.tokens));
    // A multi-byte stop string is found across its tokens.
    const stopped = await collect(bpeModel, bpe, 'café 🐳 ', {
      temperature: 0,
      maxNewTokens: 30,
      stop: ['🐳'],
    });
    expect(stopped.result.text).toBe(result.text.slice(0, result.text.indexOf('🐳')));
    expect(stopped.pieces.join('')).toBe(stopped.result.text);
  });

  it('generates past max_seq_len with the cache, and from prompts longer than it', async () => {
    const long = await generateText(trained, tokenizer, 'the c', {
      temperature: 0,
      maxNewTokens: 3 * MAX_SEQ_LEN,
    });
    expect(long.tokens).toHaveLength(3 * MAX_SEQ_LEN);
    expect(long.stoppedBy).toBe('maxNewTokens');
    // Sliding the window keeps the learned text going.
    expect(TEXT.repeat(4)).toContain(long.text.slice(-20));
    const prompt = TEXT.slice(0, MAX_SEQ_LEN + 7);
    for (const useCache of [true, false]) {
      const sampled = await generateText(random, tokenizer, prompt, {
        maxNewTokens: MAX_SEQ_LEN + 4,
        seed: 2,
        useCache,
      });
      expect(sampled.tokens).toHaveLength(MAX_SEQ_LEN + 4);
    }
  });

  it('an AbortSignal stops generation, keeping what came so far', async () => {
    const controller = new AbortController();
    const iterator = generate(random, tokenizer, 'the', {
      maxNewTokens: 50,
      seed: 4,
      signal: controller.signal,
    });
    const pieces: string[] = [];
    let next = await iterator.next();
    for (; !next.done; next = await iterator.next()) {
      pieces.push(next.value);
      if (pieces.length === 3) controller.abort();
    }
    const result = next.value;
    expect(result.stoppedBy).toBe('abort');
    expect(result.tokens).toHaveLength(3);
    expect(pieces.join('')).toBe(result.text);
    const aborted = await generateText(random, tokenizer, 'the', {
      signal: AbortSignal.abort(),
    });
    expect(aborted).toEqual({ text: '', tokens: [], stoppedBy: 'abort' });
  });

  it('maxNewTokens 0 generates nothing', async () => {
    expect(await generateText(random, tokenizer, 'the', { maxNewTokens: 0 })).toEqual({
      text: '',
      tokens: [],
      stoppedBy: 'maxNewTokens',
    });
  });

  it('an empty prompt starts from <|endoftext|>, or is an error naming the fix', async () => {
    const { tokens } = await generateText(trained, tokenizer, '', { maxNewTokens: 5, seed: 1 });
    expect(tokens).toHaveLength(5);
    expect(() => generate(trained, plain, '')).toThrow(
      'generate: the prompt is empty and the tokenizer has no special token to start from; pass a non-empty prompt.',
    );
    await expect(generateText(trained, plain, '')).rejects.toThrow('pass a non-empty prompt');
  });

  it("characters outside a char tokenizer's vocabulary are the tokenizer's error", () => {
    expect(() => generate(trained, tokenizer, 'the fox')).toThrow(TokenizerError);
    expect(() => generate(trained, tokenizer, 'the fox')).toThrow(
      'character "f" (U+0066) at index 4 is not in the vocabulary',
    );
  });

  it('works when the model vocabulary is larger than the tokenizer (padded)', async () => {
    // `plain` lacks <|endoftext|>, the model's last id: it must never be sampled.
    const { tokens } = await generateText(random, plain, 'the', { maxNewTokens: 40, seed: 9 });
    expect(tokens.every((id) => id < plain.vocabSize)).toBe(true);
  });

  it('bad options throw RangeErrors naming the option and value', () => {
    const cases: [SampleOptions, string][] = [
      [{ temperature: -1 }, 'temperature = -1 must be a finite number ≥ 0 (0 means greedy).'],
      [{ topK: -1 }, 'topK = -1 must be an integer ≥ 0 (0 keeps every token).'],
      [{ topK: 2.5 }, 'topK = 2.5 must be an integer ≥ 0 (0 keeps every token).'],
      [{ topP: 0 }, 'topP = 0 must be in (0, 1] (1 keeps every token).'],
      [{ topP: 1.5 }, 'topP = 1.5 must be in (0, 1] (1 keeps every token).'],
      [
        { repetitionPenalty: 0 },
        'repetitionPenalty = 0 must be a finite number > 0 (1 means no penalty).',
      ],
      [
        { maxNewTokens: -1 },
        'maxNewTokens = -1 must be an integer in [0, 4194304]; for longer texts, generate again from the end of the last one.',
      ],
      [
        { maxNewTokens: 1.5 },
        'maxNewTokens = 1.5 must be an integer in [0, 4194304]; for longer texts, generate again from the end of the last one.',
      ],
      [{ stop: [''] }, 'stop[0] = "" must be a non-empty, well-formed string.'],
      [
        { stopTokens: [999] },
        `stopTokens[0] = 999 is not a token id of this tokenizer (0..${tokenizer.vocabSize - 1}).`,
      ],
    ];
    for (const [options, message] of cases) {
      expect(() => generate(trained, tokenizer, 'the', options)).toThrow(new RangeError(message));
    }
    const big = trainCharTokenizer(`${TEXT}xyz`);
    expect(() => generate(trained, big, 'the')).toThrow(
      `the tokenizer has ${big.vocabSize} tokens but the model only ${tokenizer.vocabSize}`,
    );
  });

  it('leaks no tensors, whether generation ends, stops, is aborted or is abandoned', async () => {
    const before = tf.memory().numTensors;
    const runs: SampleOptions[] = [
      { maxNewTokens: 2 * MAX_SEQ_LEN, seed: 1 },
      { maxNewTokens: 8, seed: 1, useCache: false },
      { maxNewTokens: 8, temperature: 0, stop: ['t'] },
      { maxNewTokens: 8, signal: AbortSignal.abort() },
    ];
    for (const options of runs) await generateText(random, tokenizer, 'the', options);
    expect(tf.memory().numTensors).toBe(before);
    // Breaking out of the loop frees the decoder's cache.
    for await (const piece of generate(random, tokenizer, 'the', { seed: 2 })) {
      expect(piece).not.toBe('');
      break;
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
