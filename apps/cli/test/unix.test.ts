// The CLI as a Unix tool, run the way a user runs it (real processes, pipes, signals and files):
// output arrives whole through a pipe, a reader that goes away ends it quietly, every command and
// subcommand has --help with aligned columns, messages name flags that exist, paths are shown as
// given (or absolute), Ctrl-C gives 130, and `-` reads stdin.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMobyDick } from '@primer-ez/test-utils/corpus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type CliResult, runCli } from './process.js';

const dir = mkdtempSync(join(tmpdir(), 'primer-ez-unix-'));
const work = join(dir, 'work'); // the working directory of most commands
const sub = join(work, 'sub');
mkdirSync(sub, { recursive: true });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const book = join(dir, 'book.txt'); // 400 kB of Moby-Dick: its ids are a 1.1 MB line of JSON
const small = readMobyDick().slice(0, 30_000); // to train on
const scored = small.slice(0, 3_000); // to evaluate
const tok = join(dir, 'tok.json');
const run = 'runs/a'; // relative to `work`
const quick = [
  '--preset',
  'tiny',
  '--steps',
  '2',
  '--batch-size',
  '2',
  '--eval-every',
  '2',
  '--sample-length',
  '0',
  '--backend',
  'cpu',
];

type Result = CliResult;

function cli(args: string[], { cwd = work, input }: { cwd?: string; input?: string } = {}): Result {
  return runCli(args, { cwd, ...(input !== undefined ? { input } : {}) });
}

