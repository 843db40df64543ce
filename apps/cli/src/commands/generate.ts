import { generate as generateStream } from '@primer-ez/trainer';
import { type Flags, help, parse } from '../args.js';
import { BACKEND_FLAG, loadModelAndTokenizer, setupBackend } from '../common.js';
import {
  CliError,
  inFlagTerms,
  SAMPLING_OPTION_FLAGS,
  UsageError,
  unknownCharacterFix,
} from '../errors.js';
import { stopOnSignals } from '../signals.js';
import { readStdin } from '../stdio.js';

export const GENERATE_FLAGS = {
  checkpoint: {
    type: 'string',
    placeholder: 'DIR',
    description: 'checkpoint directory, or a run directory (its latest checkpoint)',
  },
  prompt: {
    type: 'string',
    placeholder: 'TEXT',
    default: '',
    description: 'text to continue (- reads it from stdin)',
  },
  'max-new-tokens': {
    type: 'int',
    min: 0,
    default: 200,
    description: 'tokens to generate at most',
  },
  temperature: { type: 'float', min: 0, default: 0.8, description: '0 = greedy' },
  'top-k': {
    type: 'int',
    min: 0,
    default: 0,
    description: 'keep the k most likely tokens (0: all)',
  },
  'top-p': {
    type: 'float',
    min: 0,
    default: 1,
    description: 'nucleus sampling threshold (1: off)',
  },
  'repetition-penalty': {
    type: 'float',
    min: 0,
    default: 1,
    description: 'CTRL repetition penalty (1: off)',
  },
  seed: { type: 'int', min: 0, description: 'seed for reproducible sampling' },
  stop: {
    type: 'string',
    multiple: true,
    placeholder: 'TEXT',
    description: 'stop when this text appears (repeatable)',
  },
  'no-cache': {
    type: 'boolean',
    description: 'recompute the full forward pass per token (slower)',
  },
  ...BACKEND_FLAG,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Flags;

export async function generate(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse('generate', argv, GENERATE_FLAGS);
  if (v.help) {
    process.stdout.write(
      help(
        'primer-ez generate --checkpoint DIR --prompt TEXT [flags]: stream generated text to stdout',
        GENERATE_FLAGS,
      ),
    );
    return;
  }
  if (positionals.length > 0)
    throw new UsageError(
      `generate: unexpected argument ${JSON.stringify(positionals[0])}; use --prompt.`,
    );
  if (v.checkpoint === undefined) throw new UsageError('generate: --checkpoint DIR is required.');
  const prompt = v.prompt === '-' ? (await readStdin()).toString('utf8') : v.prompt;
  if (prompt === '')
    throw new UsageError(
      `generate: --prompt${v.prompt === '-' ? ' - (stdin)' : ''} is empty; give some text to continue.`,
    );
  await setupBackend(v.backend, true);
  const { model, tokenizer } = await loadModelAndTokenizer(v.checkpoint);
  let stream: ReturnType<typeof generateStream>;
  try {
    tokenizer.encode(prompt);
  } catch (error) {
    throw new CliError(
      `generate: --prompt: ${unknownCharacterFix((error as Error).message, "the checkpoint's tokenizer only knows the characters of the text it was trained on; leave it out of the prompt (a model trained with --tokenizer bpe takes any text).")}`,
    );
  }
  // Ctrl-C stops the stream: what was generated is written, then the exit status is 130.
  const interrupt = stopOnSignals();
  try {
    stream = generateStream(model, tokenizer, prompt, {
      maxNewTokens: v['max-new-tokens'],
      temperature: v.temperature,
      topK: v['top-k'],
      topP: v['top-p'],
      repetitionPenalty: v['repetition-penalty'],
      ...(v.seed !== undefined ? { seed: v.seed } : {}),
      ...(v.stop ? { stop: v.stop } : {}),
      useCache: !v['no-cache'],
      signal: interrupt.signal,
    });
  } catch (error) {
    interrupt.release();
    throw new CliError(`generate: ${inFlagTerms((error as Error).message, SAMPLING_OPTION_FLAGS)}`);
  }
  try {
    process.stdout.write(prompt);
    for await (const piece of stream) process.stdout.write(piece);
    process.stdout.write('\n');
  } finally {
    interrupt.release();
    model.dispose();
  }
}
