import { generate as generateStream } from '@primer-ez/trainer';
import { type Flags, help, parse } from '../args.js';
import { BACKEND_FLAG, loadModelAndTokenizer, setupBackend } from '../common.js';
import { CliError, UsageError } from '../errors.js';

export const GENERATE_FLAGS: Flags = {
  checkpoint: {
    type: 'string',
    description: 'checkpoint directory, or a run directory (its latest checkpoint)',
  },
  prompt: { type: 'string', default: '', description: 'text to continue' },
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
  stop: { type: 'string', multiple: true, description: 'stop string (repeatable)' },
  'no-cache': {
    type: 'boolean',
    description: 'recompute the full forward pass per token (slower)',
  },
  ...BACKEND_FLAG,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

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
  await setupBackend(v.backend as string, true);
  const { model, tokenizer } = await loadModelAndTokenizer(v.checkpoint as string);
  const prompt = v.prompt as string;
  if (prompt === '')
    throw new UsageError('generate: --prompt is empty; give some text to continue.');
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  let stream: ReturnType<typeof generateStream>;
  try {
    tokenizer.encode(prompt);
    stream = generateStream(model, tokenizer, prompt, {
      maxNewTokens: v['max-new-tokens'] as number,
      temperature: v.temperature as number,
      topK: v['top-k'] as number,
      topP: v['top-p'] as number,
      repetitionPenalty: v['repetition-penalty'] as number,
      ...(v.seed !== undefined ? { seed: v.seed as number } : {}),
      ...(v.stop ? { stop: v.stop as string[] } : {}),
      useCache: !v['no-cache'],
      signal: controller.signal,
    });
  } catch (error) {
    throw new CliError(`generate: ${(error as Error).message}`);
  }
  process.stdout.write(prompt);
  for await (const piece of stream) process.stdout.write(piece);
  process.stdout.write('\n');
  model.dispose();
}
