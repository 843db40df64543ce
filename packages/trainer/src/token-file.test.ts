import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrimerModel } from '@primer-ez/primer-layers';
import { describeEachBackend } from '@primer-ez/test-utils';
import { readMobyDick } from '@primer-ez/test-utils/corpus';
import { trainByteLevelBpe, trainCharTokenizer } from '@primer-ez/tokenizer';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { splitTokens } from './data.js';
import { evaluate } from './evaluate.js';
import { prepareTokenDataset } from './prepare-tokens.js';
import { TextStream } from './text-stream.js';
import { FileTokenSource, openTokenDataset } from './token-file.js';
import { Trainer } from './trainer.js';

const scratch = mkdtempSync(join(tmpdir(), 'token-file-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let serial = 0;
const fresh = (name: string) => join(scratch, `${name}-${serial++}`);
function file(name: string, content: string | Buffer): string {
  const path = fresh(name);
  writeFileSync(path, content);
  return path;
}
/** The ids of a dataset: train.bin then val.bin, as numbers. */
function readIds(dir: string, dtype: 'uint16' | 'uint32'): number[] {
  const ids = (name: string) => {
    const b = readFileSync(join(dir, name));
    return Array.from(
      { length: b.length / (dtype === 'uint16' ? 2 : 4) },
      (_, i) => (dtype === 'uint16' ? b.readUInt16LE(2 * i) : b.readUInt32LE(4 * i)) as number,
    );
  };
  return [...ids('train.bin'), ...ids('val.bin')];
}

// Text that is hard to cut: runs of spaces and newlines, CRLF, contractions, multi-byte and
// astral characters, a special token, punctuation runs, digits.
const tricky = [
  '\uFEFFCall me Ishmael.  Some years ago—never mind how long precisely—having little money,\r\n',
  "\n\nit's   I'll   you're    42 3.14159 ∑ καλημέρα 日本語のテキスト 🐳🐋 emoji\t\ttabs\n",
  ' <|endoftext|> after   the  token\n\n\n   indented\u00a0nbsp\u2003em space',
].join('');
const moby = readMobyDick().slice(30_000, 60_000);

describe('prepareTokenDataset: streaming gives the ids of the whole text', () => {
  const a = file('a.txt', tricky);
  const b = file('b.txt', moby);
  const c = file('c.txt', `${tricky}\n${tricky}`);
  const paths = [a, b, c];
  // As readTextFiles: each file's leading byte-order mark dropped, the files joined with '\n'.
  const whole = [tricky, moby, `${tricky}\n${tricky}`]
    .map((t) => t.replace(/^\uFEFF/, ''))
    .join('\n');

  it.each([7, 16, 64, 4096])('char tokenizer, chunks of %i bytes', async (chunkBytes) => {
    const out = fresh('char');
    const { meta, tokenizer } = await prepareTokenDataset(out, {
      paths,
      tokenizer: { kind: 'char' },
      chunkBytes,
    });
    const reference = trainCharTokenizer(whole);
    expect(JSON.stringify(tokenizer)).toBe(JSON.stringify(reference));
    expect(readFileSync(join(out, 'tokenizer.json'), 'utf8')).toBe(JSON.stringify(reference));
    const ids = reference.encode(whole);
    expect(readIds(out, 'uint16')).toEqual(ids);
    const split = splitTokens(ids);
    expect([meta.train_tokens, meta.val_tokens]).toEqual([
      split.train.length,
      split.validation.length,
    ]);
  });

  it.each([7, 64, 4096])(
    'BPE tokenizer with a special token, chunks of %i bytes',
    async (chunkBytes) => {
      const out = fresh('bpe');
      const options = { vocabSize: 400, specialTokens: ['<|endoftext|>'] };
      const { tokenizer } = await prepareTokenDataset(out, {
        paths,
        tokenizer: { kind: 'bpe', ...options },
        chunkBytes,
      });
      const reference = trainByteLevelBpe(whole, options);
      expect(JSON.stringify(tokenizer)).toBe(JSON.stringify(reference));
      expect(readIds(out, 'uint16')).toEqual(reference.encode(whole));
    },
  );

  it('never cuts inside a special token that contains whitespace', async () => {
    const special = '<end of text>';
    const text = `alpha beta${special}gamma ${special} delta`.repeat(50);
    const tokenizer = trainCharTokenizer(text, { specialTokens: [special] });
    const out = fresh('special');
    await prepareTokenDataset(out, { paths: [file('s.txt', text)], tokenizer, chunkBytes: 5 });
    expect(readIds(out, 'uint16')).toEqual(tokenizer.encode(text));
  });
});

describe('the token dataset format', () => {
  it('writes meta.json, tokenizer.json and little-endian uint16 ids split as splitTokens', async () => {
    const text = 'abcab\ncab'.repeat(10);
    const path = file('abc.txt', text);
    const out = fresh('format');
    await prepareTokenDataset(out, { paths: [path], tokenizer: { kind: 'char' } });
    expect(readdirSync(out).sort()).toEqual([
      'meta.json',
      'tokenizer.json',
      'train.bin',
      'val.bin',
    ]);
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
    expect(meta).toEqual({
      format: 'primer-ez-tokens',
      version: 1,
      dtype: 'uint16',
      vocab_size: 4,
      train_tokens: 81,
      val_tokens: 9,
      validation_fraction: 0.1,
      sources: [
        {
          path,
          bytes: 90,
          sha256: createHash('sha256').update(text).digest('hex'),
        },
      ],
      tokenizer: 'tokenizer.json',
    });
    // '\n' = 0, a = 1, b = 2, c = 3; the last 9 tokens validate.
    expect([...readFileSync(join(out, 'val.bin'))]).toEqual([
      1, 0, 2, 0, 3, 0, 1, 0, 2, 0, 0, 0, 3, 0, 1, 0, 2, 0,
    ]);
    expect(readFileSync(join(out, 'train.bin')).subarray(0, 6)).toEqual(
      Buffer.from([1, 0, 2, 0, 3, 0]),
    );
  });

  it('switches to uint32 when the vocabulary passes 65,536 tokens', async () => {
    // 70,000 distinct characters from U+20000 on (CJK Extension B and beyond).
    const chars = Array.from({ length: 70_000 }, (_, i) => String.fromCodePoint(0x20000 + i));
    const text = chars.join('');
    const out = fresh('wide');
    const { meta, tokenizer } = await prepareTokenDataset(out, {
      paths: [file('wide.txt', text)],
      tokenizer: { kind: 'char' },
    });
    expect(tokenizer.vocabSize).toBe(70_000);
    expect(meta.dtype).toBe('uint32');
    const ids = readIds(out, 'uint32');
    expect(ids).toEqual(tokenizer.encode(text));
    expect(ids.at(-1)).toBe(69_999);
    const data = await openTokenDataset(out);
    expect(Array.from(data.split.validation.subarray(6999, 7001))).toEqual([69_999]);
    data.close();
  });

  it('refuses a non-empty directory unless forced, and replaces it whole with force', async () => {
    const path = file('t.txt', moby.slice(0, 2000));
    const out = fresh('full');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'precious');
    await expect(
      prepareTokenDataset(out, { paths: [path], tokenizer: { kind: 'char' } }),
    ).rejects.toThrow(/is not empty; choose another directory or add --force/);
    expect(readdirSync(out)).toEqual(['keep.txt']);
    await prepareTokenDataset(out, { paths: [path], tokenizer: { kind: 'char' }, force: true });
    expect(readdirSync(out).sort()).toEqual([
      'meta.json',
      'tokenizer.json',
      'train.bin',
      'val.bin',
    ]);
    expect(readdirSync(scratch).filter((n) => n.includes('.tmp-') || n.includes('.old-'))).toEqual(
      [],
    );
  });

  it('clears what a killed prepare left behind, and nothing of a live one', async () => {
    const parent = fresh('leftovers');
    mkdirSync(parent);
    const dead = spawnSync('true').pid as number; // a process that has exited
    const names = [
      `.out.tmp-${dead}-ab12`,
      `.out.old-${dead}-cd34`,
      `.out.tmp-${process.pid}-ef56`,
    ];
    for (const name of names) mkdirSync(join(parent, name));
    const path = file('l.txt', moby.slice(0, 2000));
    await prepareTokenDataset(join(parent, 'out'), { paths: [path], tokenizer: { kind: 'char' } });
    expect(readdirSync(parent).sort()).toEqual([names[2], 'out']);
  });

  it('names the file and the fix for bad input, leaving nothing behind', async () => {
    const latin1 = file(
      'latin1.txt',
      Buffer.concat([Buffer.from('x'.repeat(5000)), Buffer.from('caf\u00e9', 'latin1')]),
    );
    const split = file(
      'split.txt',
      Buffer.concat([Buffer.from('ab'), Buffer.from('€'), Buffer.from([0xe2, 0x82])]),
    );
    const fifo = fresh('fifo');
    const hasFifo = spawnSync('mkfifo', [fifo]).status === 0;
    const cases: [string, RegExp][] = [
      [join(scratch, 'missing.txt'), /missing.txt: no such file; check the path/],
      [file('empty.txt', ''), /empty.txt-\d+: the file is empty/],
      [file('nul.txt', Buffer.from([0x61, 0, 0x62])), /looks binary \(it contains NUL bytes\)/],
      [latin1, /not UTF-8 text \(the bytes from offset 5003, 0xe9…/],
      [split, /not UTF-8 text \(the bytes from offset 5, 0xe2…/],
      [file('blank.txt', ' \n\t\n'), /holds only whitespace/],
      [scratch, /: not a file/],
    ];
    if (hasFifo) cases.push([fifo, /fifo-\d+: not a file/]);
    else console.log('mkfifo is missing: the FIFO case is not tried');
    for (const [path, message] of cases) {
      const out = fresh('bad');
      await expect(
        prepareTokenDataset(out, { paths: [path], tokenizer: { kind: 'char' }, chunkBytes: 1024 }),
      ).rejects.toThrow(message);
      expect(readdirSync(scratch).filter((n) => n.startsWith(`.bad`))).toEqual([]);
    }
    await expect(
      prepareTokenDataset(fresh('few'), {
        paths: [file('few.txt', 'a')],
        tokenizer: { kind: 'char' },
      }),
    ).rejects.toThrow(/the text makes 1 tokens, too few to hold out a validation fraction of 0.1/);
    const tokenizer = trainCharTokenizer('abc ');
    await expect(
      prepareTokenDataset(fresh('unknown'), { paths: [file('u.txt', 'abc xyz')], tokenizer }),
    ).rejects.toThrow(/cannot be encoded with this tokenizer: .*"x"/);
  });

  it('reads windows from disk, and reports a damaged file by name', async () => {
    const path = file('ids.bin', Buffer.from(Uint16Array.from([5, 6, 7, 8, 9]).buffer));
    const source = new FileTokenSource(path, 'uint16', 10);
    expect(source.length).toBe(5);
    expect(Array.from(source.subarray(1, 3))).toEqual([6, 7]);
    expect(Array.from(source.subarray(3, 99))).toEqual([8, 9]);
    expect(Array.from(source.subarray(-2, 5))).toEqual([8, 9]);
    source.close();
    expect(() => new FileTokenSource(path, 'uint16', 10, 6)).toThrow(
      /holds 10 bytes but should hold 6 uint16 ids \(12 bytes\)/,
    );
    const narrow = new FileTokenSource(path, 'uint16', 8);
    expect(() => narrow.subarray(0, 5)).toThrow(/token 3 is 8, outside the vocabulary \[0, 8\)/);
    narrow.close();
  });
});

describe('TextStream', () => {
  it('hashes each file as it reads it', async () => {
    const a = file('h.txt', moby);
    const stream = new TextStream([a, a], { chunkBytes: 1000 });
    let text = '';
    for await (const piece of stream.pieces()) text += piece;
    expect(text).toBe(`${moby}\n${moby}`);
    const sha256 = createHash('sha256').update(moby).digest('hex');
    expect(stream.sources.map((s) => s.sha256)).toEqual([sha256, sha256]);
  });
});

describeEachBackend('training from a token dataset', () => {
  it('gives the same losses as the same tokens in memory', async () => {
    const path = file('moby.txt', moby);
    const out = fresh('train');
    const { tokenizer } = await prepareTokenDataset(out, {
      paths: [path],
      tokenizer: { kind: 'char' },
    });
    const config = {
      vocab_size: tokenizer.vocabSize,
      d_model: 16,
      n_heads: 2,
      n_layers: 1,
      d_ff: 32,
      max_seq_len: 16,
    };
    const options = { batchSize: 4, warmup: 2, totalSteps: 4, evalWindows: 8 };
    const losses = async (data: ConstructorParameters<typeof Trainer>[1]) => {
      const model = PrimerModel.create(config, { seed: 3 });
      const trainer = new Trainer(model, data, options);
      const result: number[] = [];
      for (let i = 0; i < 4; i++) result.push((await trainer.trainStep()).loss);
      result.push((await trainer.validate()).loss);
      result.push((await evaluate(model, data.validation, { batchSize: 3 })).loss);
      trainer.dispose();
      model.dispose();
      return result;
    };
    const before = tf.memory().numTensors;
    const inMemory = await losses(splitTokens(tokenizer.encode(moby)));
    const dataset = await openTokenDataset(out);
    const fromFile = await losses(dataset.split);
    dataset.close();
    expect(fromFile).toEqual(inMemory);
    expect(inMemory.every(Number.isFinite)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
