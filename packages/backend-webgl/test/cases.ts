// The checkpoints of the browser parity suite, read in Node: primer-layers' PyTorch fixtures
// (fixtures/torch/<case>/: config.json + model.safetensors, ids and targets from expected.json)
// and a freshly created, seeded model written with serializeCheckpoint.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  type CheckpointFiles,
  PrimerModel,
  presetConfig,
  serializeCheckpoint,
} from '@primer-ez/primer-layers';
import type { Batch } from './procedure.js';

const layers = dirname(
  createRequire(import.meta.url).resolve('@primer-ez/primer-layers/package.json'),
);
const FIXTURES = join(layers, 'fixtures', 'torch');

/** The PyTorch fixture cases: both MDHA variants, vanilla, sinusoidal positions + tied head. */
export const TORCH_CASES = ['per_channel', 'shared', 'vanilla', 'sinusoidal_tied'] as const;

export interface ParityCase {
  name: string;
  files: CheckpointFiles;
  batch: Batch;
}

export function torchCase(name: string): ParityCase {
  const dir = join(FIXTURES, name);
  const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  return {
    name,
    files: {
      config: readFileSync(join(dir, 'config.json'), 'utf8'),
      weights: new Uint8Array(readFileSync(join(dir, 'model.safetensors'))),
    },
    batch: { ids: expected.ids, targets: expected.targets },
  };
}

/**
 * A seeded model at the `tiny` preset (64-token vocabulary, dropout 0.1), serialized on the
 * active backend; its steps train with dropout, whose seeded masks are the same on every backend.
 */
export async function seededCase(): Promise<ParityCase> {
  const vocab = 64;
  const model = PrimerModel.create(presetConfig('tiny', vocab, { dropout: 0.1 }), { seed: 5 });
  const files = await serializeCheckpoint(model);
  model.dispose();
  const row = (b: number) => Array.from({ length: 32 }, (_, t) => (t * 13 + b * 7 + 3) % vocab);
  const ids = [row(0), row(1), row(2)];
  const targets = ids.map((r) => [...r.slice(1), 0]);
  return { name: 'seeded-dropout', files, batch: { ids, targets, dropoutSeed: 100 } };
}
