// The built `primer-ez` command, run as a user runs it: a real process, real files.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMobyDick } from '@primer-ez/test-utils/corpus';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, scratch } from './process.js';

const dir = scratch('primer-ez-cli-');
const text = join(dir, 'moby.txt');
const run = join(dir, 'run');
const cli = (...args: string[]) => runCli(args, { cwd: dir });
const tiny = [
  '--preset',
  'tiny',
  '--batch-size',
  '8',
  '--backend',
  'wasm',
  '--sample-length',
  '20',
];

beforeAll(() => {
  writeFileSync(text, readMobyDick().slice(0, 60_000));
  const r = cli(
    'train',
    '--text',
    text,
    ...tiny,
    '--steps',
    '12',
    '--eval-every',
    '6',
    '--checkpoint-every',
    '4',
    '--out',
    run,
  );
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code).toBe(0);
});

describe('primer-ez train', () => {
  it('writes metrics.jsonl, checkpoints and pointers, and reports the validation loss', () => {
    const lines = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const steps = lines.filter((l) => 'loss' in l);
    expect(steps.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const l of steps)
      expect(Object.keys(l)).toEqual(
        expect.arrayContaining(['step', 'loss', 'lr', 'tokens_per_s']),
      );
    expect(lines.filter((l) => 'val_loss' in l).map((l) => l.step)).toEqual([6, 12]);
    expect(JSON.parse(readFileSync(join(run, 'latest.json'), 'utf8'))).toMatchObject({
      checkpoint: 'checkpoints/step-000012',
      step: 12,
    });
    const latest = join(run, 'checkpoints', 'step-000012');
    expect(readdirSync(latest).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'tokenizer.json',
      'trainer_state.json',
    ]);
  });

  it('resumes a run where it stopped', () => {
    const r = cli(
      'train',
      '--text',
      text,
      ...tiny,
      '--steps',
      '14',
      '--eval-every',
      '0',
      '--out',
      run,
      '--resume',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/resuming .*step-000012 at step 12/);
    const steps = readFileSync(join(run, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => 'loss' in l);
    expect(steps.slice(-2).map((l) => l.step)).toEqual([13, 14]);
  });

  it('saves a checkpoint and exits 130 on Ctrl-C', async () => {
    const out = join(dir, 'interrupted');
    const child: ChildProcess = spawn(
      process.execPath,
      [CLI, 'train', '--text', text, ...tiny, '--steps', '100000', '--out', out],
      { cwd: dir },
    );
    let stderr = '';
    const code = await new Promise<number | null>((resolve) => {
      child.stderr!.on('data', (d) => {
        stderr += d;
        if (/step 1\/100000/.test(stderr) && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted: saving a checkpoint/);
    const pointer = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
    expect(existsSync(join(out, pointer.checkpoint, 'model.safetensors'))).toBe(true);
    expect(cli('info', '--checkpoint', out).code).toBe(0);
  });
});

describe('primer-ez generate, eval, info, plot, tokenizer', () => {
  it('generates reproducibly from a seed, streaming the prompt and the continuation', () => {
    const args = [
      'generate',
      '--checkpoint',
      run,
      '--prompt',
      'Call me',
      '--max-new-tokens',
      '30',
      '--seed',
      '3',
      '--backend',
      'cpu',
    ];
    const a = cli(...args);
    expect(a.code).toBe(0);
    expect(a.stdout.startsWith('Call me')).toBe(true);
    expect(a.stdout.length).toBeGreaterThan('Call me'.length);
    expect(cli(...args).stdout).toBe(a.stdout);
    const greedy = cli(
      'generate',
      '--checkpoint',
      run,
      '--prompt',
      'The',
      '--temperature',
      '0',
      '--max-new-tokens',
      '10',
    );
    const topK1 = cli(
      'generate',
      '--checkpoint',
      run,
      '--prompt',
      'The',
      '--top-k',
      '1',
      '--max-new-tokens',
      '10',
      '--seed',
      '9',
    );
    expect(topK1.stdout).toBe(greedy.stdout);
  });

  it('evaluates with the trainer definition and prints JSON', () => {
    const r = cli('eval', '--checkpoint', run, '--text', text, '--json');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.window).toBe(32);
    expect(result.windows).toBe(Math.floor((60_000 - 1) / 32));
    expect(result.perplexity).toBeCloseTo(Math.exp(result.loss), 6);
    expect(result.bits_per_token).toBeCloseTo(result.loss / Math.LN2, 6);
    expect(result.loss).toBeLessThan(Math.log(100));
  });

  it('scores on two threads with the one-thread result exactly (--workers)', () => {
    const scores = [1, 2].map((workers) => {
      const r = cli(
        'eval',
        '--checkpoint',
        run,
        '--text',
        text,
        '--json',
        '--workers',
        `${workers}`,
      );
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    });
    expect(scores[1]).toEqual(scores[0]);
    const zero = cli('eval', '--checkpoint', run, '--text', text, '--workers', '0');
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--workers/);
  });

  it('reports a checkpoint’s config, size and tokenizer', () => {
    const r = cli('info', '--checkpoint', run, '--json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.config).toMatchObject({ model_type: 'primer-ez', d_model: 32, attention: 'mdha' });
    expect(info.tokenizer.kind).toBe('char');
    expect(info.parameters).toBeGreaterThan(10_000);
  });

  it('plots training and validation curves as SVG', () => {
    const out = join(dir, 'curves.svg');
    const r = cli('plot', run, join(dir, 'interrupted'), '--out', out);
    expect(r.code).toBe(0);
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<path /g)?.length).toBeGreaterThanOrEqual(3);
    expect(svg).toContain('run validation');
  });

  it('trains, encodes and decodes tokenizers', () => {
    const tok = join(dir, 'tok.json');
    expect(
      cli(
        'tokenizer',
        'train',
        '--type',
        'bpe',
        '--text',
        text,
        '--vocab-size',
        '300',
        '--out',
        tok,
      ).code,
    ).toBe(0);
    const sample = join(dir, 'sample.txt');
    writeFileSync(sample, 'Call me Ishmael. Some years ago—never mind how long precisely');
    const ids = cli('tokenizer', 'encode', '--tokenizer', tok, '--text', sample);
    expect(ids.code).toBe(0);
    const idsFile = join(dir, 'ids.json');
    writeFileSync(idsFile, ids.stdout);
    expect(cli('tokenizer', 'decode', '--tokenizer', tok, '--ids', idsFile).stdout).toBe(
      readFileSync(sample, 'utf8'),
    );
  });
});

describe('primer-ez experiment primer-vs-vanilla', () => {
  it('trains each arm the same way and writes the table, the JSON and the curves', () => {
    const out = join(dir, 'experiment');
    const r = cli(
      'experiment',
      'primer-vs-vanilla',
      '--text',
      text,
      '--preset',
      'tiny',
      '--arms',
      'vanilla,primer-ez,squared-relu-only',
      '--steps',
      '6',
      '--eval-every',
      '3',
      '--batch-size',
      '4',
      '--seq-len',
      '16',
      '--warmup',
      '2',
      '--eval-windows',
      '8',
      '--out',
      out,
      '--backend',
      'wasm',
    );
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(0);
    const { curves, results, meta } = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(meta).toMatchObject({ steps: 6, preset: 'tiny' });
    expect(curves.map((c: { arm: string }) => c.arm)).toEqual([
      'vanilla',
      'primer-ez',
      'squared-relu-only',
    ]);
    for (const c of curves) expect(c.evals.map((e: { step: number }) => e.step)).toEqual([0, 3, 6]);
    const vanilla = results.find((x: { arm: string }) => x.arm === 'vanilla');
    expect(vanilla.stepToVanillaFinal).toBe(6);
    expect(vanilla.stepSpeedup).toBe(1);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toMatch(/\| primer-ez \|/);
    expect(readFileSync(join(out, 'loss.svg'), 'utf8').match(/<path /g)).toHaveLength(3);
    expect(readdirSync(join(out, 'primer-ez'))).toContain('metrics.jsonl');
  });
});

describe('primer-ez experiment: arms split across invocations', () => {
  const flags = (out: string, arms: string, ...more: string[]) => [
    'experiment',
    'primer-vs-vanilla',
    '--text',
    text,
    '--preset',
    'tiny',
    '--arms',
    arms,
    '--steps',
    '4',
    '--eval-every',
    '2',
    '--batch-size',
    '2',
    '--seq-len',
    '8',
    '--warmup',
    '1',
    '--eval-windows',
    '4',
    '--out',
    out,
    '--backend',
    'cpu',
    ...more,
  ];

  it('reuses arms finished with the same settings and joins them in one table', () => {
    const out = join(dir, 'experiment-split');
    const first = cli(...flags(out, 'primer-ez'));
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/vanilla has not finished/);
    const firstCurve = JSON.parse(readFileSync(join(out, 'primer-ez', 'finished.json'), 'utf8'));
    const second = cli(...flags(out, 'vanilla'));
    expect(second.code).toBe(0);
    const { curves, results } = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(curves.map((c: { arm: string }) => c.arm)).toEqual(['vanilla', 'primer-ez']);
    expect(curves[1]).toEqual(firstCurve.curve);
    expect(results.every((r: { stepSpeedup: unknown }) => r.stepSpeedup !== undefined)).toBe(true);
    // Asking for a finished arm again reuses it; --fresh retrains it.
    const again = cli(...flags(out, 'vanilla,primer-ez'));
    expect(again.stderr).toMatch(/primer-ez: finished earlier in .*; reusing it/);
    expect(again.stderr).not.toMatch(/parameters/);
    const fresh = cli(...flags(out, 'primer-ez', '--fresh'));
    expect(fresh.code).toBe(0);
    expect(fresh.stderr).toMatch(/primer-ez: [\d,]+ parameters/);
  });

  it('does not mix arms trained with other settings', () => {
    const out = join(dir, 'experiment-mismatch');
    expect(cli(...flags(out, 'primer-ez')).code).toBe(0);
    const other = cli(...flags(out, 'vanilla', '--seed', '7'));
    expect(other.code).toBe(0);
    const { curves } = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(curves.map((c: { arm: string }) => c.arm)).toEqual(['vanilla']);
  });
});

