import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEachBackend, expectClose, values } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, expect, it } from 'vitest';
import { CASES, checkpointFiles } from '../test/fixtures.js';
import {
  CheckpointError,
  ConfigError,
  configFromJson,
  deserializeCheckpoint,
  NonFiniteWeightError,
  PrimerModel,
  readSafetensors,
  SafetensorsError,
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

  it('loads a config.json that omits dconv_bias with the bias its weights hold (older checkpoints)', async () => {
    for (const dconv_bias of [false, true]) {
      const model = PrimerModel.create({ ...base, dconv_bias }, { seed: 6 });
      const files = await serializeCheckpoint(model);
      const config = JSON.parse(files.config) as Record<string, unknown>;
      delete config.dconv_bias;
      const loaded = deserializeCheckpoint({ ...files, config: JSON.stringify(config) });
      expect(loaded.config.dconv_bias).toBe(dconv_bias);
      expect(loaded.config).toEqual(model.config);
      loaded.dispose();
      model.dispose();
    }
  });

  it('stores the data CRC-32 and the config in the weights metadata, as strings', async () => {
    const model = PrimerModel.create(base, { seed: 5 });
    const files = await serializeCheckpoint(model);
    const { metadata } = readSafetensors(files.weights);
    expect(Object.keys(metadata).sort()).toEqual(['config', 'crc32', 'format', 'model_type']);
    expect(metadata.crc32).toMatch(/^[0-9a-f]{8}$/);
    expect(JSON.parse(metadata.config!)).toEqual(model.config);
    expect(configFromJson(metadata.config!)).toEqual(configFromJson(files.config));
    model.dispose();
  });

  it('rejects non-finite weights, naming the tensor, without leaking tensors', async () => {
    const model = PrimerModel.create(base, { seed: 6 });
    const files = await serializeCheckpoint(model);
    const { tensors, metadata } = readSafetensors(files.weights);
    const { crc32: _, ...rest } = metadata;
    for (const [value, shown] of [
      [Number.NaN, 'NaN'],
      [Number.NEGATIVE_INFINITY, '-Infinity'],
    ] as const) {
      const broken = writeSafetensors(
        [...tensors].map(([name, t]) => {
          if (name !== 'blocks.0.ffn.down.weight') return [name, t];
          const data = t.data.slice();
          data[5] = value;
          return [name, { shape: t.shape, data }];
        }),
        rest,
      );
      const before = tf.memory().numTensors;
      expect(() => deserializeCheckpoint({ ...files, weights: broken })).toThrow(
        new CheckpointError(
          `tensor 'blocks.0.ffn.down.weight' holds ${shown} at index 5 (of 128): a model with non-finite weights is broken (a diverged training run, or a corrupted file); load an earlier checkpoint.`,
        ),
      );
      expect(tf.memory().numTensors).toBe(before);
    }
    model.dispose();
  });

  it('refuses to save non-finite weights, naming the tensor', async () => {
    const model = PrimerModel.create(base, { seed: 6 });
    const w = model.params.get('blocks.0.ffn.up.weight')!;
    w.assign(tf.fill(w.shape, Number.POSITIVE_INFINITY));
    const before = tf.memory().numTensors;
    const error = await serializeCheckpoint(model).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteWeightError);
    expect(error).toMatchObject({
      tensor: 'blocks.0.ffn.up.weight',
      message:
        "tensor 'blocks.0.ffn.up.weight' holds Infinity at index 0: refusing to save a model with non-finite weights (it could not be loaded).",
    });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('rejects a config.json changed since the weights were saved, except for dropout', async () => {
    const model = PrimerModel.create({ ...base, dropout: 0.1 }, { seed: 7 });
    const files = await serializeCheckpoint(model);
    const changed = (from: string, to: string) => {
      expect(files.config).toContain(from);
      return { ...files, config: files.config.replace(from, to) };
    };
    // Same tensor shapes, different model: only the saved config tells.
    expect(() => deserializeCheckpoint(changed('"n_heads": 2', '"n_heads": 4'))).toThrow(
      new CheckpointError(
        'config.json differs from the config these weights were saved with: n_heads = 4 (saved: 2). ' +
          `The weights only compute the saved model; restore config.json to ${JSON.stringify(model.config)} (only dropout may be changed).`,
      ),
    );
    expect(() =>
      deserializeCheckpoint(changed('"norm_eps": 0.00001', '"norm_eps": 0.001')),
    ).toThrow(
      'differs from the config these weights were saved with: norm_eps = 0.001 (saved: 0.00001)',
    );
    const retuned = deserializeCheckpoint(changed('"dropout": 0.1', '"dropout": 0.3'));
    expect(retuned.config.dropout).toBe(0.3);
    expectClose(retuned.forward(rows), model.forward(rows), { atol: 0, rtol: 0 });
    retuned.dispose();
    model.dispose();
  });

  it('names a corrupted config in the weights metadata', async () => {
    const model = PrimerModel.create(base, { seed: 8 });
    const files = await serializeCheckpoint(model);
    const { tensors } = readSafetensors(files.weights);
    const weights = writeSafetensors(tensors, { config: '{"d_model": 8' });
    expect(() => deserializeCheckpoint({ ...files, weights })).toThrow(
      'model.safetensors __metadata__.config is not a valid config (the file is corrupted): config.json is not valid JSON: ',
    );
    model.dispose();
  });

  it('refuses checkpoint files that are not regular files or far too large, before reading them', async () => {
    const dir = join(scratch, `odd-files-${backend}`);
    const model = PrimerModel.create(base, { seed: 9 });
    await saveCheckpoint(model, dir);
    model.dispose();
    rmSync(join(dir, 'model.safetensors'));
    mkdirSync(join(dir, 'model.safetensors'));
    await expect(loadCheckpoint(dir)).rejects.toThrow(
      new CheckpointError(
        `${join(dir, 'model.safetensors')} is not a regular file (it is a directory); give the path of a file`,
      ),
    );
    writeFileSync(join(dir, 'config.json'), Buffer.alloc(4_000_001, 0x20));
    await expect(loadCheckpoint(dir)).rejects.toThrow(
      `${join(dir, 'config.json')} is 4000001 bytes, more than the 4000000 bytes read (is it the right file?)`,
    );
  });

  it('loads a safetensors file truncated or extended by a byte as an error, never as a model', async () => {
    const model = PrimerModel.create(base, { seed: 10 });
    const files = await serializeCheckpoint(model);
    const longer = new Uint8Array(files.weights.length + 1);
    longer.set(files.weights);
    for (const weights of [files.weights.subarray(0, files.weights.length - 1), longer]) {
      expect(() => deserializeCheckpoint({ ...files, weights })).toThrow(SafetensorsError);
    }
    model.dispose();
  });
});
