/**
 * Tokens named like `Object.prototype` members (`__proto__`, `constructor`, `toString`, …) are
 * ordinary tokens: GPT-2's vocabulary has "constructor", and any text may contain them. They must
 * load, encode, decode and round-trip through `tokenizer.json` like any other token, and never be
 * confused with what a plain object inherits.
 */
import { describe, expect, it } from 'vitest';
import { trainByteLevelBpe } from './bpe-trainer.js';
import { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import { trainCharTokenizer } from './char-tokenizer.js';
import { loadTokenizerJson } from './load.js';

const NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

describe('tokens named like Object.prototype members', () => {
  it('are learned, encoded and decoded by byte-level BPE, and survive tokenizer.json', () => {
    // At the start of a line these words are whole pre-tokens, so BPE learns them as tokens.
    const text = `${NAMES.join('\n')}\n`.repeat(40);
    const tok = trainByteLevelBpe(text, { vocabSize: 400, specialTokens: ['__proto__'] });
    for (const name of ['constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']) {
      const id = tok.tokenToId(name);
      expect(id, name).toBeTypeOf('number');
      expect(tok.idToToken(id as number)).toBe(name);
      expect(tok.encode(name)).toEqual([id]);
    }
    // `__proto__` here is a special token: matched verbatim, one id.
    const special = tok.tokenToId('__proto__') as number;
    expect(tok.encode('a__proto__b')).toContain(special);
    expect(tok.encode('__proto__', { allowSpecial: false })).not.toContain(special);

    const text2 = 'x constructor __proto__ toString\nhasOwnProperty';
    const back = loadTokenizerJson(JSON.stringify(tok));
    expect(back.encode(text2)).toEqual(tok.encode(text2));
    expect(back.decode(back.encode(text2))).toBe(text2);
    expect(JSON.stringify(back)).toBe(JSON.stringify(tok));
    // Inherited members are not tokens.
    expect(tok.tokenToId('__defineGetter__')).toBeUndefined();
    expect(tok.tokenToId('isPrototypeOf')).toBeUndefined();
    expect(back.idToToken('constructor' as unknown as number)).toBeUndefined();
    expect(back.idToToken('length' as unknown as number)).toBeUndefined();
  });

  it('load "__proto__" as an ordinary vocabulary entry from tokenizer.json text', () => {
    // Add "__proto" and "__proto__" to a trained vocabulary, made by merges like any other token.
    const tok = trainByteLevelBpe('__\nproto\n'.repeat(30), { vocabSize: 300 });
    expect(tok.tokenToId('__')).toBeTypeOf('number');
    expect(tok.tokenToId('proto')).toBeTypeOf('number');
    const id = tok.vocabSize + 1;
    const text = JSON.stringify(tok)
      .replace('"vocab":{', `"vocab":{"__proto__":${id},"__proto":${id - 1},`)
      .replace(/"merges":\[(.*?)\]/, '"merges":[$1,"__ proto","__proto __"]');
    const back = ByteLevelBpeTokenizer.fromTokenizerJson(text);
    expect(back.vocabSize).toBe(tok.vocabSize + 2);
    expect(back.mergeCount).toBe(tok.mergeCount + 2);
    expect(back.tokenToId('__proto__')).toBe(id);
    expect(back.idToToken(id)).toBe('__proto__');
    expect(back.decode([id, id])).toBe('__proto____proto__');
    // Written back, it is an own key of the vocabulary and loads again.
    const written = JSON.stringify(back);
    expect(written).toContain(`"__proto__":${id}`);
    expect(loadTokenizerJson(written).tokenToId('__proto__')).toBe(id);
    expect(Object.hasOwn(back.toTokenizerJson().model.vocab, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('work as special tokens of a character tokenizer', () => {
    const tok = trainCharTokenizer('abc ', { specialTokens: NAMES, unkToken: 'toString' });
    const text = 'a__proto__b constructor c';
    const ids = tok.encode(text);
    expect(ids).toContain(tok.tokenToId('__proto__'));
    expect(ids).toContain(tok.tokenToId('constructor'));
    expect(tok.decode(ids)).toBe(text);
    expect(tok.encode('z')).toEqual([tok.tokenToId('toString')]);
    const back = loadTokenizerJson(JSON.stringify(tok));
    expect(back.encode(text)).toEqual(ids);
    expect(back.encode('z')).toEqual(tok.encode('z'));
    expect(back.tokenToId('hasOwnProperty')).toBe(tok.tokenToId('hasOwnProperty'));
    expect(back.tokenToId('propertyIsEnumerable')).toBeUndefined();
  });
});
