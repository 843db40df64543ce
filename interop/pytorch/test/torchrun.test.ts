// train.py under torchrun (gloo, CPU) against the TypeScript tools: DDP on 2 processes equals 1
// process, the CLI reads its run directory, each trainer resumes the other's run exactly, and a
// killed process ends the job with a clear message and a run that `--resume` recovers.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PRESETS } from '@primer-ez/primer-layers';
import { readMobyDick } from '@primer-ez/test-utils/corpus';
import { loadTokenizerJson } from '@primer-ez/tokenizer';
import { DEFAULT_TRAINER_OPTIONS, Rng, windowStarts } from '@primer-ez/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const TRAIN = join(here, '..', 'train.py');
const CLI = join(
  dirname(createRequire(import.meta.url).resolve('@primer-ez/cli/package.json')),
  'bin',
  'primer-ez.js',
);

/** A Python with torch and numpy: $PRIMER_EZ_PYTHON, Debian's /usr/bin/python3, or python3. */
function findPython(): string | undefined {
  const candidates = [process.env.PRIMER_EZ_PYTHON, '/usr/bin/python3', 'python3'];
  return candidates.find(
    (py) => py && spawnSync(py, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0,
  );
}
const PYTHON = findPython();
if (PYTHON === undefined) {
  const why =
    'no Python with torch and numpy (run scripts/ensure-torch.sh as root, or set PRIMER_EZ_PYTHON)';
  // CI installs torch itself (scripts/ensure-torch.sh), so there a missing torch is a failure.
  if (process.env.CI) throw new Error(`interop/pytorch: ${why}.`);
  console.warn(`interop/pytorch: skipping the torchrun tests: ${why}.`);
}

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; `onStderr` sees stderr as it arrives (with the child). */
function run(
  command: string,
  args: string[],
  onStderr?: (text: string, child: ChildProcess) => void,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: dir, env: { ...process.env, OMP_NUM_THREADS: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      onStderr?.(stderr, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `torchrun --nproc_per_node N train.py ARGS` on its own rendezvous port (`--standalone` always
 * takes port 29400, which would merge two jobs started at once). NOTE: `--redirects 2 --tee 2`
 * works around Debian's PyTorch 1.13 on Python 3.11, whose torchrun cannot parse its own
 * defaults (AttributeError: 'NoneType' object has no attribute 'get'); it is harmless elsewhere.
 */
async function torchrun(
  processes: number,
  args: string[],
  onStderr?: (text: string, child: ChildProcess) => void,
): Promise<Result> {
  const rendezvous = [
    '--nnodes',
    '1',
    '--rdzv_backend',
    'c10d',
    '--rdzv_endpoint',
    `127.0.0.1:${await freePort()}`,
  ];
  return run(
    PYTHON!,
    [
      '-m',
      'torch.distributed.run',
      ...rendezvous,
      '--nproc_per_node',
      String(processes),
      '--redirects',
      '2',
      '--tee',
      '2',
      TRAIN,
      ...args,
    ],
    onStderr,
  );
}

function expectOk(r: Result): void {
  if (r.code !== 0) throw new Error(`exit ${r.code} (${r.signal}):\n${r.stderr.slice(-3000)}`);
}

interface Metrics {
  step: number;
  loss?: number;
  val_loss?: number;
}
/** metrics.jsonl, the last line of each kind for each step (a resumed run repeats steps). */
function metrics(runDir: string): { steps: Map<number, Metrics>; evals: Map<number, Metrics> } {
  const steps = new Map<number, Metrics>();
  const evals = new Map<number, Metrics>();
  for (const line of readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n')) {
    const m = JSON.parse(line) as Metrics;
    (m.val_loss === undefined ? steps : evals).set(m.step, m);
  }
  return { steps, evals };
}

let dir: string;
let data: string;
let valText: string;
let valTokens: number;
const text = readMobyDick().slice(0, 30_000);
// The tiny preset, a few steps; every validation window (of 32 tokens) is scored.
const recipe = ['--preset', 'tiny', '--batch-size', '8', '--eval-every', '0'];
const allWindows = ['--eval-windows', '1000'];

/** The validation text: val.bin decoded (the CLI's eval re-encodes it to the same ids). */
function writeValidationText(): void {
  const tokenizer = loadTokenizerJson(readFileSync(join(data, 'tokenizer.json'), 'utf8'));
  const bytes = readFileSync(join(data, 'val.bin'));
  const ids = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  writeFileSync(valText, tokenizer.decode(Array.from(ids)));
  valTokens = ids.length;
}

describe.skipIf(PYTHON === undefined)('interop/pytorch train.py under torchrun', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'primer-ez-torchrun-'));
    data = join(dir, 'data');
    valText = join(dir, 'val.txt');
    writeFileSync(join(dir, 'text.txt'), text);
    // The user's first step: tokenize once with the CLI (char tokenizer, the trainer's 0.9 split).
    expectOk(
      await run(process.execPath, [
        CLI,
        'data',
        'prepare',
        '--text',
        join(dir, 'text.txt'),
        '--out',
        data,
      ]),
    );
    expect(JSON.parse(readFileSync(join(data, 'meta.json'), 'utf8')).dtype).toBe('uint16');
    writeValidationText();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has the presets and the data order of the TypeScript trainer', async () => {
    const script =
      'import json, sys; sys.path.insert(0, sys.argv[1]); import train, tokens; r = tokens.Rng(7); ' +
      'print(json.dumps({"presets": train.PRESETS, "options": train.DEFAULT_OPTIONS, "draws": [r.int(n) for n in (1000, 7, 2**32, 3, 123456789)], ' +
      '"starts": tokens.sample_starts(tokens.Rng(3), 26710, 8, 32), "windows": tokens.window_starts(2968, 32, 10)}))';
    const r = await run(PYTHON!, ['-c', script, dirname(TRAIN)]);
    expectOk(r);
    const py = JSON.parse(r.stdout);
    for (const name of ['tiny', 'small', 'labml'] as const)
      expect(py.presets[name], name).toEqual({ ...PRESETS[name] });
    expect(py.options).toEqual(DEFAULT_TRAINER_OPTIONS);
    const rng = new Rng(7);
    expect(py.draws).toEqual([1000, 7, 2 ** 32, 3, 123456789].map((n) => rng.int(n)));
    const starts = new Rng(3);
    expect(py.starts).toEqual(Array.from({ length: 8 }, () => starts.int(26710 - 32)));
    expect(py.windows).toEqual(windowStarts(2968, 32, 10));
  });

  it('trains on 2 processes to the validation loss of 1 process with the same global batch', async () => {
    const [one, two] = await Promise.all([
      torchrun(1, [
        '--data',
        data,
        '--out',
        join(dir, 'one'),
        ...recipe,
        ...allWindows,
        '--steps',
        '3',
      ]),
      torchrun(2, [
        '--data',
        data,
        '--out',
        join(dir, 'two'),
        ...recipe,
        ...allWindows,
        '--steps',
        '3',
      ]),
    ]);
    expectOk(one);
    expectOk(two);
    const a = metrics(join(dir, 'one'));
    const b = metrics(join(dir, 'two'));
    for (const step of [1, 2, 3])
      expect(Math.abs(b.steps.get(step)!.loss! - a.steps.get(step)!.loss!)).toBeLessThan(1e-4);
    const loss = b.evals.get(3)!.val_loss!;
    expect(Math.abs(loss - a.evals.get(3)!.val_loss!)).toBeLessThan(1e-3);
    expect(two.stdout).toMatch(/^validation loss \d\.\d{4} nats\/token .* at step 3; checkpoint: /);
    expect(JSON.parse(readFileSync(join(dir, 'two', 'latest.json'), 'utf8'))).toMatchObject({
      checkpoint: 'checkpoints/step-000003',
      step: 3,
    });
  });

  it("is read by the CLI: eval scores it at PyTorch's own validation loss; generate, info, plot", async () => {
    const cli = (...args: string[]) => run(process.execPath, [CLI, ...args]);
    const runDir = join(dir, 'two');
    const [evaluated, generated, info, plot] = await Promise.all([
      cli('eval', '--checkpoint', runDir, '--text', valText, '--json', '--backend', 'cpu'),
      cli(
        'generate',
        '--checkpoint',
        runDir,
        '--prompt',
        'Call me',
        '--max-new-tokens',
        '8',
        '--backend',
        'cpu',
      ),
      cli('info', '--checkpoint', runDir, '--json'),
      cli('plot', runDir),
    ]);
    for (const r of [evaluated, generated, info, plot]) expectOk(r);
    const ts = JSON.parse(evaluated.stdout);
    expect(ts.windows).toBe(Math.floor((valTokens - 1) / 32)); // all of them, as PyTorch scored
    expect(Math.abs(ts.loss - metrics(runDir).evals.get(3)!.val_loss!)).toBeLessThan(1e-4);
    expect(generated.stdout.length).toBeGreaterThanOrEqual(8);
    expect(JSON.parse(info.stdout).config).toMatchObject({
      d_model: 32,
      dconv_init: 'uniform',
      dconv_bias: true,
    });
    expect(readFileSync(join(runDir, 'loss.svg'), 'utf8')).toContain('<svg');
  });

  it('is resumed by primer-ez train --resume, and resumes that run, as if it had never stopped', async () => {
    // The same checkpoint (step 3) continued three ways: TypeScript to step 5 then PyTorch to
    // step 6, and PyTorch straight to step 6. Warmup lasts 100 steps, so the learning rate does
    // not depend on --steps here.
    cpSync(join(dir, 'two'), join(dir, 'ts'), { recursive: true });
    cpSync(join(dir, 'two'), join(dir, 'py'), { recursive: true });
    const [ts, py] = await Promise.all([
      run(process.execPath, [
        CLI,
        'train',
        '--resume',
        '--out',
        join(dir, 'ts'),
        '--data',
        data,
        '--steps',
        '5',
        '--sample-length',
        '0',
        '--backend',
        'cpu',
      ]),
      // Without torchrun, train.py is one process (no process group).
      run(PYTHON!, [TRAIN, '--data', data, '--out', join(dir, 'py'), '--resume', '--steps', '6']),
    ]);
    expectOk(ts);
    expectOk(py);
    expect(ts.stderr).toContain('at step 3');
    const back = await torchrun(2, [
      '--data',
      data,
      '--out',
      join(dir, 'ts'),
      '--resume',
      '--steps',
      '6',
    ]);
    expectOk(back);
    expect(back.stderr).toContain('step-000005 at step 5');
    const a = metrics(join(dir, 'ts')).steps;
    const b = metrics(join(dir, 'py')).steps;
    for (const step of [4, 5, 6])
      expect(Math.abs(a.get(step)!.loss! - b.get(step)!.loss!), `step ${step}`).toBeLessThan(1e-4);
  });

  it('ends with a clear message when a process is killed, and --resume recovers', async () => {
    const out = join(dir, 'killed');
    const args = ['--data', data, '--out', out, ...recipe, '--checkpoint-every', '2'];
    let killed = false;
    const started = Date.now();
    const r = await torchrun(2, [...args, '--steps', '100000'], (stderr, child) => {
      if (killed || !/saved periodic checkpoint/.test(stderr)) return;
      killed = true;
      // The workers are torchrun's children; kill the one with RANK=1.
      const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')
        .trim()
        .split(/\s+/);
      const rank1 = children.find((pid) =>
        readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes('RANK=1'),
      );
      process.kill(Number(rank1), 'SIGKILL');
    });
    expect(killed).toBe(true);
    expect(r.code).not.toBe(0);
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(r.stderr).toMatch(
      /train\.py: stopped at step \d+: .*rerun the same command with --resume/,
    );
    expect(r.stderr).toMatch(/rank\s*: 1 .*\n\s*exitcode\s*: -9/);
    const before = metrics(out).steps;
    const latest = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')).step as number;
    const resumed = await torchrun(2, [...args, '--resume', '--steps', String(latest + 2)]);
    expectOk(resumed);
    expect(resumed.stderr).toContain(`at step ${latest}`);
    // The step after the checkpoint trains on the same windows from the same state as before.
    const next = before.get(latest + 1);
    if (next)
      expect(Math.abs(metrics(out).steps.get(latest + 1)!.loss! - next.loss!)).toBeLessThan(1e-6);
    expect(metrics(out).evals.get(latest + 2)).toBeDefined();
  });

  it('passes the Python unit tests (model, checkpoints, trainer parts)', async () => {
    const r = await run(PYTHON!, [
      '-m',
      'unittest',
      'discover',
      '-s',
      dirname(TRAIN),
      '-p',
      'test_*.py',
    ]);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toMatch(/Ran \d+ tests/);
  });
});
