// `--corpus`: the embedded texts, chosen by name, recorded by the run and kept on --resume.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'primer-ez-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('primer-ez train --corpus sotu', () => {
  const run = join(dir, 'sotu');
  const small = ['--backend', 'cpu', '--workers', '1', '--out', run];

  it('trains on the State of the Union addresses, records them, and resumes on them', () => {
    const r = cli(
      'train',
      '--corpus',
      'sotu',
      '--preset',
      'tiny',
      '--steps',
      '1',
      '--batch-size',
      '2',
      '--seq-len',
      '16',
      '--eval-windows',
      '1',
      '--sample-length',
      '4',
      ...small,
    );
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/data: State of the Union addresses .*@stdlib\/datasets-sotu/);
    const { corpus } = JSON.parse(readFileSync(join(run, 'run.json'), 'utf8'));
    expect(corpus).toEqual({
      source: expect.stringMatching(/^State of the Union addresses/),
      files: [],
    });
    const resumed = cli('train', '--resume', '--steps', '2', ...small);
    expect(resumed.code).toBe(0);
    // Another embedded text is a change of corpus, refused unless asked for.
    const other = cli('train', '--resume', '--corpus', 'moby-dick', '--steps', '3', ...small);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(
      /the corpus differs .*State of the Union.*; now Moby-Dick .*--allow-corpus-change/,
    );
  });

  it('refuses --corpus with --text or --data', () => {
    for (const flag of ['--text', '--data']) {
      const r = cli('train', '--corpus', 'sotu', flag, 'x', '--out', join(dir, 'unused'));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(`train: --corpus sotu and ${flag} both name the training data`);
    }
  });
});
