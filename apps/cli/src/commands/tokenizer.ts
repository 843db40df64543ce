import { type FileReadError, readRegularTextFile } from '@primer-ez/node-io';
import { trainByteLevelBpe, trainCharTokenizer } from '@primer-ez/tokenizer';
import { saveTokenizer } from '@primer-ez/tokenizer/node';
import { type Flags, help, parse } from '../args.js';
import { loadTokenizerFile } from '../common.js';
import { readTextFiles } from '../corpus.js';
import { CliError, UsageError } from '../errors.js';

const TRAIN: Flags = {
  type: {
    type: 'enum',
    values: ['char', 'bpe'],
    default: 'char',
    description: 'character or byte-level BPE',
  },
  text: { type: 'string', multiple: true, description: 'training text file (repeatable)' },
  'vocab-size': { type: 'int', min: 257, default: 4096, description: 'BPE vocabulary size' },
  special: {
    type: 'string',
    multiple: true,
    description: 'special token (repeatable), e.g. <|endoftext|>',
  },
  out: { type: 'string', default: 'tokenizer.json', description: 'where to write tokenizer.json' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};
const ENCODE: Flags = {
  tokenizer: { type: 'string', description: 'tokenizer.json' },
  text: { type: 'string', multiple: true, description: 'text file to encode' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};
const DECODE: Flags = {
  tokenizer: { type: 'string', description: 'tokenizer.json' },
  ids: { type: 'string', description: 'file holding a JSON array of ids' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export async function tokenizer(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'train') return trainTokenizer(rest);
  if (sub === 'encode') return encode(rest);
  if (sub === 'decode') return decode(rest);
  throw new UsageError(
    `tokenizer: expected 'train', 'encode' or 'decode', got ${JSON.stringify(sub ?? '')}.`,
  );
}

async function trainTokenizer(argv: string[]): Promise<void> {
  const { values: v } = parse('tokenizer train', argv, TRAIN);
  if (v.help)
    return void process.stdout.write(
      help(
        'primer-ez tokenizer train --type char|bpe --text FILE [--vocab-size N] --out tokenizer.json',
        TRAIN,
      ),
    );
  if (!v.text) throw new UsageError('tokenizer train: --text FILE is required.');
  const text = await readTextFiles(v.text as string[]);
  const specialTokens = (v.special as string[] | undefined) ?? [];
  const tok =
    v.type === 'bpe'
      ? trainByteLevelBpe(text, { vocabSize: v['vocab-size'] as number, specialTokens })
      : trainCharTokenizer(text, { specialTokens });
  await saveTokenizer(tok, v.out as string).catch((error: Error) => {
    throw new CliError(`tokenizer train: cannot write ${v.out}: ${error.message}`);
  });
  process.stderr.write(`wrote ${v.out}: ${tok.kind} tokenizer, ${tok.vocabSize} tokens\n`);
}

async function encode(argv: string[]): Promise<void> {
  const { values: v } = parse('tokenizer encode', argv, ENCODE);
  if (v.help)
    return void process.stdout.write(
      help('primer-ez tokenizer encode --tokenizer tokenizer.json --text FILE', ENCODE),
    );
  if (!v.tokenizer || !v.text)
    throw new UsageError('tokenizer encode: --tokenizer and --text are required.');
  const tok = await loadTokenizerFile(v.tokenizer as string);
  const text = await readTextFiles(v.text as string[]);
  try {
    process.stdout.write(`${JSON.stringify(tok.encode(text))}\n`);
  } catch (error) {
    throw new CliError(`tokenizer encode: ${(error as Error).message}`);
  }
}

async function decode(argv: string[]): Promise<void> {
  const { values: v } = parse('tokenizer decode', argv, DECODE);
  if (v.help)
    return void process.stdout.write(
      help('primer-ez tokenizer decode --tokenizer tokenizer.json --ids FILE', DECODE),
    );
  if (!v.tokenizer || !v.ids)
    throw new UsageError('tokenizer decode: --tokenizer and --ids are required.');
  const tok = await loadTokenizerFile(v.tokenizer as string);
  const raw = await readRegularTextFile(v.ids as string, { maxBytes: 256 * 2 ** 20 }).catch(
    (error: FileReadError) => {
      throw new CliError(
        error.code === 'ENOENT' ? `--ids ${v.ids}: no such file.` : `--ids ${error.message}.`,
      );
    },
  );
  let ids: unknown;
  try {
    ids = JSON.parse(raw);
  } catch {
    throw new CliError(
      `--ids ${v.ids}: not JSON; expected an array of token ids like [12, 7, 40].`,
    );
  }
  if (
    !Array.isArray(ids) ||
    !ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize)
  ) {
    throw new CliError(
      `--ids ${v.ids}: expected a JSON array of integer ids in [0, ${tok.vocabSize}).`,
    );
  }
  process.stdout.write(tok.decode(ids as number[]));
}
