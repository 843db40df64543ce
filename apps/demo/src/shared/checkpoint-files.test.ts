import { strToU8, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import {
  bundleFromFiles,
  type CheckpointBundle,
  CheckpointFilesError,
  checkpointFolderName,
  pickCheckpoint,
  roleOfConfig,
  stepOfPath,
  unzipFiles,
  zipCheckpoint,
} from './checkpoint-files.js';

const bundle: CheckpointBundle = {
  config: '{"model_type": "primer-ez", "attention": "mdha"}\n',
  weights: Uint8Array.from({ length: 300 }, (_, i) => i % 256),
  tokenizer: '{"model": {"type": "BPE"}, "note": "é🐳"}',
};

/** Entries with text contents, as a folder selection gives them. */
function entries(files: Record<string, string>) {
  return Object.entries(files).map(([path, text]) => ({ path, text }));
}
const readText = async (e: { text: string }) => e.text;

describe('zip download', () => {
  it('holds the three files in one checkpoint folder, and reads back byte for byte', async () => {
    const zip = zipCheckpoint(bundle, 'primer-ez-d32-l2-step-000020');
    const files = unzipFiles(zip);
    expect(files.map((f) => f.path).sort()).toEqual([
      'primer-ez-d32-l2-step-000020/config.json',
      'primer-ez-d32-l2-step-000020/model.safetensors',
      'primer-ez-d32-l2-step-000020/tokenizer.json',
    ]);
    const { dir, bundle: back } = await bundleFromFiles(files);
    expect(dir).toBe('primer-ez-d32-l2-step-000020');
    expect(back.config).toBe(bundle.config);
    expect(back.tokenizer).toBe(bundle.tokenizer);
    expect([...back.weights]).toEqual([...bundle.weights]);
  });

  it('reads deflated zips made elsewhere, with the files at the top', async () => {
    const zip = zipSync(
      {
        'config.json': strToU8(bundle.config),
        'model.safetensors': bundle.weights,
        'tokenizer.json': strToU8(bundle.tokenizer),
      },
      { level: 9 },
    );
    const { dir, bundle: back } = await bundleFromFiles(unzipFiles(zip));
    expect(dir).toBe('');
    expect([...back.weights]).toEqual([...bundle.weights]);
  });

  it('says so when the bytes are not a zip', () => {
    expect(() => unzipFiles(strToU8('hello'))).toThrow(CheckpointFilesError);
  });

  it('names folders after the architecture, size and step', () => {
    expect(checkpointFolderName('vanilla', 'd32-l2', 300)).toBe('vanilla-d32-l2-step-000300');
    expect(stepOfPath('run/checkpoints/step-000500')).toBe(500);
    expect(stepOfPath('my-model')).toBe(0);
  });

  it('sends plain attention to the vanilla row', () => {
    expect(roleOfConfig('{"attention": "mha"}')).toBe('vanilla');
    expect(roleOfConfig('{"attention": "mdha"}')).toBe('primer');
    expect(roleOfConfig('not json')).toBe('primer');
  });
});

describe('pickCheckpoint', () => {
  it('takes three loose files', async () => {
    const picked = await pickCheckpoint(
      entries({ 'tokenizer.json': 't', 'config.json': 'c', 'model.safetensors': 'w' }),
      readText,
    );
    expect(picked.dir).toBe('');
    expect([picked.config.text, picked.weights.text, picked.tokenizer.text]).toEqual([
      'c',
      'w',
      't',
    ]);
  });

  it('follows latest.json in a CLI run directory', async () => {
    const run = entries({
      'run/metrics.jsonl': '{}',
      'run/latest.json': '{"checkpoint": "checkpoints/step-000100", "step": 100}',
      'run/best.json': '{"checkpoint": "checkpoints/step-000200", "step": 200}',
      ...Object.fromEntries(
        ['000100', '000200'].flatMap((step) =>
          ['config.json', 'model.safetensors', 'tokenizer.json', 'trainer_state.json'].map((f) => [
            `run/checkpoints/step-${step}/${f}`,
            `${step}/${f}`,
          ]),
        ),
      ),
    });
    const picked = await pickCheckpoint(run, readText);
    expect(picked.dir).toBe('run/checkpoints/step-000100');
    expect(picked.weights.text).toBe('000100/model.safetensors');
  });

  it('takes the highest step without (or with a broken) latest.json', async () => {
    const files = {
      'r/checkpoints/step-000100/config.json': '',
      'r/checkpoints/step-000100/model.safetensors': '',
      'r/checkpoints/step-000100/tokenizer.json': '',
      'r/checkpoints/step-000300/config.json': '',
      'r/checkpoints/step-000300/model.safetensors': '',
      'r/checkpoints/step-000300/tokenizer.json': '',
    };
    expect((await pickCheckpoint(entries(files), readText)).dir).toBe('r/checkpoints/step-000300');
    const broken = entries({ ...files, 'r/latest.json': '{not json' });
    expect((await pickCheckpoint(broken, readText)).dir).toBe('r/checkpoints/step-000300');
  });

  it('says which file is missing', async () => {
    await expect(
      pickCheckpoint(entries({ 'ck/config.json': '', 'ck/model.safetensors': '' }), readText),
    ).rejects.toThrow(/ck\/ has config.json but no tokenizer.json/);
    await expect(
      pickCheckpoint(entries({ 'notes.txt': '', 'model.safetensors': '' }), readText),
    ).rejects.toThrow(/no config.json among the chosen files \(notes.txt, model.safetensors\)/);
  });

  it('accepts Windows separators', async () => {
    const picked = await pickCheckpoint(
      entries({ 'ck\\config.json': '', 'ck\\model.safetensors': '', 'ck\\tokenizer.json': '' }),
      readText,
    );
    expect(picked.dir).toBe('ck');
  });
});
