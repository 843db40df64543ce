// `primer-ez data prepare`, `train --data` and the streaming `--text` path, run as a user runs
// them: real processes, real files.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { readMobyDick } from '@primer-ez/test-utils/corpus';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, scratch } from './process.js';

const dir = scratch('primer-ez-data-');
const text = join(dir, 'moby.txt');
const latin1 = join(dir, 'latin1.txt');
const dataset = join(dir, 'dataset');
const fromText = join(dir, 'from-text');
const fromData = join(dir, 'from-data');

/** Prints the process's peak RSS (KiB) on stderr as it exits. */
const PEAK_RSS =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("peak-rss-kib "+process.resourceUsage().maxRSS+"\\n"))';

function cli(...args: string[]) {
  return cliWith([], ...args);
}
function cliWith(nodeFlags: string[], ...args: string[]) {
  const r = runCli(args, {
    cwd: dir,
    timeout: 170_000,
    nodeFlags: [...nodeFlags, '--import', PEAK_RSS],
  });
  const rss = Number(/peak-rss-kib (\d+)/.exec(r.stderr)?.[1]);
  return { ...r, rssMiB: rss / 1024 };
}
const tiny = ['--preset', 'tiny', '--batch-size', '8', '--backend', 'wasm', '--sample-length', '0'];
const steps = ['--steps', '3', '--eval-every', '3', '--eval-windows', '1000', '--seed', '4'];
/** step → [training loss, validation loss] of a run's metrics.jsonl. */
function losses(run: string): unknown[] {
  return readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map((l) => [l.step, l.loss ?? null, l.val_loss ?? null]);
}

beforeAll(() => {
  writeFileSync(text, readMobyDick().slice(0, 60_000));
  writeFileSync(latin1, Buffer.from('caf\u00e9 au lait', 'latin1'));
  const prepared = cli('data', 'prepare', '--text', text, '--out', dataset);
  expect(prepared.stderr).not.toMatch(/unexpected error/);
  expect(prepared.code).toBe(0);
  for (const [args, out] of [
    [['--text', text], fromText],
    [['--data', dataset], fromData],
  ] as const) {
    const r = cli('train', ...args, ...tiny, ...steps, '--out', out);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(0);
  }
});

