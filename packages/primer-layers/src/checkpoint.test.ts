import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEachBackend, expectClose, values } from '@primer-ez/test-utils';
import { afterAll, expect, it } from 'vitest';
import { CASES, checkpointFiles } from '../test/fixtures.js';
import {
  CheckpointError,
  ConfigError,
  configFromJson,
  deserializeCheckpoint,
  PrimerModel,
  readSafetensors,
  serializeCheckpoint,
  writeSafetensors,
} from './index.js';
import { loadCheckpoint, saveCheckpoint, writeFileAtomic } from './node.js';

const base = { vocab_size: 11, d_model: 8, n_heads: 2, n_layers: 1, d_ff: 16, max_seq_len: 6 };
const scratch = mkdtempSync(join(tmpdir(), 'primer-layers-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const rows = [[1, 4, 2, 9]];

describeEachBackend('checkpoints', (backend) => {
  it.each(CASES)(
    'fixture %s: reading then writing gives the same config and tensors PyTorch wrote',
    async (name) => {
      const files = checkpointFiles(name);
      const model = deserializeCheckpoint(files);
      const written = await serializeCheckpoint(model);
      expect(configFromJson(written.config)).toEqual(configFromJson(files.config));
      const ours = readSafetensors(written.weights).tensors;
      const theirs = readSafetensors(files.weights).tensors;
      expect([...ours.keys()]).toEqual([...theirs.keys()]);
      for (const [key, t] of theirs) expect(ours.get(key), key).toEqual(t);
      model.dispose();
    },
  );

  it('saves to and loads from a directory, keeping other files, leaving no temporary files', async () => {
    const dir = join(scratch, `roundtrip-${backend}`);
    const model = PrimerModel.create(
      { ...base, dconv: 'shared', positional: 'sinusoidal' },
      { seed: 1 },
    );
    await saveCheckpoint(model, dir);
    writeFileSync(join(dir, 'tokenizer.json'), '{}');
    await saveCheckpoint(model, dir); // overwrite in place
    const loaded = await loadCheckpoint(dir);
    expect(loaded.config).toEqual(model.config);
    expectClose(loaded.forward(rows), model.forward(rows), { atol: 0, rtol: 0 });
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
    loaded.dispose();
    model.dispose();
  });

  it('keeps the previous checkpoint intact when a save fails midway', async () => {
    const dir = join(scratch, `atomic-${backend}`);
    const model = PrimerModel.create(base, { seed: 2 });
    await saveCheckpoint(model, dir);
    const before = readFileSync(join(dir, 'model.safetensors'));
    // A write that fails after the temporary file was opened (data of the wrong type).
    await expect(
      writeFileAtomic(join(dir, 'model.safetensors'), 42 as unknown as string),
    ).rejects.toThrow();
    // A save of a model whose parameters were freed fails while serialising.
    const doomed = PrimerModel.create(base, { seed: 3 });
    doomed.dispose();
    await expect(saveCheckpoint(doomed, dir)).rejects.toThrow();
    expect(readFileSync(join(dir, 'model.safetensors')).equals(before)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
    const loaded = await loadCheckpoint(dir);
    expect(values(loaded.forward(rows))).toEqual(values(model.forward(rows)));
    loaded.dispose();
    model.dispose();
  });

  it('names the tensor or key when a checkpoint does not match its config', async () => {
    const model = PrimerModel.create(base, { seed: 4 });
    const files = await serializeCheckpoint(model);
    const tensors = readSafetensors(files.weights).tensors;
    const without = (name: string) => writeSafetensors([...tensors].filter(([k]) => k !== name));
    const withExtra = writeSafetensors([
      ...tensors,
      ['blocks.9.ffn.up.weight', { shape: [1], data: new Float32Array(1) }],
    ]);
    const reshaped = writeSafetensors(
      [...tensors].map(([k, t]) => [
        k,
        k === 'lm_head.weight' ? { shape: [8, 11], data: t.data } : t,
      ]),
    );
    const cases: [Partial<{ config: string; weights: Uint8Array }>, string][] = [
      [
        { weights: without('blocks.0.attn.v_dconv.weight') },
        "model.safetensors is missing tensor 'blocks.0.attn.v_dconv.weight' [8,1,3].",
      ],
      [
        { weights: withExtra },
        'model.safetensors has tensor(s) the config does not use: blocks.9.ffn.up.weight',
      ],
      [
        { weights: reshaped },
        "tensor 'lm_head.weight' has shape [8,11] in model.safetensors; the config needs [11,8].",
      ],
      [
        { config: files.config.replace('"d_ff": 16', '"d_ff": 32') },
        "tensor 'blocks.0.ffn.up.weight' has shape [16,8] in model.safetensors; the config needs [32,8].",
      ],
      [
        { config: files.config.replace('"attention": "mdha"', '"attention": "mha"') },
        'does not use: blocks.0.attn.q_dconv.weight',
      ],
    ];
    for (const [change, message] of cases) {
      const broken = { ...files, ...change };
      expect(() => deserializeCheckpoint(broken)).toThrow(CheckpointError);
      expect(() => deserializeCheckpoint(broken)).toThrow(message);
    }
    expect(() => deserializeCheckpoint({ ...files, config: '{"d_model": 8' })).toThrow(ConfigError);
    expect(() =>
      deserializeCheckpoint({
        ...files,
        config: files.config.replace('"n_heads": 2', '"n_heads": 3'),
      }),
    ).toThrow('config: d_model = 8 must be a multiple of n_heads = 3');
    model.dispose();
  });
});
