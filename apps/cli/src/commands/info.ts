import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { countParameters } from '@primer-ez/primer-layers';
import { type Flags, help, parse } from '../args.js';
import { loadModelAndTokenizer, setupBackend } from '../common.js';
import { UsageError } from '../errors.js';

export const INFO_FLAGS = {
  checkpoint: {
    type: 'string',
    placeholder: 'DIR',
    description: 'checkpoint directory, or a run directory (its latest checkpoint)',
  },
  json: { type: 'boolean', description: 'print as JSON' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Flags;

/** `primer-ez info`: a checkpoint's config, parameter count, size and tokenizer. */
export async function info(argv: string[]): Promise<void> {
  const { values: v } = parse('info', argv, INFO_FLAGS);
  if (v.help)
    return void process.stdout.write(help('primer-ez info --checkpoint DIR [--json]', INFO_FLAGS));
  if (v.checkpoint === undefined) throw new UsageError('info: --checkpoint DIR is required.');
  await setupBackend('cpu', true);
  const { model, tokenizer, dir } = await loadModelAndTokenizer(v.checkpoint);
  const bytes = (await stat(join(dir, 'model.safetensors'))).size;
  const out = {
    checkpoint: dir,
    parameters: countParameters(model.config),
    bytes,
    tokenizer: { kind: tokenizer.kind, vocab_size: tokenizer.vocabSize },
    config: model.config,
  };
  if (v.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  else {
    const c = model.config;
    process.stdout.write(
      `${dir}\n` +
        `  ${c.attention === 'mdha' ? `Primer EZ (MDHA ${c.dconv}, ${c.dconv_kernel} taps${c.dconv_bias ? ', bias' : ''})` : 'vanilla (MHA)'}, ${c.ffn_activation}\n` +
        `  ${out.parameters.toLocaleString('en')} parameters, ${(bytes / 1e6).toFixed(2)} MB\n` +
        `  d_model ${c.d_model}, ${c.n_heads} heads, ${c.n_layers} layers, d_ff ${c.d_ff}, max_seq_len ${c.max_seq_len}, ` +
        `${c.positional} positions${c.tie_embeddings ? ', tied embeddings' : ''}, dropout ${c.dropout}\n` +
        `  tokenizer: ${tokenizer.kind}, ${tokenizer.vocabSize} tokens\n`,
    );
  }
  model.dispose();
}
