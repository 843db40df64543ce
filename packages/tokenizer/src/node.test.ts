import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trainByteLevelBpe } from './bpe-trainer.js';
import { ByteLevelBpeTokenizer } from './byte-level-bpe.js';
import { CharTokenizer, trainCharTokenizer } from './char-tokenizer.js';
import { TokenizerError, TokenizerJsonError } from './errors.js';
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

  it('refuses files that are not UTF-8, naming the byte; accepts a UTF-8 byte order mark', async () => {
    const tok = trainCharTokenizer('héllo');
    const text = JSON.stringify(tok);
    const latin1 = join(dir, 'latin1.json');
    await writeFile(latin1, Buffer.from(text, 'latin1'));
    const at = Buffer.from(text.slice(0, text.indexOf('é')), 'utf8').length;
    const error = await loadTokenizer(latin1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenizerJsonError);
    expect((error as Error).message).toBe(
      `${latin1}: Invalid tokenizer.json: not UTF-8 text at byte ${at} (0xE9); save the file as UTF-8`,
    );
    const utf16 = join(dir, 'utf16.json');
    await writeFile(utf16, Buffer.concat([Buffer.of(0xff, 0xfe), Buffer.from(text, 'utf16le')]));
    await expect(loadTokenizer(utf16)).rejects.toThrow(
      'not UTF-8 text at byte 0 (0xFF); the file starts with a UTF-16 byte order mark',
    );
    const bom = join(dir, 'bom.json');
    await writeFile(bom, `\ufeff${text}`);
    expect((await loadTokenizer(bom)).encode('hé')).toEqual(tok.encode('hé'));
  });

  it('checks the size before reading, so a huge file is refused without reading it', async () => {
    const huge = join(dir, 'huge.json');
    await writeFile(huge, '{');
    await truncate(huge, 200 * 1024 * 1024); // sparse: takes no disk space
    await expect(loadTokenizer(huge)).rejects.toThrow(
      `"${huge}" is 209715200 bytes, more than the limit of 134217728; if the file is genuine, raise the limit with the maxBytes option`,
    );
    const small = join(dir, 'small.json');
    await saveTokenizer(trainCharTokenizer('abc'), small);
    await expect(loadTokenizer(small, { maxBytes: 10 })).rejects.toThrow(
      /more than the limit of 10;/,
    );
  });

  it('refuses paths that are not regular files (devices, pipes, directories)', async () => {
    await expect(loadTokenizer('/dev/zero')).rejects.toThrow(
      '"/dev/zero" is not a regular file; give the path of a tokenizer.json file or of its directory',
    );
    const nested = join(dir, 'nested');
    await mkdir(join(nested, 'tokenizer.json'), { recursive: true });
    await expect(loadTokenizer(nested)).rejects.toThrow(/tokenizer\.json" is not a regular file/);
    const fifo = join(dir, 'fifo.json');
    try {
      execFileSync('mkfifo', [fifo]);
    } catch {
      return; // no mkfifo here (e.g. Windows)
    }
    expect(existsSync(fifo)).toBe(true);
    // Opening a pipe would wait for a writer; it is refused straight away instead.
    await expect(loadTokenizer(fifo)).rejects.toThrow('is not a regular file');
    await expect(loadTokenizer('' as string)).rejects.toThrow(
      'loadTokenizer() expects a file or directory path, got the string ""',
    );
  });

  it('verifies a pinned SHA-256, catching a change that still makes a valid tokenizer', async () => {
    const path = join(dir, 'pinned.json');
    const tok = trainCharTokenizer('the cat');
    await saveTokenizer(tok, path);
    const digest = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    expect((await loadTokenizer(path, { sha256: digest.toUpperCase() })).encode('cat')).toEqual(
      tok.encode('cat'),
    );
    // Swap the vocabulary character "a" for "q": still a valid character tokenizer.
    const text = await readFile(path, 'utf8');
    await writeFile(path, text.replace('"a":', '"q":'));
    const swapped = await loadTokenizer(path);
    expect(swapped.tokenToId('q')).toBe(tok.tokenToId('a'));
    const error = await loadTokenizer(path, { sha256: digest }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TokenizerError);
    expect((error as Error).message).toMatch(
      new RegExp(`its SHA-256 is [0-9a-f]{64}, not the expected ${digest}; the file changed`),
    );
    await expect(loadTokenizer(path, { sha256: 'abc' })).rejects.toThrow(
      'sha256 must be 64 hexadecimal digits',
    );
  });
});
