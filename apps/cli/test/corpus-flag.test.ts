import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, scratch } from './process.js';

const dir = scratch('primer-ez-corpus-');
const cli = (...args: string[]) => runCli(args, { cwd: dir });

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
