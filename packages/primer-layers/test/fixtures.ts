// The PyTorch fixtures of interop/pytorch/make_fixtures.py, read from fixtures/torch/<case>/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CheckpointFiles, readSafetensors, type StoredTensor } from '../src/index.js';

export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/torch/', import.meta.url));
export const CASES = ['per_channel', 'shared', 'vanilla', 'sinusoidal_tied'] as const;

export interface Expected {
  ids: number[][];
  targets: number[][];
  loss: number;
  grads: string[];
  tensors: Map<string, StoredTensor>;
}

export function checkpointFiles(name: string): CheckpointFiles {
  const dir = join(FIXTURE_DIR, name);
  return {
    config: readFileSync(join(dir, 'config.json'), 'utf8'),
    weights: new Uint8Array(readFileSync(join(dir, 'model.safetensors'))),
  };
}

export function expected(name: string): Expected {
  const dir = join(FIXTURE_DIR, name);
  const json = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
  const { tensors } = readSafetensors(
    new Uint8Array(readFileSync(join(dir, 'expected.safetensors'))),
  );
  return { ...json, tensors };
}
