// An experiment arm killed part-way goes on from its checkpoint when the experiment is run again
// with the same settings, and ends exactly where an arm that was never killed ends.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tinyExperiment } from './experiment-recipe.js';
import { CLI, runCli, scratch } from './process.js';

const dir = scratch('primer-ez-experiment-resume-');
const recipe = ['experiment', 'primer-vs-vanilla', '--arms', 'primer-ez', ...tinyExperiment(8)];
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
type Eval = { step: number; loss: number };
const losses = (out: string) =>
  (json(join(out, 'primer-ez', 'finished.json')).curve.evals as Eval[]).map((e) => [
    e.step,
    e.loss,
  ]);

/** Runs the experiment into `out` and SIGKILLs it once step 4's validation is reported. */
function killAfterStep4(out: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...recipe, '--out', out], { cwd: dir });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/step 4: validation loss/.test(stderr)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`exited ${code} before the kill:\n${stderr}`));
      else resolve(stderr);
    });
  });
}

describe('primer-ez experiment: an arm killed part-way', () => {
  const whole = join(dir, 'whole');
  const killed = join(dir, 'killed');

  it('continues from its checkpoint and ends as the arm that was never killed', async () => {
    const reference = runCli([...recipe, '--out', whole], { cwd: dir });
    expect(reference.code).toBe(0);
    await killAfterStep4(killed);
    expect(existsSync(join(killed, 'primer-ez', 'finished.json'))).toBe(false);
    const again = runCli([...recipe, '--out', killed], { cwd: dir });
    expect(again.stderr).not.toMatch(/unexpected error/);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(
      /primer-ez: continuing .*step-00000[24] at step [24] \(\d validations kept\)/,
    );
    // Every validation, those before the kill and those after, equals the uninterrupted run's.
    expect(losses(killed)).toEqual(losses(whole));
    expect(losses(killed).map(([step]) => step)).toEqual([0, 2, 4, 6, 8]);
    // metrics.jsonl holds each step once.
    const steps = readFileSync(join(killed, 'primer-ez', 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((m) => m.val_loss === undefined)
      .map((m) => m.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('starts over, saying why, when run again with other settings or --fresh', async () => {
    const killed = join(dir, 'killed-other');
    await killAfterStep4(killed);
    const other = runCli([...recipe, '--lr', '0.002', '--out', killed], { cwd: dir });
    expect(other.code).toBe(0);
    expect(other.stderr).toMatch(
      /was started with other settings \(lr 0\.001, not 0\.002\); starting over/,
    );
    expect(other.stderr).not.toMatch(/continuing/);
    expect(json(join(killed, 'primer-ez', 'finished.json')).settings.lr).toBe(0.002);
    // A finished arm is reused; --fresh trains it again from step 0.
    const fresh = runCli([...recipe, '--lr', '0.002', '--fresh', '--out', killed], { cwd: dir });
    expect(fresh.code).toBe(0);
    expect(fresh.stderr).not.toMatch(/continuing|reusing/);
    expect(fresh.stderr).toMatch(/primer-ez: [\d,]+ parameters/);
  });

  it('reuses or continues an arm only for the same model (a change of defaults retrains it)', () => {
    // The arm as a version with another default (no conv bias) would have left it.
    const path = join(whole, 'primer-ez', 'finished.json');
    const info = join(whole, 'primer-ez', 'run.json');
    const finished = json(path);
    const now = JSON.parse(finished.model);
    expect(now).toMatchObject({ dconv_bias: true, dconv_init: 'uniform' });
    const was = JSON.stringify({ ...now, dconv_bias: false });
    writeFileSync(path, JSON.stringify({ ...finished, model: was }));
    const run = json(info);
    writeFileSync(info, JSON.stringify({ ...run, settings: { ...run.settings, model: was } }));
    const r = runCli([...recipe, '--out', whole], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /finished with other settings \(model dconv_bias false, not true\); not reused/,
    );
    expect(r.stderr).toMatch(/was started with other settings \(model .*\); starting over/);
    expect(r.stderr).toMatch(/primer-ez: [\d,]+ parameters/);
    expect(json(path).model).toBe(finished.model);
    expect(losses(whole).map(([step]) => step)).toEqual([0, 2, 4, 6, 8]);
  });
});
