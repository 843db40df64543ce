import { evaluate as evaluateModel } from '@primer-ez/trainer';
import { type Flags, help, parse } from '../args.js';
import { BACKEND_FLAG, loadModelAndTokenizer, setupBackend } from '../common.js';
import { readTextFiles } from '../corpus.js';
import { CliError, UsageError } from '../errors.js';

export const EVAL_FLAGS: Flags = {
  checkpoint: {
    type: 'string',
    description: 'checkpoint directory, or a run directory (its latest checkpoint)',
  },
  text: { type: 'string', multiple: true, description: 'text file(s) to score' },
  'batch-size': { type: 'int', min: 1, default: 16, description: 'windows per forward pass' },
  json: { type: 'boolean', description: 'print the result as JSON' },
  ...BACKEND_FLAG,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/**
 * `primer-ez eval`: mean next-token cross-entropy, perplexity and bits per token over consecutive
 * non-overlapping windows of max_seq_len (the trainer's `evaluate` definition).
 */
export async function evaluate(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse('eval', argv, EVAL_FLAGS);
  if (v.help) {
    process.stdout.write(
      help('primer-ez eval --checkpoint DIR --text FILE [--json]: score a text', EVAL_FLAGS),
    );
    return;
  }
  if (positionals.length > 0)
    throw new UsageError(
      `eval: unexpected argument ${JSON.stringify(positionals[0])}; use --text.`,
    );
  if (v.checkpoint === undefined) throw new UsageError('eval: --checkpoint DIR is required.');
  if (v.text === undefined) throw new UsageError('eval: --text FILE is required.');
  await setupBackend(v.backend as string, Boolean(v.json));
  const { model, tokenizer, dir } = await loadModelAndTokenizer(v.checkpoint as string);
  const text = await readTextFiles(v.text as string[]);
  let tokens: number[];
  try {
    tokens = tokenizer.encode(text);
  } catch (error) {
    throw new CliError(
      `eval: the text cannot be encoded with the checkpoint's tokenizer: ${(error as Error).message}`,
    );
  }
  const result = await evaluateModel(model, tokens, { batchSize: v['batch-size'] as number }).catch(
    (error: Error) => {
      throw new CliError(`eval: ${error.message}`);
    },
  );
  const out = {
    checkpoint: dir,
    loss: result.loss,
    perplexity: result.perplexity,
    bits_per_token: result.bitsPerToken,
    bits_per_char:
      (result.loss * result.tokens) / Math.LN2 / charsScored(tokenizer, tokens, result.tokens),
    tokens: result.tokens,
    windows: result.windows,
    window: model.config.max_seq_len,
  };
  if (v.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else {
    process.stdout.write(
      `loss ${out.loss.toFixed(4)} nats/token, perplexity ${out.perplexity.toFixed(3)}, ` +
        `${out.bits_per_token.toFixed(4)} bits/token, ${out.bits_per_char.toFixed(4)} bits/char ` +
        `(${out.tokens} tokens in ${out.windows} windows of ${out.window})\n`,
    );
  }
  model.dispose();
}

/** Characters covered by the scored targets (tokens 1 … scored of the stream). */
function charsScored(
  tokenizer: { decode(ids: ArrayLike<number>): string },
  tokens: number[],
  scored: number,
): number {
  return tokenizer.decode(tokens.slice(1, scored + 1)).length;
}