/** The same, without blocking, so that independent commands run side by side. */
function cliAsync(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: work });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A shell pipeline (the shell is how pipes are met in practice). */
function sh(script: string): string {
  const r = spawnSync('sh', ['-c', script], {
    cwd: work,
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}
const node = `'${process.execPath}' '${CLI}'`;

/** The one `primer-ez:` line a failed command printed. */
function errorLine(r: Result): string {
  expect(r.code).not.toBe(0);
  expect(r.stderr).not.toMatch(/unexpected error| {4}at /);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('primer-ez:'));
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

let trained: Result;
beforeAll(() => {
  writeFileSync(book, readMobyDick().slice(0, 400_000));
  // Trained from stdin (`--text -`), into a run directory relative to the working directory.
  trained = cli(['train', '--text', '-', ...quick, '--out', run], { input: small });
  expect(trained.stderr).not.toMatch(/unexpected error/);
  expect(trained.code).toBe(0);
  expect(cli(['tokenizer', 'train', '--text', book, '--out', tok]).code).toBe(0);
});

describe('output through a pipe', () => {
  it('arrives whole, to a fast or a slow reader, as into a file', () => {
    const encode = `${node} tokenizer encode --tokenizer '${tok}' --text '${book}'`;
    sh(`${encode} > ids.json`);
    const bytes = statSync(join(work, 'ids.json')).size;
    expect(bytes).toBeGreaterThan(1_000_000); // far more than a pipe holds (64 KiB)
    expect(Number(sh(`${encode} | wc -c`))).toBe(bytes);
    expect(Number(sh(`${encode} | (sleep 1; wc -c)`))).toBe(bytes);
  });

  it('chains tokenizer encode | decode through stdin, whole', () => {
    sh(
      `${node} tokenizer encode --tokenizer '${tok}' < '${book}' | ${node} tokenizer decode --tokenizer '${tok}' > back.txt`,
    );
    expect(readFileSync(join(work, 'back.txt'), 'utf8')).toBe(readFileSync(book, 'utf8'));
  });

  it('ends quietly (exit 0, nothing on stderr) when the reader goes away', async () => {
    const child = spawn(
      process.execPath,
      [CLI, 'generate', '--checkpoint', run, '--prompt', 'The', '--max-new-tokens', '4000000'],
      { cwd: work },
    );
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    // Like `| head -c 20`: read a little, then close the pipe.
    child.stdout.once('data', () => child.stdout.destroy());
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    );
    expect(stderr).toBe('');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});

describe('--help', () => {
  /** The description column of a help text's table(s), checked to be one column. */
  function checkColumns(text: string): void {
    const starts = new Set<number>();
    for (const line of text.split('\n')) {
      expect(line.length).toBeLessThanOrEqual(80);
      const row = /^ {2}\S+(?: \S+)*? {2,}(?=\S)/.exec(line); // a flag or command, then its text
      if (row) starts.add(row[0].length);
    }
    expect(starts.size).toBe(1);
    const [at] = starts;
    // Continuation lines of the table (after the usage paragraph) are indented to the same column.
    for (const line of text.slice(text.indexOf('\n\n')).split('\n')) {
      const indent = line.length - line.trimStart().length;
      if (line.trim() !== '' && indent > 4) expect(indent).toBe(at);
    }
  }

  it('works on every command and subcommand: exit 0, usage on stdout, aligned columns', async () => {
    const top = cli(['--help']);
    expect(top.code).toBe(0);
    checkColumns(top.stdout);
    // Every command the top-level help lists (commands added later are checked too).
    const commands = [...top.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
    expect(commands).toEqual(expect.arrayContaining(['train', 'generate', 'eval', 'tokenizer']));
    const subcommandsOf = (help: string) =>
      [...help.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
    const first = await Promise.all(commands.map((c) => cliAsync([c, '--help'])));
    // Subcommands are listed the same way in their command's help (tokenizer, data).
    const subcommands = commands.flatMap((c, i) =>
      subcommandsOf(first[i]!.stdout).map((s) => [c, s, '--help']),
    );
    expect(subcommands).toEqual(
      expect.arrayContaining([
        ['tokenizer', 'train', '--help'],
        ['tokenizer', 'decode', '--help'],
      ]),
    );
    const lines = [
      ...commands.map((c) => [c, '--help']),
      ...subcommands,
      ['experiment', 'primer-vs-vanilla', '--help'],
      ['tokenizer', 'encode', '-h'],
      ['help', 'tokenizer', 'decode'],
      ['train', '--bogus', '--help'], // --help wins over a mistake on the same line
    ];
    const results = [...first, ...(await Promise.all(lines.slice(commands.length).map(cliAsync)))];
    results.forEach((r, i) => {
      const what = lines[i]!.join(' ');
      expect({ what, code: r.code, stderr: r.stderr }).toEqual({ what, code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^usage: primer-ez /);
      checkColumns(r.stdout);
    });
    // The option column no longer runs into its description (`…|wasm|cputfjs backend:`).
    expect(results[0]!.stdout).not.toMatch(/cpu\S*tfjs/);
  });

  it('puts usage on stderr with exit 2 when no command is given', () => {
    const r = cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^usage: primer-ez <command>/);
  });
});

describe('messages name flags that exist, and the fix', () => {
  it.each([
    [
      ['train', '--text', '-', ...quick, '--seq-len', '100000'],
      /train: --seq-len 100000 exceeds the model's max_seq_len 32; use --seq-len 32 or less/,
    ],
    [
      ['train', '--text', '-', ...quick, '--lr', '1e30', '--warmup', '0', '--eval-every', '0'],
      /training loss became NaN .*Lower the learning rate \(--lr\).*\(--non-finite skip skips such steps instead\)/,
    ],
    [
      ['train', '--text', '-', ...quick, '--tokenizer-file', 'missing.json'],
      /--tokenizer-file missing.json: no such file; give a tokenizer.json \(primer-ez tokenizer train writes one\)/,
    ],
    [
      ['eval', '--checkpoint', run, '--text', '-', '--backend', 'cpu'],
      /holds 5 tokens, fewer than one window of 33 \(--seq-len 32, plus the next token\); score more text or use a shorter --seq-len \(at most 4\)/,
      'Call ',
    ],
    [
      ['generate', '--checkpoint', run, '--prompt', 'x', '--top-p', '0'],
      /generate: --top-p 0 must be in \(0, 1\]/,
    ],
    [
      // A library error no command translated itself is still one line in flag terms.
      ['experiment', 'primer-vs-vanilla', '--text', '-', '--preset', 'tiny', '--backend', 'cpu'],
      /experiment: the validation text has 1 tokens, fewer than one window of 129 tokens \(--seq-len \+ 1\); use more text or a shorter --seq-len/,
      'ab',
    ],
    [
      ['tokenizer', 'encode', '--tokenizer', 'missing.json', '--text', '-'],
      /--tokenizer missing.json: no such file/,
    ],
  ])('%j', (args, message, input = small) => {
    const line = errorLine(cli(args as string[], { input: input as string }));
    expect(line).toMatch(message as RegExp);
    // No API names (seqLen, nonFinite, unkToken…): the user never typed them.
    expect(line).not.toMatch(/\b[a-z]+[A-Z][A-Za-z]*\b/);
  });
});

describe('paths are shown as given, or absolute', () => {
  it('relative inside the working directory', () => {
    expect(trained.stderr).toContain('run directory: runs/a\n');
    expect(trained.stderr).toContain('saved best checkpoint: runs/a/checkpoints/step-000002\n');
    expect(trained.stdout).toContain('checkpoint: runs/a/checkpoints/step-000002\n');
    const r = cli(['eval', '--checkpoint', run, '--text', '-', '--json', '--backend', 'cpu'], {
      input: scored,
    });
    expect(JSON.parse(r.stdout).checkpoint).toBe('runs/a/checkpoints/step-000002');
  });

  it('absolute outside it, never ../../ climbing out', () => {
    const r = cli(['train', '--text', '-', ...quick, '--out', '../../outside'], {
      cwd: sub,
      input: small,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `saved best checkpoint: ${join(dir, 'outside', 'checkpoints', 'step-000002')}\n`,
    );
    expect(r.stderr + r.stdout).not.toContain('../');
  });
});

describe('signals', () => {
  /** Starts a command, sends `signal` once it has written `after` to stdout or stderr. */
  function interrupt(args: string[], signal: NodeJS.Signals, after: RegExp): Promise<Result> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], { cwd: work });
      let stdout = '';
      let stderr = '';
      let sent = false;
      const check = () => {
        if (sent || !after.test(stdout + stderr)) return;
        sent = true;
        setTimeout(() => child.kill(signal), 50);
      };
      child.stdout.on('data', (d) => {
        stdout += d;
        check();
      });
      child.stderr.on('data', (d) => {
        stderr += d;
        check();
      });
      child.on('error', reject);
      child.on('close', (code, sig) => resolve({ code, signal: sig, stdout, stderr }));
    });
  }
  const endless = ['generate', '--checkpoint', run, '--prompt', 'The', '--max-new-tokens'];

  it('generate stops on Ctrl-C: what was generated is written, then exit 130 (143 on SIGTERM)', async () => {
    const [int, term] = await Promise.all([
      interrupt([...endless, '4000000', '--backend', 'cpu'], 'SIGINT', /The.{40}/s),
      interrupt([...endless, '4000000', '--backend', 'cpu'], 'SIGTERM', /The.{40}/s),
    ]);
    expect({ code: int.code, stderr: int.stderr }).toEqual({ code: 130, stderr: '' });
    expect(int.stdout).toMatch(/^The[\s\S]{40,}\n$/);
    expect({ code: term.code, stderr: term.stderr }).toEqual({ code: 143, stderr: '' });
  });

  it('eval dies by Ctrl-C at once (the shell reports 130), without a trace', async () => {
    const r = await interrupt(
      ['eval', '--checkpoint', run, '--text', book, '--backend', 'cpu'],
      'SIGINT',
      /backend: /,
    );
    expect(r.code === 130 || r.signal === 'SIGINT').toBe(true);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/error/i);
  });
});