describe('primer-ez data prepare', () => {
  it('writes meta.json, tokenizer.json and uint16 train.bin / val.bin split as train splits', () => {
    const meta = JSON.parse(readFileSync(join(dataset, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({
      format: 'primer-ez-tokens',
      version: 1,
      dtype: 'uint16',
      train_tokens: 54_000, // a character tokenizer: one token per character, 90% trains
      val_tokens: 6_000,
      validation_fraction: 0.1,
      tokenizer: 'tokenizer.json',
    });
    expect(meta.sources).toEqual([
      {
        path: text,
        bytes: statSync(text).size,
        sha256: createHash('sha256').update(readFileSync(text)).digest('hex'),
      },
    ]);
    expect(statSync(join(dataset, 'train.bin')).size).toBe(2 * 54_000);
    expect(statSync(join(dataset, 'val.bin')).size).toBe(2 * 6_000);
    const tokenizer = JSON.parse(readFileSync(join(dataset, 'tokenizer.json'), 'utf8'));
    expect(Object.keys(tokenizer.model.vocab)).toHaveLength(meta.vocab_size);
    // The first token of val.bin is the character at offset 54,000 of the text.
    const first = readFileSync(join(dataset, 'val.bin')).readUInt16LE(0);
    expect(tokenizer.model.vocab[readFileSync(text, 'utf8')[54_000] as string]).toBe(first);
  });

  it('train --data gives the same losses as train --text on the same text, step for step', () => {
    const a = losses(fromText);
    expect(a).toHaveLength(4);
    expect(losses(fromData)).toEqual(a);
    // train --text tokenized the text into the run directory, in the same format.
    const runMeta = JSON.parse(readFileSync(join(fromText, 'data', 'meta.json'), 'utf8'));
    const meta = JSON.parse(readFileSync(join(dataset, 'meta.json'), 'utf8'));
    expect(runMeta).toEqual(meta);
    expect(readFileSync(join(fromText, 'data', 'train.bin'))).toEqual(
      readFileSync(join(dataset, 'train.bin')),
    );
  });

  it('eval --text (streamed) scores the validation text as training validated it', () => {
    const validation = join(dir, 'validation.txt');
    writeFileSync(validation, readFileSync(text, 'utf8').slice(54_000));
    const r = cli('eval', '--checkpoint', fromData, '--text', validation, '--json');
    expect(r.code).toBe(0);
    const valLoss = (losses(fromData).at(-1) as number[])[2] as number;
    expect(JSON.parse(r.stdout).loss).toBeCloseTo(valLoss, 6);
  });

  it('resumes on the run’s own tokens, or reuses them for the same --text', () => {
    const again = cli('train', '--resume', '--out', fromText, '--steps', '4', ...tiny.slice(4));
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/data: the run's own tokens in .*from-text\/data/);
    const same = cli(
      'train',
      '--resume',
      '--out',
      fromText,
      '--text',
      text,
      '--steps',
      '5',
      ...tiny.slice(4),
    );
    expect(same.code).toBe(0);
    expect(same.stderr).toMatch(/reusing the tokens in .*from-text\/data \(same files/);
    expect(losses(fromText).map((l) => (l as number[])[0])).toEqual([1, 2, 3, 3, 4, 4, 5, 5]);
  });

  it('keeps memory bounded by the model, not the corpus, and shows progress', () => {
    // Two generated corpora, 3 MB and 27 MB: held in memory, the larger would need at least
    // 14 bytes more per extra byte (the string, the file buffer, number[] and Int32Array ids), far
    // beyond a 48 MiB JavaScript heap. The small heap also makes the collector free each chunk's
    // garbage at once, so the peak RSS measures what is live.
    const line = 'the whale and the white ship of ahab sailed the sea to a harpoon\n';
    const corpus = (name: string, bytes: number) => {
      const path = join(dir, name);
      const fd = openSync(path, 'w');
      const block = line.repeat(16_384);
      for (let n = 0; n < bytes; n += block.length) writeSync(fd, block);
      closeSync(fd);
      return path;
    };
    const small = corpus('small.txt', 3e6);
    const large = corpus('large.txt', 27e6);
    const run = (path: string, out: string) =>
      cliWith(
        ['--max-old-space-size=48'],
        'train',
        '--text',
        path,
        ...tiny,
        '--steps',
        '1',
        '--eval-windows',
        '2',
        // One thread: a replica thread's memory depends on when it starts, not on the corpus.
        '--workers',
        '1',
        '--out',
        out,
      );
    const a = run(small, join(dir, 'small-run'));
    const b = run(large, join(dir, 'large-run'));
    expect([a.code, b.code]).toEqual([0, 0]);
    const extraMiB = (statSync(large).size - statSync(small).size) / 2 ** 20;
    expect(b.rssMiB - a.rssMiB).toBeLessThan(extraMiB / 2);
    expect(b.stderr).toMatch(/tokenizing: .* of 2\d\.\d MB \(100%\)/);
    expect(a.stderr).not.toMatch(/tokenizing:/);
  });
});

describe('bad input: one clear line, exit code ≠ 0, nothing written', () => {
  it.each([
    [['data', 'prepare', '--out', 'NEW'], /data prepare: --text FILE is required/],
    [['data', 'prepare', '--text', 'TEXT'], /data prepare: --out DIR is required/],
    [
      ['data', 'prepare', '--text', 'TEXT', '--out', 'FULL'],
      /is not empty; choose another directory or add --force/,
    ],
    [
      ['data', 'prepare', '--text', 'LATIN1', '--out', 'NEW'],
      /--text .*latin1.txt: not UTF-8 text \(the bytes from offset 3, 0xe9…, are not a well-formed UTF-8 character\)/,
    ],
    [
      ['data', 'prepare', '--text', 'missing.txt', '--out', 'NEW'],
      /--text missing.txt: no such file/,
    ],
    [
      ['data', 'prepare', '--text', 'TEXT', '--out', 'NEW', '--validation-fraction', '1'],
      /--validation-fraction 1 must be between 0 and 1/,
    ],
    [['data', 'frobnicate'], /data: expected 'prepare', got "frobnicate"/],
    [
      ['train', '--data', 'DATA', '--text', 'TEXT'],
      /train: --data and --text both name the training data/,
    ],
    [['train', '--data', 'nowhere'], /--data nowhere: .*no meta.json: it is not a token dataset/],
    [
      ['train', '--data', 'TRUNCATED', '--preset', 'tiny'],
      /train.bin holds 100 bytes but should hold 54000 uint16 ids/,
    ],
    [['eval', '--checkpoint', 'RUN', '--text', 'LATIN1'], /--text .*latin1.txt: not UTF-8 text/],
  ])('%j', (args, message) => {
    const full = join(dir, 'full');
    mkdirSync(full, { recursive: true });
    writeFileSync(join(full, 'keep.txt'), 'precious');
    const truncated = join(dir, 'truncated');
    if (!existsSync(truncated)) {
      spawnSync('cp', ['-r', dataset, truncated]);
      truncateSync(join(truncated, 'train.bin'), 100);
    }
    const fresh = join(dir, 'new');
    const fixed = args.map((a) =>
      a
        .replace('NEW', fresh)
        .replace('TEXT', text)
        .replace('FULL', full)
        .replace('LATIN1', latin1)
        .replace('DATA', dataset)
        .replace('TRUNCATED', truncated)
        .replace('RUN', fromData),
    );
    const r = cli(...fixed);
    expect(r.code).not.toBe(0);
    const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('primer-ez:'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/unexpected error| {4}at /);
    expect(existsSync(fresh)).toBe(false);
    expect(readdirSync(full)).toEqual(['keep.txt']);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });
});
