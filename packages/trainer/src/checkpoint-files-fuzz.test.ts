// Fuzz: checkpoints whose files are replaced by FIFOs, devices, links, link loops, directories
// and sockets. Every read — the trainer's readSnapshotDir, the model's loadCheckpoint, the
// tokenizer's loadTokenizer, a resume's restoreNewest — must end at once (no hang, no unbounded
// read) with one line naming the file, or succeed when every file is still a regular one.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConfigInput, PrimerModel } from '@primer-ez/primer-layers';
import { loadCheckpoint } from '@primer-ez/primer-layers/node';
import { trainCharTokenizer } from '@primer-ez/tokenizer';
import { loadTokenizer } from '@primer-ez/tokenizer/node';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitTokens } from './data.js';
import { FILES, RunDirectory, readSnapshotDir, restoreNewest } from './node.js';
import { Trainer } from './trainer.js';

const scratch = mkdtempSync(join(tmpdir(), 'trainer-files-fuzz-'));
const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  rmSync(scratch, { recursive: true, force: true });
});
const config: ConfigInput = {
  vocab_size: 6,
  d_model: 8,
  n_heads: 2,
  n_layers: 1,
  d_ff: 16,
  max_seq_len: 6,
};
const text = 'abcdef'.repeat(60);
let good: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  const tokenizer = trainCharTokenizer(text);
  const model = PrimerModel.create({ ...config, vocab_size: tokenizer.vocabSize }, { seed: 1 });
  const trainer = new Trainer(
    model,
    splitTokens(Int32Array.from(tokenizer.encode(text))),
    {
      batchSize: 2,
      evalWindows: 2,
    },
    tokenizer,
  );
  const run = await RunDirectory.open(join(scratch, 'run'));
  await trainer.run({ steps: 1, checkpointEvery: 1, sink: run });
  await run.close();
  good = join(scratch, 'run', 'checkpoints', 'step-000001');
  trainer.dispose();
  model.dispose();
});

type Odd = 'fifo' | 'zero' | 'loop' | 'dangling' | 'dir' | 'socket' | 'keep';
const ODD: Odd[] = ['fifo', 'zero', 'loop', 'dangling', 'dir', 'socket', 'keep'];

async function replace(path: string, how: Odd): Promise<void> {
  if (how === 'keep') return;
  unlinkSync(path);
  if (how === 'fifo') execFileSync('mkfifo', [path]);
  else if (how === 'zero') symlinkSync('/dev/zero', path);
  else if (how === 'loop') {
    symlinkSync(`${path}.b`, path);
    symlinkSync(path, `${path}.b`);
  } else if (how === 'dangling') symlinkSync(join(scratch, 'nowhere'), path);
  else if (how === 'dir') mkdirSync(path);
  else {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
  }
}

/** Resolves to the error (or undefined), failing if it takes more than 5 s: a hang. */
async function settles(work: () => Promise<unknown>): Promise<Error | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('hung for 5 s')), 5_000);
  });
  try {
    await Promise.race([work(), hang]);
    return undefined;
  } catch (error) {
    if ((error as Error).message === 'hung for 5 s') throw error;
    return error as Error;
  } finally {
    clearTimeout(timer);
  }
}

describe('checkpoint files replaced by FIFOs, devices, links and loops', () => {
  it('every loader fails fast in one line naming the file, or loads', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          Object.fromEntries(Object.values(FILES).map((f) => [f, fc.constantFrom(...ODD)])) as {
            [K in (typeof FILES)[keyof typeof FILES]]: fc.Arbitrary<Odd>;
          },
        ),
        async (plan) => {
          const dir = join(scratch, `case-${n++}`);
          cpSync(good, dir, { recursive: true });
          for (const [file, how] of Object.entries(plan)) await replace(join(dir, file), how);
          const odd = Object.entries(plan)
            .filter(([, how]) => how !== 'keep')
            .map(([f]) => f);
          const checks: [() => Promise<unknown>, string[]][] = [
            [() => readSnapshotDir(dir), Object.values(FILES)],
            [() => loadCheckpoint(dir), [FILES.config, FILES.weights]],
            [() => loadTokenizer(join(dir, FILES.tokenizer)), [FILES.tokenizer]],
            [() => restoreNewest([dir], (s) => s.state.step), Object.values(FILES)],
          ];
          for (const [work, reads] of checks) {
            const error = await settles(work);
            const broken = odd.filter((f) => reads.includes(f));
            if (broken.length === 0) {
              expect(error).toBeUndefined();
              continue;
            }
            expect(error, `${JSON.stringify(plan)} loaded`).toBeDefined();
            expect(error!.message).not.toMatch(/\n/);
            expect(broken.some((f) => error!.message.includes(f))).toBe(true);
          }
          rmSync(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: 40, seed: 19 },
    );
  });
});
