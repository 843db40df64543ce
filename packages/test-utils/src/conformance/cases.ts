// The checkpoints the conformance suite runs, read in Node: primer-layers' PyTorch fixtures
// (fixtures/torch/<case>/: config.json + model.safetensors, the ids, targets and PyTorch's logits
// and loss in expected.*), and a freshly created, seeded `tiny` model with dropout.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Batch, CheckpointFiles, ConformanceLibrary, ModelLike } from './procedure.js';

const FIXTURES = fileURLToPath(new URL('../../../primer-layers/fixtures/torch/', import.meta.url));

/** The PyTorch fixture cases: both MDHA variants, vanilla, sinusoidal positions + tied head. */
export const TORCH_CASES = ['per_channel', 'shared', 'vanilla', 'sinusoidal_tied'] as const;
/** The seeded case's name. */
export const SEEDED_CASE = 'seeded-dropout';
/** Every case, in the order the suite runs them. */
export const CASES = [...TORCH_CASES, SEEDED_CASE] as const;
export type CaseName = (typeof CASES)[number];

/** A checkpoint, the batch to run it on, and (for the fixtures) PyTorch's logits and loss. */
export interface ConformanceCase {
  name: CaseName;
  files: CheckpointFiles;
  batch: Batch;
  torch?: { logits: Float32Array; loss: number };
}

/** What loading the cases needs beyond {@link ConformanceLibrary}: primer-layers' own. */
export interface CaseLibrary extends ConformanceLibrary {
  readSafetensors(bytes: Uint8Array): { tensors: ReadonlyMap<string, { data: Float32Array }> };
  PrimerModel: { create(config: never, options: { seed: number }): ModelLike };
  presetConfig(preset: 'tiny', vocab: number, overrides: { dropout: number }): unknown;
}

export function torchCase(lib: CaseLibrary, name: (typeof TORCH_CASES)[number]): ConformanceCase {
  const dir = `${FIXTURES}${name}/`;
  const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8'));
  const { tensors } = lib.readSafetensors(
    new Uint8Array(readFileSync(`${dir}expected.safetensors`)),
  );
  return {
    name,
    files: {
      config: readFileSync(`${dir}config.json`, 'utf8'),
      weights: new Uint8Array(readFileSync(`${dir}model.safetensors`)),
    },
    batch: { ids: expected.ids, targets: expected.targets },
    torch: { logits: tensors.get('logits')!.data, loss: expected.loss },
  };
}

/**
 * A seeded model at the `tiny` preset (64-token vocabulary, dropout 0.1), serialized on the
 * active backend; its steps train with dropout, whose seeded masks are the same on every backend.
 */
export async function seededCase(lib: CaseLibrary): Promise<ConformanceCase> {
  const vocab = 64;
  const config = lib.presetConfig('tiny', vocab, { dropout: 0.1 }) as never;
  const model = lib.PrimerModel.create(config, { seed: 5 });
  const files = await lib.serializeCheckpoint(model);
  model.dispose();
  const row = (b: number) => Array.from({ length: 32 }, (_, t) => (t * 13 + b * 7 + 3) % vocab);
  const ids = [row(0), row(1), row(2)];
  const targets = ids.map((r) => [...r.slice(1), 0]);
  return { name: SEEDED_CASE, files, batch: { ids, targets, dropoutSeed: 100 } };
}

/** Every case (the seeded one is written on the active backend). */
export async function loadCases(lib: CaseLibrary): Promise<ConformanceCase[]> {
  return [...TORCH_CASES.map((name) => torchCase(lib, name)), await seededCase(lib)];
}