describe('bad input: one clear line, exit code ≠ 0, nothing damaged', () => {
  it.each([
    [['train', '--text', 'missing.txt'], /--text missing.txt: no such file/],
    [['train', '--steps', 'ten'], /--steps "ten" is not an integer/],
    [['train', '--bogus'], /Unknown option '--bogus'/],
    [
      ['train', '--preset', 'tiny', '--d-model', '30'],
      /d_model = 30 must be a multiple of n_heads = 4/,
    ],
    [
      ['generate', '--checkpoint', 'nowhere', '--prompt', 'x'],
      /--checkpoint nowhere: no such directory/,
    ],
    [
      ['generate', '--checkpoint', 'RUN', '--prompt', '你'],
      /character "你" \(U\+4F60\) at index 0 is not in the vocabulary/,
    ],
    [['eval', '--checkpoint', 'RUN', '--text', 'EMPTY'], /the file is empty/],
    [['eval', '--checkpoint', 'RUN', '--text', 'BINARY'], /looks binary/],
    [
      ['train', '--text', 'LATIN1', '--preset', 'tiny'],
      /--text .*latin1.txt: not UTF-8 text \(the bytes from offset 3, 0xe9…, are not a well-formed UTF-8 character\); convert it first, e.g. iconv/,
    ],
    [
      ['generate', '--checkpoint', 'RUN', '--prompt', 'x', '--max-new-tokens', '99999999999'],
      /--max-new-tokens 99999999999 must be an integer in \[0, 4194304\]/,
    ],
    [
      ['generate', '--checkpoint', 'RUN', '--prompt', ''],
      /generate: --prompt is empty; give some text/,
    ],
    [
      ['train', '--preset', 'tiny', '--batch-size', '0'],
      /train: --batch-size "0" is not an integer ≥ 1/,
    ],
    [
      ['train', '--preset', 'tiny', '--seq-len', '100000'],
      /--seq-len 100000 exceeds the model's max_seq_len 32; use --seq-len 32 or less/,
    ],
    [
      ['train', '--preset', 'tiny', '--batch-size', '2', '--workers', '3'],
      /--workers 3 exceeds --batch-size 2: each worker needs at least one window; use --workers 2 or fewer/,
    ],
    [
      ['info', '--checkpoint', 'HOSTILE'],
      /--checkpoint .*hostile: header length \d+ is above the 100000000-byte cap/,
    ],
    [['train', '--preset', 'tiny', '--out', 'FILE/run'], /cannot write the run directory/],
    [
      ['info', '--checkpoint', 'OTHER'],
      /model_type "gpt2"; primer-ez reads only "primer-ez" checkpoints/,
    ],
    [
      ['generate', '--checkpoint', 'ESCAPING', '--prompt', 'x'],
      /neither a checkpoint \(no config.json\) nor a run directory with a complete checkpoint/,
    ],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('%j', (args, message) => {
    writeFileSync(join(dir, 'empty.txt'), '');
    writeFileSync(join(dir, 'binary.bin'), Buffer.from([1, 0, 2]));
    writeFileSync(join(dir, 'latin1.txt'), Buffer.from('caf\u00e9 au lait', 'latin1'));
    // A run directory whose latest.json points outside it, at a real checkpoint.
    const escaping = join(dir, 'escaping');
    if (!existsSync(escaping)) {
      spawnSync('mkdir', ['-p', join(escaping, 'checkpoints')]);
      writeFileSync(
        join(escaping, 'latest.json'),
        JSON.stringify({ checkpoint: '../run/checkpoints/step-000012' }),
      );
    }
    const hostile = join(dir, 'hostile');
    if (!existsSync(hostile)) {
      spawnSync('cp', ['-r', join(run, 'checkpoints', 'step-000012'), hostile]);
      const header = Buffer.alloc(16, 0xff); // a header length of 2^64 - 1 bytes, then garbage
      writeFileSync(join(hostile, 'model.safetensors'), header);
    }
    const other = join(dir, 'other');
    if (!existsSync(other)) {
      rmSync(other, { recursive: true, force: true });
      spawnSync('mkdir', ['-p', other]);
      writeFileSync(join(other, 'config.json'), '{"model_type": "gpt2"}');
    }
    const before = readFileSync(join(run, 'latest.json'), 'utf8');
    const fixed = args.map((a) =>
      a
        .replace('RUN', run)
        .replace('EMPTY', join(dir, 'empty.txt'))
        .replace('BINARY', join(dir, 'binary.bin'))
        .replace('LATIN1', join(dir, 'latin1.txt'))
        .replace('HOSTILE', hostile)
        .replace('ESCAPING', escaping)
        .replace('OTHER', other)
        .replace('FILE', text),
    );
    const r = cli(...fixed);
    expect(r.code).not.toBe(0);
    const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('primer-ez:'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/unexpected error| {4}at /);
    expect(readFileSync(join(run, 'latest.json'), 'utf8')).toBe(before);
  });
});