describe('- is stdin (or stdout for an output)', () => {
  it('train --text - reads it (the run above), and eval --text - scores it like the file', () => {
    expect(trained.stderr).toContain('data: standard input (kept in runs/a/stdin.txt);');
    const args = ['eval', '--checkpoint', run, '--json', '--seq-len', '16', '--backend', 'cpu'];
    const file = join(dir, 'scored.txt');
    writeFileSync(file, scored);
    const fromFile = JSON.parse(cli([...args, '--text', file]).stdout);
    const fromStdin = JSON.parse(cli([...args, '--text', '-'], { input: scored }).stdout);
    expect(fromStdin.loss).toBe(fromFile.loss);
    expect(fromStdin.windows).toBe(Math.floor((scored.length - 1) / 16));
  });

  it('plot --out - writes the SVG to stdout', () => {
    const r = cli(['plot', run, '--out', '-']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^<svg[\s\S]*<\/svg>\n?$/);
  });

  it('generate --prompt - reads the prompt', () => {
    const r = cli(['generate', '--checkpoint', run, '--prompt', '-', '--max-new-tokens', '5'], {
      input: 'Call me',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Call me[\s\S]+\n$/);
  });

  it('says what to do when stdin is empty', () => {
    expect(errorLine(cli(['tokenizer', 'encode', '--tokenizer', tok], { input: '' }))).toMatch(
      /--text -: standard input is empty; pipe some text in, or give a file/,
    );
  });
});
