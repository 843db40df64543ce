// Run directories a user can trust (issue 19), tried as a user would, with the real CLI: one
// writer, no diverged "latest", no hang on a FIFO or a device, --resume that applies or refuses
// each flag, falls back past a damaged checkpoint, and SIGTERM that saves. Every spawn has a
// timeout: a hang fails the test instead of stalling it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readMobyDick } from '@primer-ez/test-utils/corpus';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli } from './process.js';

const dir = mkdtempSync(join(tmpdir(), 'primer-ez-rundir-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const text = join(dir, 'moby.txt');
const other = join(dir, 'other.txt');
const small = [
  '--preset',
  'tiny',
  '--batch-size',
  '2',
  '--seq-len',
  '16',
  '--eval-every',
  '0',
  '--sample-length',
  '0',
  '--backend',
  'cpu',
];

function cli(...args: string[]) {
  const r = runCli(args, { cwd: dir, timeout: 60_000 });
  expect(r.signal, `primer-ez ${args.join(' ')} hung`).toBeNull();
  const errors = r.stderr.split('\n').filter((l) => l.startsWith('primer-ez:'));
  return { ...r, errors };
}

/** The one error line of a failed command (and no stack trace). */
function failsWith(r: ReturnType<typeof cli>, message: RegExp): void {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.errors).toHaveLength(1);
  expect(r.errors[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/unexpected error| {4}at /);
}

const metrics = (run: string) =>
  readFileSync(join(run, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: number; loss?: number; lr?: number });
const stepsLogged = (run: string) =>
  metrics(run)
    .filter((l) => 'loss' in l)
    .map((l) => l.step);
const latest = (run: string) => JSON.parse(readFileSync(join(run, 'latest.json'), 'utf8'));
const ckpt = (run: string, step: number) =>
  join(run, 'checkpoints', `step-${String(step).padStart(6, '0')}`);

/** Starts a long `train` and resolves once it has logged `step 1/`. */
function startTraining(args: string[]): Promise<{ child: ChildProcess; stderr: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'train', ...args], { cwd: dir });
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no step logged:\n${stderr}`));
    }, 60_000);
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (/step [1-9]\d*\//.test(stderr)) {
        clearTimeout(timer);
        resolve({ child, stderr: () => stderr });
      }
    });
  });
}
const exitOf = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

const base = join(dir, 'base');
beforeAll(() => {
  writeFileSync(text, readMobyDick().slice(0, 30_000));
  writeFileSync(other, readMobyDick().slice(0, 20_000)); // its characters are in the vocabulary
  const r = cli(
    'train',
    '--text',
    text,
    ...small,
    '--steps',
    '4',
    '--checkpoint-every',
    '2',
    '--out',
    base,
  );
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.code).toBe(0);
});

describe('a run directory has one writer and one history', () => {
  it('refuses a fresh train into a directory holding a run, unless --overwrite', () => {
    const before = readFileSync(join(base, 'metrics.jsonl'), 'utf8');
    failsWith(
      cli('train', '--text', text, ...small, '--steps', '2', '--out', base),
      /already holds a run .*add --resume to continue it, --overwrite to start over in it/,
    );
    expect(readFileSync(join(base, 'metrics.jsonl'), 'utf8')).toBe(before);
    const copy = join(dir, 'overwritten');
    cpSync(base, copy, { recursive: true });
    const r = cli('train', '--text', text, ...small, '--steps', '2', '--out', copy, '--overwrite');
    expect(r.code, r.stderr).toBe(0);
    expect(stepsLogged(copy)).toEqual([1, 2]);
    expect(existsSync(ckpt(copy, 4))).toBe(false);
  });

  it('refuses a second writer naming the first; SIGTERM saves and exits 143; a SIGKILLed lock is taken over', async () => {
    const run = join(dir, 'shared');
    const first = await startTraining([
      '--text',
      text,
      ...small,
      '--steps',
      '100000',
      '--out',
      run,
    ]);
    const exited = exitOf(first.child);
    try {
      const pid = first.child.pid;
      failsWith(
        cli('train', '--text', text, ...small, '--steps', '3', '--out', run),
        new RegExp(`in use by another process \\(pid ${pid} on host `),
      );
      failsWith(
        cli('train', '--resume', '--out', run, '--backend', 'cpu'),
        new RegExp(`in use by another process \\(pid ${pid} on host `),
      );
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await exited).toBe(143);
    expect(first.stderr()).toMatch(/interrupted \(SIGTERM\): saving a checkpoint/);
    const saved = latest(run).step as number;
    expect(saved).toBeGreaterThanOrEqual(1);
    expect(Math.max(...stepsLogged(run))).toBe(saved); // nothing logged past the save
    expect(existsSync(join(run, 'run.lock'))).toBe(false);

    // SIGKILL leaves the lock and steps logged past the last save; a resume takes the lock
    // over and cuts metrics.jsonl back, so no step appears twice.
    const second = await startTraining([
      '--resume',
      '--out',
      run,
      '--backend',
      'cpu',
      '--steps',
      '100000',
    ]);
    const killed = exitOf(second.child);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    second.child.kill('SIGKILL');
    await killed;
    expect(existsSync(join(run, 'run.lock'))).toBe(true);
    const from = latest(run).step as number;
    const r = cli(
      'train',
      '--resume',
      '--out',
      run,
      '--backend',
      'cpu',
      '--steps',
      String(from + 2),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`resuming .*step-0*${from} at step ${from}`));
    const steps = stepsLogged(run);
    expect(new Set(steps).size).toBe(steps.length);
    expect(steps.at(-1)).toBe(from + 2);
  }, 180_000);
});

describe('latest and best only name a healthy checkpoint', () => {
  it('stops a diverging run (lr 1e9) without saving, naming the last healthy checkpoint and a flag that works', () => {
    const fresh = join(dir, 'diverged');
    failsWith(
      cli(
        'train',
        '--text',
        text,
        ...small,
        '--lr',
        '1e9',
        '--warmup',
        '1',
        '--checkpoint-every',
        '1',
        '--steps',
        '6',
        '--out',
        fresh,
      ),
      /diverged.*no healthy checkpoint was saved: start over with a lower learning rate, e\.g\. primer-ez train --overwrite --out .* --lr 0\.001/,
    );
    expect(existsSync(join(fresh, 'latest.json'))).toBe(false);
    for (const skip of [['--non-finite', 'skip']]) {
      const r = cli(
        'train',
        '--text',
        text,
        ...small,
        '--lr',
        '1e9',
        '--warmup',
        '1',
        '--checkpoint-every',
        '1',
        '--steps',
        '6',
        '--out',
        fresh,
        '--overwrite',
        ...skip,
      );
      failsWith(r, /diverged/);
      expect(existsSync(join(fresh, 'latest.json'))).toBe(false);
    }

    const run = join(dir, 'diverged-later');
    cpSync(base, run, { recursive: true });
    const r = cli(
      'train',
      '--resume',
      '--out',
      run,
      '--backend',
      'cpu',
      '--lr',
      '1e9',
      '--warmup',
      '1',
      '--checkpoint-every',
      '1',
      '--steps',
      '8',
    );
    failsWith(
      r,
      new RegExp(
        `diverged.*the last healthy checkpoint is .*step-000004: continue from it with a lower learning rate, e\\.g\\. primer-ez train --resume --out ${run} --lr 0\\.001`,
      ),
    );
    expect(latest(run).step).toBe(4);
    expect(JSON.parse(readFileSync(join(run, 'best.json'), 'utf8')).step).toBe(4);

    // The advice works: --resume --lr applies (and says so), and no step is logged twice.
    const resumed = cli(
      'train',
      '--resume',
      '--out',
      run,
      '--backend',
      'cpu',
      '--lr',
      '5e-4',
      '--schedule',
      'constant',
      '--warmup',
      '0',
      '--steps',
      '6',
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(
      /resuming .*step-000004 at step 4; changed: --steps 6 \(was 4\), --lr 0\.0005 \(was 0\.001\), --warmup 0 \(was 100\), --schedule constant \(was cosine\)/,
    );
    const lines = metrics(run).filter((l) => 'loss' in l);
    expect(lines.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(lines.at(-1)!.lr).toBe(5e-4);
  });
});

describe('--resume applies, refuses and falls back', () => {
  it('refuses flags that cannot change, and another corpus unless asked', () => {
    const run = join(dir, 'flags');
    cpSync(base, run, { recursive: true });
    const resume = (...args: string[]) =>
      cli('train', '--resume', '--out', run, '--backend', 'cpu', ...args);
    failsWith(
      resume('--batch-size', '4'),
      /--batch-size cannot change on resume \(the run uses 2; /,
    );
    failsWith(resume('--seq-len', '8'), /--seq-len cannot change on resume \(the run uses 16; /);
    failsWith(
      resume('--preset', 'small'),
      /--preset describes another model \(d_model 128, the run's is 32\)/,
    );
    failsWith(resume('--tokenizer', 'bpe'), /--tokenizer bpe cannot change on resume/);
    failsWith(
      resume('--text', other),
      /the corpus differs from the one the run was started with .*add --allow-corpus-change/,
    );
    expect(stepsLogged(run)).toEqual([1, 2, 3, 4]);
    // The same values again are fine; leaving --text out uses the recorded corpus.
    const same = resume('--batch-size', '2', '--preset', 'tiny', '--steps', '5');
    expect(same.code, same.stderr).toBe(0);
    const changed = resume('--text', other, '--allow-corpus-change', '--steps', '6');
    expect(changed.code, changed.stderr).toBe(0);
    expect(changed.stderr).toMatch(/changed: --steps 6 \(was 5\), corpus .*other\.txt/);
    expect(JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')).corpus.files[0].path).toBe(
      other,
    );
  });

  it('skips a checkpoint with a flipped byte, saying which and why', () => {
    for (const file of ['model.safetensors', 'optimizer.safetensors']) {
      const run = join(dir, `flipped-${file}`);
      cpSync(base, run, { recursive: true });
      const path = join(ckpt(run, 4), file);
      const bytes = readFileSync(path);
      bytes[bytes.length - 5]! ^= 0xff;
      writeFileSync(path, bytes);
      const r = cli('train', '--resume', '--out', run, '--backend', 'cpu', '--steps', '3');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        new RegExp(`resume: skipped .*step-000004: ${file.replace('.', '\\.')}: .*CRC-32`),
      );
      expect(r.stderr).toMatch(/resuming .*step-000002 at step 2/);
      expect(r.stderr).not.toMatch(/unexpected error| {4}at /);
    }
  });
});

describe('files that are not regular files fail fast in one line', () => {
  it('a FIFO, /dev/zero or a symlink loop as config.json, optimizer.safetensors, --config or --ids', () => {
    const replace = (path: string, how: 'fifo' | 'zero' | 'loop') => {
      unlinkSync(path);
      if (how === 'fifo') execFileSync('mkfifo', [path]);
      else if (how === 'zero') symlinkSync('/dev/zero', path);
      else {
        symlinkSync(`${path}.b`, path);
        symlinkSync(path, `${path}.b`);
      }
    };
    const why = {
      fifo: /not a regular file \(it is a named pipe\)/,
      zero: /not a regular file \(it is a device\)/,
      loop: /too many levels of symbolic links/,
    };
    for (const how of ['fifo', 'zero', 'loop'] as const) {
      const ck = join(dir, `odd-config-${how}`);
      cpSync(ckpt(base, 4), ck, { recursive: true });
      replace(join(ck, 'config.json'), how);
      failsWith(cli('info', '--checkpoint', ck), why[how]);
      if (how === 'fifo') {
        // The FIFO hung every command that opens a checkpoint; one check each is enough.
        failsWith(cli('eval', '--checkpoint', ck, '--text', text, '--backend', 'cpu'), why[how]);
        failsWith(
          cli('generate', '--checkpoint', ck, '--prompt', 'a', '--backend', 'cpu'),
          why[how],
        );
      }

      const run = join(dir, `odd-optimizer-${how}`);
      cpSync(base, run, { recursive: true });
      replace(join(ckpt(run, 4), 'optimizer.safetensors'), how);
      const r = cli('train', '--resume', '--out', run, '--backend', 'cpu', '--steps', '3');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        new RegExp(
          `resume: skipped .*step-000004: .*optimizer\\.safetensors.*(${why[how].source})`,
        ),
      );

      const config = join(dir, `config-${how}.json`);
      writeFileSync(config, '{}');
      replace(config, how);
      failsWith(
        cli(
          'train',
          '--text',
          text,
          ...small,
          '--config',
          config,
          '--out',
          join(dir, `never-${how}`),
        ),
        why[how],
      );
      failsWith(
        cli('tokenizer', 'decode', '--tokenizer', ckpt(base, 4), '--ids', config),
        why[how],
      );
    }
  });
});
