import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SWIFTSHADER_ICD } from '@primer-ez/backend-node';
import { readMobyDick } from '@primer-ez/test-utils/corpus';
import { describe, expect, it } from 'vitest';
import { runCli, scratch } from './process.js';

const dir = scratch('primer-ez-cli-webgpu-');
const cli = (...args: string[]) =>
  runCli(args, {
    cwd: dir,
    timeout: 400_000,
    env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD },
  });

describe('primer-ez --backend webgpu (Dawn on SwiftShader)', () => {
  it('trains (validation loss goes down) and evaluates like the cpu backend', () => {
    if (!existsSync(SWIFTSHADER_ICD) && process.env.VK_ICD_FILENAMES === undefined)
      throw new Error(
        `${SWIFTSHADER_ICD} is missing: apt-get install -y chromium-common libvulkan1`,
      );
    const text = join(dir, 'moby.txt');
    writeFileSync(text, readMobyDick().slice(0, 4_000));
    const run = join(dir, 'run');
    const train = cli(
      'train',
      '--text',
      text,
      '--preset',
      'tiny',
      '--batch-size',
      '8',
      '--backend',
      'webgpu',
      '--steps',
      '2',
      '--eval-every',
      '1',
      '--checkpoint-every',
      '2',
      '--sample-length',
      '0',
      '--eval-windows',
      '4',
      '--lr',
      '0.01',
      '--warmup',
      '0',
      '--out',
      run,
    );
    expect(train.stderr).toContain(
      'backend: webgpu (backend webgpu, cpu, software adapter google swiftshader',
    );
    expect(train.code, train.stderr).toBe(0);
    const losses = [...train.stderr.matchAll(/validation loss (\d+\.\d+) \(perplexity/g)].map((m) =>
      Number(m[1]),
    );
    expect(losses).toHaveLength(2);
    expect(losses[1]!).toBeLessThan(losses[0]!);

    // Scored on a short text (8 windows of 32: one batch), to keep software WebGPU quick.
    const scored = join(dir, 'scored.txt');
    writeFileSync(scored, readMobyDick().slice(1_000, 1_257));
    const scores = ['webgpu', 'cpu'].map((backend) => {
      const r = cli('eval', '--checkpoint', run, '--text', scored, '--backend', backend, '--json');
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { loss: number; tokens: number };
    });
    expect(scores[0]!.tokens).toBe(scores[1]!.tokens);
    expect(Math.abs(scores[0]!.loss - scores[1]!.loss)).toBeLessThan(1e-4);
  }, 900_000);
});
