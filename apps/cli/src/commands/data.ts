import { resolve } from 'node:path';
import {
  checkDatasetOut,
  DEFAULT_BPE_SAMPLE_BYTES,
  prepareTokenDataset,
  type TokenizerSpec,
} from '@primer-ez/trainer/node';
import { columns, type Flags, help, parse } from '../args.js';
import { loadTokenizerFile, TOKENIZER_FLAGS } from '../common.js';
import { corpusProgress, textError } from '../corpus.js';
import { CliError, UsageError } from '../errors.js';
import { interruptible } from '../token-data.js';

export const PREPARE_FLAGS = {
  text: {
    type: 'string',
    multiple: true,
    placeholder: 'FILE',
    description: 'text file (repeatable; joined with a newline)',
  },
  ...TOKENIZER_FLAGS,
  'bpe-sample-mb': {
    type: 'float',
    min: 0,
    default: DEFAULT_BPE_SAMPLE_BYTES / 2 ** 20,
    description: 'BPE trains on the first this many MiB of text',
  },
  'validation-fraction': {
    type: 'float',
    min: 0,
    default: 0.1,
    description: 'the last fraction of the token stream validates (as primer-ez train)',
  },
  out: { type: 'string', placeholder: 'DIR', description: 'dataset directory to write' },
  force: { type: 'boolean', description: 'replace --out if it is not empty' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Flags;

const SYNOPSIS =
  'primer-ez data prepare --text FILE… [--tokenizer char|bpe | --tokenizer-file tokenizer.json] --out DIR: ' +
  'tokenize text once into DIR/{meta.json, tokenizer.json, train.bin, val.bin} (docs/token-format.md), ' +
  'for primer-ez train --data DIR and interop/pytorch/train.py';

/** `primer-ez data prepare`: text files → a token dataset directory, streaming. */
export async function data(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'prepare') return prepare(rest);
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(
      `usage: primer-ez data prepare [flags]\n\n${columns([['  prepare', 'tokenize text once into a token dataset (train --data DIR)']])}\nprimer-ez data prepare --help shows its flags.\n`,
    );
    return;
  }
  throw new UsageError(
    `data: expected 'prepare', got ${JSON.stringify(sub ?? '')} (see primer-ez data --help).`,
  );
}

async function prepare(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse('data prepare', argv, PREPARE_FLAGS);
  if (v.help) return void process.stdout.write(help(SYNOPSIS, PREPARE_FLAGS));
  if (positionals.length > 0)
    throw new UsageError(
      `data prepare: unexpected argument ${JSON.stringify(positionals[0])}; text files go after --text.`,
    );
  const paths = v.text;
  if (!paths || paths.length === 0)
    throw new UsageError('data prepare: --text FILE is required (repeat it for several files).');
  if (v.out === undefined) throw new UsageError('data prepare: --out DIR is required.');
  const fraction = v['validation-fraction'];
  if (!(fraction > 0 && fraction < 1))
    throw new UsageError(
      `data prepare: --validation-fraction ${fraction} must be between 0 and 1 (exclusive), e.g. 0.1.`,
    );
  const out = resolve(v.out);
  await checkDatasetOut(out, Boolean(v.force)).catch((error: Error) => {
    throw new CliError(`--out ${v.out}: ${error.message}`);
  });
  const tokenizer: TokenizerSpec = v['tokenizer-file']
    ? await loadTokenizerFile(v['tokenizer-file'], `--tokenizer-file ${v['tokenizer-file']}`)
    : v.tokenizer === 'bpe'
      ? {
          kind: 'bpe',
          vocabSize: v['vocab-size-bpe'],
          specialTokens: ['<|endoftext|>'],
          sampleBytes: Math.round(v['bpe-sample-mb'] * 2 ** 20),
        }
      : { kind: 'char' };
  const { meta, tokenizer: tok } = await interruptible(
    (signal) =>
      prepareTokenDataset(out, {
        paths,
        tokenizer,
        validationFraction: fraction,
        force: Boolean(v.force),
        onProgress: corpusProgress(),
        signal,
      }).catch((error) => textError(error, 'data prepare')),
    `interrupted: ${out} was not written.`,
  );
  process.stderr.write(
    `wrote ${out}: ${tok.kind} tokenizer, ${meta.vocab_size} tokens; ` +
      `${meta.train_tokens.toLocaleString('en')} train / ${meta.val_tokens.toLocaleString('en')} validation tokens (${meta.dtype})\n`,
  );
}
