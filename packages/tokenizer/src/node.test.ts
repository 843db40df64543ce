import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainByteLevelBpe } from './bpe-trainer.js';
import { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import { CharTokenizer, trainCharTokenizer } from './char-tokenizer.js';
import { TokenizerJsonError } from './errors.js';
import { loadTokenizer, saveTokenizer, saveTokenizerFiles, writeFileAtomic } from './node.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'primer-ez-tokenizer-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Node file helpers', () => {
  it('save and load both kinds of tokenizer', async () => {
    const bpe = trainByteLevelBpe('the cat sat on the mat', {
      vocabSize: 270,
      specialTokens: ['<|endoftext|>'],
    });
    const chars = trainCharTokenizer('the cat', { unkToken: '<unk>' });
    await saveTokenizer(bpe, join(dir, 'bpe.json'));
    await saveTokenizer(chars, join(dir, 'chars.json'));
    const bpeBack = await loadTokenizer(join(dir, 'bpe.json'));
    const charsBack = await loadTokenizer(join(dir, 'chars.json'));
    expect(bpeBack).toBeInstanceOf(ByteLevelBpeTokenizer);
    expect(charsBack).toBeInstanceOf(CharTokenizer);
    expect(bpeBack.encode('the mat<|endoftext|>')).toEqual(bpe.encode('the mat<|endoftext|>'));
    expect(charsBack.encode('tac!')).toEqual(chars.encode('tac!'));
    expect(JSON.parse(await readFile(join(dir, 'bpe.json'), 'utf8'))).toEqual(
      JSON.parse(JSON.stringify(bpe.toTokenizerJson())),
    );
  });

  it('save tokenizer.json and tokenizer_config.json into a directory and load it back', async () => {
    const sub = await mkdtemp(join(dir, 'files-'));
    const tok = trainCharTokenizer('abc');
    const paths = await saveTokenizerFiles(tok, sub);
    expect(paths.tokenizerJson).toBe(join(sub, 'tokenizer.json'));
    expect(JSON.parse(await readFile(paths.tokenizerConfig, 'utf8'))).toEqual(
      tok.toTokenizerConfig(),
    );
    expect((await loadTokenizer(sub)).encode('cab')).toEqual([2, 0, 1]);
    expect((await readdir(sub)).sort()).toEqual(['tokenizer.json', 'tokenizer_config.json']);
  });

  it('replace files atomically and leave no temporary files behind', async () => {
    const path = join(dir, 'atomic.json');
    await writeFileAtomic(path, 'old');
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    await expect(writeFileAtomic(join(dir, 'missing-dir', 'x.json'), 'data')).rejects.toThrow(
      /ENOENT/,
    );
    // Renaming onto a directory fails; the temporary file must be cleaned up.
    const sub = await mkdtemp(join(dir, 'busy-'));
    await writeFile(join(sub, 'keep.txt'), 'x');
    await expect(writeFileAtomic(sub, 'data')).rejects.toThrow();
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('name the file in errors', async () => {
    await expect(loadTokenizer(join(dir, 'nope.json'))).rejects.toThrow(
      /cannot read tokenizer file ".*nope\.json"/,
    );
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{"model": {"type": "BPE"}}');
    const error = await loadTokenizer(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenizerJsonError);
    expect((error as Error).message).toMatch(/bad\.json: Invalid tokenizer\.json/);
  });
});
