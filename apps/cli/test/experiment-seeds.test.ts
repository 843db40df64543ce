import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tinyExperiment } from './experiment-recipe.js';
import { runCli, scratch } from './process.js';

const dir = scratch('primer-ez-seeds-');
const cli = (...args: string[]) =>
  runCli(['experiment', 'primer-vs-vanilla', ...args], { cwd: dir });

/** The settings every run below shares (the embedded Moby-Dick, a tiny model, 4 steps). */
const recipe = tinyExperiment(4);
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('primer-ez experiment primer-vs-vanilla --seeds', () => {
  const out = join(dir, 'seeds');
  const arms = ['--arms', 'vanilla,primer-ez'];

  it('trains each seed in OUT/seed-S/ and writes the table of all seeds', () => {
    const r = cli(...recipe, ...arms, '--seeds', '0,1', '--throughput-steps', '1', '--out', out);
    expect(r.stderr).not.toMatch(/unexpected error/);
    expect(r.code).toBe(0);
    const { meta, results, throughput } = json(join(out, 'results.json'));
    expect(meta).toMatchObject({ seeds: [0, 1], steps: 4, throughputSteps: 1, workers: 2 });
    expect(results.map((x: { arm: string }) => x.arm)).toEqual(['vanilla', 'primer-ez']);
    for (const arm of ['vanilla', 'primer-ez']) {
      expect(throughput[arm]).toBeGreaterThan(0);
      const row = results.find((x: { arm: string }) => x.arm === arm);
      // The aggregate's finals are each seed's own table's.
      const finals = [0, 1].map(
        (seed) =>
          json(join(out, `seed-${seed}`, 'results.json')).results.find(
            (x: { arm: string }) => x.arm === arm,
          ).final,
      );
      expect(row.perSeed.map((s: { final: number }) => s.final)).toEqual(finals);
      expect(row.finalLoss.mean).toBeCloseTo((finals[0]! + finals[1]!) / 2, 12);
      expect(row.paired).toBe(2);
      expect(json(join(out, `seed-1`, arm, 'finished.json')).settings.seed).toBe(1);
    }
    const vanilla = results[0];
    expect(vanilla.stepSpeedup).toMatchObject({ n: 2, mean: 1 });
    expect(vanilla.timeSpeedup.mean).toBeCloseTo(1, 12);
    expect(r.stdout).toBe(readFileSync(join(out, 'results.md'), 'utf8'));
    expect(r.stdout).toMatch(/quiet machine/);
    // Two mean curves, each over two faint per-seed curves.
    expect(readFileSync(join(out, 'loss.svg'), 'utf8').match(/<path /g)).toHaveLength(6);
  });

  it('OUT/seed-S/ is the single-seed run of seed S: --seed S --out OUT/seed-S reuses it', () => {
    const r = cli(...recipe, ...arms, '--seed', '1', '--out', join(out, 'seed-1'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/vanilla: finished earlier in .*; reusing it/);
    expect(r.stderr).toMatch(/primer-ez: finished earlier in .*; reusing it/);
    expect(r.stderr).not.toMatch(/parameters/);
  });

  it('a rerun reuses every arm; --report-only trains nothing, seeds not run yet included', () => {
    const again = cli(
      ...recipe,
      ...arms,
      '--seeds',
      '0,1',
      '--throughput-steps',
      '0',
      '--out',
      out,
    );
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/parameters/);
    expect(json(join(out, 'results.json')).throughput).toBeNull();
    const report = cli(
      ...recipe,
      '--seeds',
      '0,1,2',
      '--report-only',
      '--throughput-steps',
      '0',
      '--out',
      out,
    );
    expect(report.code).toBe(0);
    expect(report.stderr).not.toMatch(/parameters/);
    expect(report.stderr).toMatch(/vanilla has not finished for seed 2/);
    expect(existsSync(join(out, 'seed-2'))).toBe(false);
    const { results } = json(join(out, 'results.json'));
    expect(results.map((x: { finalLoss: { n: number } }) => x.finalLoss.n)).toEqual([2, 2]);
  });

  it('--report-only with nothing finished under these settings is an error naming the fix', () => {
    const r = cli(...recipe, '--seeds', '0,1', '--report-only', '--lr', '0.5', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/finished with other settings \(lr 0\.001, not 0\.5\); not reused/);
    expect(r.stderr).toMatch(/no arm has finished in .*seed-\{0,1\} with these settings/);
  });
});

describe('experiment flags: clear usage errors', () => {
  it.each([
    [['--seed', '1', '--seeds', '0,1'], /--seed 1 and --seeds 0,1 both choose the seeds; give one/],
    [['--seeds', '0,0'], /--seeds "0,0" lists seed 0 twice/],
    [['--seeds', 'three'], /--seeds "three": "three" is not a non-negative integer/],
    [
      ['--throughput-steps', '5'],
      /--throughput-steps times the arms of a --seeds run; add --seeds/,
    ],
    [['--corpus', 'moby-dick', '--text', 'notes.txt'], /--corpus moby-dick and --text both name/],
    [['--corpus', 'gutenberg'], /--corpus "gutenberg" is not one of moby-dick, sotu/],
  ])('%j', (args, message) => {
    const r = cli(...args, '--backend', 'cpu', '--out', join(dir, 'unused'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});
