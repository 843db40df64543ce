import { evaluate as evaluateModel } from '@primer-ez/trainer';
import { type Flags, help, parse } from '../args.js';
import { BACKEND_FLAG, loadModelAndTokenizer, setupBackend } from '../common.js';
import { readTextFiles } from '../corpus.js';
import {
  CliError,
  EVAL_OPTION_FLAGS,
  inFlagTerms,
  UsageError,
  unknownCharacterFix,
} from '../errors.js';

export const EVAL_FLAGS: Flags = {
  checkpoint: {
    type: 'string',
    placeholder: 'DIR',
    description: 'checkpoint directory, or a run directory (its latest checkpoint)',
  },
  text: {
    type: 'string',
    multiple: true,
    placeholder: 'FILE',
    description: 'text file to score (repeatable; - reads stdin)',
  },
  'seq-len': {
    type: 'int',
    min: 1,
    description: "window length (default: the model's max_seq_len)",
  },
  'batch-size': { type: 'int', min: 1, default: 16, description: 'windows per forward pass' },
  json: { type: 'boolean', description: 'print the result as JSON' },
  ...BACKEND_FLAG,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

/**
 * `primer-ez eval`: mean next-token cross-entropy, perplexity and bits per token over consecutive
 * non-overlapping windows of `--seq-len` (default max_seq_len; the trainer's `evaluate` definition).
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
  if (v.text === undefined)
    throw new UsageError('eval: --text FILE is required (--text - reads stdin).');
  await setupBackend(v.backend as string, Boolean(v.json));
  const { model, tokenizer, dir } = await loadModelAndTokenizer(v.checkpoint as string);
  const text = await readTextFiles(v.text as string[]);
  let tokens: number[];
  try {
    tokens = tokenizer.encode(text);
  } catch (error) {
    throw new CliError(
      `eval: the text cannot be encoded with the checkpoint's tokenizer: ${unknownCharacterFix((error as Error).message, 'score text in the characters the model was trained on (a model trained with --tokenizer bpe takes any text).')}`,
    );
  }
  const maxSeqLen = model.config.max_seq_len;
  const seqLen = (v['seq-len'] as number | undefined) ?? maxSeqLen;
  if (seqLen > maxSeqLen)
    throw new UsageError(
      `eval: --seq-len ${seqLen} exceeds the model's max_seq_len ${maxSeqLen}; use --seq-len ${maxSeqLen} or less.`,
    );
  if (tokens.length < seqLen + 1)
    throw new CliError(
      `eval: --text ${(v.text as string[]).join(' ')} holds ${tokens.length} tokens, fewer than one window of ${seqLen + 1} ` +
        `(--seq-len ${seqLen}, plus the next token); score more text${tokens.length >= 2 ? ` or use a shorter --seq-len (at most ${tokens.length - 1})` : ''}.`,
    );
  const result = await evaluateModel(model, tokens, {
    seqLen,
    batchSize: v['batch-size'] as number,
  }).catch((error: Error) => {
    throw new CliError(`eval: ${inFlagTerms(error.message, EVAL_OPTION_FLAGS)}`);
  });
  const out = {
    checkpoint: dir,
    loss: result.loss,
    perplexity: result.perplexity,
    bits_per_token: result.bitsPerToken,
    bits_per_char:
      (result.loss * result.tokens) / Math.LN2 / charsScored(tokenizer, tokens, result.tokens),
    tokens: result.tokens,
    windows: result.windows,
    window: seqLen,
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
