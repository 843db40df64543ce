import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Tokenizer } from '@primer-ez/tokenizer';
import { evaluate as evaluateModel, shareModel, type TokenSource } from '@primer-ez/trainer';
import { FileTokenSource, tokenDtype, tokenizeToFile } from '@primer-ez/trainer/node';
import { type Flags, help, parse } from '../args.js';
import { BACKEND_FLAG, loadModelAndTokenizer, setupBackend } from '../common.js';
import { corpusProgress, textError } from '../corpus.js';
import {
  CliError,
  EVAL_OPTION_FLAGS,
  inFlagTerms,
  UsageError,
  unknownCharacterFix,
} from '../errors.js';
import { stdinAsFile } from '../stdio.js';
import { interruptible } from '../token-data.js';
import { defaultWorkers, EVAL_WORKERS_FLAG, startReplicas } from '../workers.js';

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
  ...EVAL_WORKERS_FLAG,
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
  const backend = await setupBackend(v.backend as string, Boolean(v.json));
  const { model, tokenizer, dir } = await loadModelAndTokenizer(v.checkpoint as string);
  const maxSeqLen = model.config.max_seq_len;
  const seqLen = (v['seq-len'] as number | undefined) ?? maxSeqLen;
  if (seqLen > maxSeqLen)
    throw new UsageError(
      `eval: --seq-len ${seqLen} exceeds the model's max_seq_len ${maxSeqLen}; use --seq-len ${maxSeqLen} or less.`,
    );
  // The text is tokenized in chunks into a temporary token file, read back window by window.
  const scratch = await mkdtemp(join(tmpdir(), 'primer-ez-eval-'));
  let tokens: FileTokenSource | undefined;
  let result: Awaited<ReturnType<typeof evaluateModel>>;
  let chars: number;
  try {
    const path = join(scratch, 'tokens.bin');
    const stdin = join(scratch, 'stdin.txt');
    const paths = await stdinAsFile(v.text as string[], stdin);
    const dtype = tokenDtype(tokenizer.vocabSize);
    const { tokens: count } = await interruptible((signal) =>
      tokenizeToFile(path, { paths, tokenizer, dtype, onProgress: corpusProgress(), signal }).catch(
        (error) => {
          // Messages name what the user typed: `-`, not the scratch copy of stdin.
          if (error instanceof Error)
            error.message = unknownCharacterFix(
              error.message.replaceAll(stdin, '-'),
              'score text in the characters the model was trained on (a model trained with --tokenizer bpe takes any text).',
            );
          return textError(error, 'eval');
        },
      ),
    );
    if (count < seqLen + 1)
      throw new CliError(
        `eval: --text ${(v.text as string[]).join(' ')} holds ${count} tokens, fewer than one window of ${seqLen + 1} ` +
          `(--seq-len ${seqLen}, plus the next token); score more text${count >= 2 ? ` or use a shorter --seq-len (at most ${count - 1})` : ''}.`,
      );
    tokens = new FileTokenSource(path, dtype, tokenizer.vocabSize, count);
    const batchSize = v['batch-size'] as number;
    const batches = Math.ceil(Math.floor((count - 1) / seqLen) / batchSize);
    const workers = Math.min((v.workers as number | undefined) ?? defaultWorkers(backend), batches);
    const replicas = startReplicas(workers, backend);
    try {
      if (replicas)
        await shareModel(replicas, model).catch((error: Error) => {
          throw new CliError(`eval: --workers ${workers}: ${error.message}`);
        });
      result = await evaluateModel(model, tokens, {
        seqLen,
        batchSize,
        ...(replicas ? { replicas } : {}),
      }).catch((error: Error) => {
        throw new CliError(`eval: ${inFlagTerms(error.message, EVAL_OPTION_FLAGS)}`);
      });
    } finally {
      await replicas?.close();
    }
    chars = charsScored(tokenizer, tokens, result.tokens);
  } finally {
    tokens?.close();
    await rm(scratch, { recursive: true, force: true });
  }
  const out = {
    checkpoint: dir,
    loss: result.loss,
    perplexity: result.perplexity,
    bits_per_token: result.bitsPerToken,
    bits_per_char: (result.loss * result.tokens) / Math.LN2 / chars,
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

/**
 * Characters (UTF-16 code units, as `String.length`) covered by the scored targets (tokens
 * 1 … scored of the stream), decoded in chunks so that no long string is built.
 */
function charsScored(
  tokenizer: Pick<Tokenizer, 'createStreamDecoder'>,
  tokens: TokenSource,
  scored: number,
): number {
  const decoder = tokenizer.createStreamDecoder();
  let chars = 0;
  for (let start = 1; start <= scored; start += CHUNK)
    chars += decoder.write(tokens.subarray(start, Math.min(scored + 1, start + CHUNK))).length;
  return chars + decoder.end().length;
}

const CHUNK = 1 << 20;
