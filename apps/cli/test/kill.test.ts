// SIGKILL during training and checkpointing, at random moments, in a loop: whatever moment the
// process dies, the run directory's latest checkpoint is complete and `--resume` continues it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFromJson, readSafetensors } from '@primer-ez/primer-layers';
import { readMobyDick } from '@primer-ez/test-utils/corpus';
import { validateTrainerState } from '@primer-ez/trainer';
import { RunDirectory, readSnapshotDir } from '@primer-ez/trainer/node';
import { describe, expect, it } from 'vitest';
import { CLI, scratch } from './process.js';

const dir = scratch('primer-ez-kill-');
const text = join(dir, 'moby.txt');
const run = join(dir, 'run');
const common = [
  '--text',
  text,
  '--preset',
  'tiny',
  // Steps this small take less time than a save: most kills land inside one.
  '--batch-size',
  '1',
  '--seq-len',
  '8',
  '--eval-every',
  '0',
  '--sample-length',
  '0',
  '--checkpoint-every',
  '1',
  '--backend',
  'cpu',
  '--out',
  run,
];

/** Starts `primer-ez train --resume` and SIGKILLs it `delayMs` after its first saved checkpoint. */
function killDuringTraining(delayMs: number): Promise<{ saves: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [CLI, 'train', '--resume', ...common, '--steps', '9999'],
      {
        cwd: dir,
      },
    );
    let stderr = '';
    let armed = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!armed && /saved periodic checkpoint/.test(stderr)) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), delayMs);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`exited ${code} before the kill:\n${stderr}`));
      else resolve({ saves: stderr.match(/saved periodic checkpoint/g)?.length ?? 0 });
    });
  });
}

/** Checks, without tfjs, that a checkpoint directory is whole: every file parses and validates. */
async function checkWhole(checkpoint: string): Promise<number> {
  const snapshot = await readSnapshotDir(checkpoint);
  configFromJson(snapshot.model.config);
  expect(readSafetensors(snapshot.model.weights).tensors.size).toBeGreaterThan(0);
  expect(readSafetensors(snapshot.optimizer).tensors.size).toBeGreaterThan(0);
  JSON.parse(readFileSync(join(checkpoint, 'tokenizer.json'), 'utf8'));
  return validateTrainerState(snapshot.state).step;
}

describe('primer-ez train killed with SIGKILL at random moments', () => {
  it('always leaves a complete latest checkpoint that --resume continues', async () => {
    writeFileSync(text, readMobyDick().slice(0, 30_000));
    const first = spawnSync(process.execPath, [CLI, 'train', ...common, '--steps', '2'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(first.stderr).not.toMatch(/unexpected error/);
    expect(first.status).toBe(0);

    // A fixed-seed generator: the same "random" kill moments on every run of the test.
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    let step = 2;
    let debris = 0;
    const kills = 16;
    for (let i = 0; i < kills; i++) {
      await killDuringTraining(Math.floor(random() * 150));
      const leftovers = readdirSync(join(run, 'checkpoints')).filter((d) => /\.(tmp|old)-/.test(d));
      if (leftovers.length > 0 || readdirSync(run).some((f) => f.endsWith('.tmp'))) debris++;
      // Opening repairs (and takes the lock of the SIGKILLed writer over); closing frees it.
      const opened = await RunDirectory.open(run);
      const latest = await opened.checkpointDir();
      await opened.close();
      expect(latest).toBeDefined();
      const saved = await checkWhole(latest!);
      expect(saved).toBeGreaterThanOrEqual(step);
      step = saved;
      expect(readdirSync(join(run, 'checkpoints')).filter((d) => /\.(tmp|old)-/.test(d))).toEqual(
        [],
      );
    }
    process.stderr.write(
      `${kills} SIGKILLs: ${debris} left a half-written save behind (repaired); latest checkpoint at step ${step}\n`,
    );

    const resumed = spawnSync(
      process.execPath,
      [CLI, 'train', '--resume', ...common, '--steps', String(step + 2)],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(resumed.stderr).toMatch(new RegExp(`resuming .*step-0*${step} at step ${step}`));
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toMatch(
      new RegExp(`validation loss [\\d.]+ nats/token .* at step ${step + 2}`),
    );
    expect(existsSync(join(run, 'checkpoints', `step-${String(step + 2).padStart(6, '0')}`))).toBe(
      true,
    );
  }, 180_000);
});
