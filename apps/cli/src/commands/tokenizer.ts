import { type FileReadError, readRegularTextFile } from '@primer-ez/node-io';
import { trainByteLevelBpe, trainCharTokenizer } from '@primer-ez/tokenizer';
import { saveTokenizer } from '@primer-ez/tokenizer/node';
import { columns, type Flags, help, parse } from '../args.js';
import { loadTokenizerFile } from '../common.js';
import { readTextFiles } from '../corpus.js';
import { CliError, inFlagTerms, UsageError, unknownCharacterFix } from '../errors.js';
import { readStdin } from '../stdio.js';

const HELP_FLAG = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Flags;

const TRAIN = {
  type: {
    type: 'enum',
    values: ['char', 'bpe'],
    default: 'char',
    description: 'character or byte-level BPE',
  },
  text: {
    type: 'string',
    multiple: true,
    placeholder: 'FILE',
    description: 'training text file (repeatable; - reads stdin)',
  },
  'vocab-size': { type: 'int', min: 257, default: 4096, description: 'BPE vocabulary size' },
  special: {
    type: 'string',
    multiple: true,
    placeholder: 'TOKEN',
    description: 'special token (repeatable), e.g. <|endoftext|>',
  },
  out: {
    type: 'string',
    placeholder: 'FILE',
    default: 'tokenizer.json',
    description: 'where to write the tokenizer',
  },
  ...HELP_FLAG,
} as const satisfies Flags;
const ENCODE = {
  tokenizer: { type: 'string', placeholder: 'FILE', description: 'tokenizer.json' },
  text: {
    type: 'string',
    multiple: true,
    placeholder: 'FILE',
    description: 'text file to encode (repeatable; - or none reads stdin)',
  },
  ...HELP_FLAG,
} as const satisfies Flags;
const DECODE = {
  tokenizer: { type: 'string', placeholder: 'FILE', description: 'tokenizer.json' },
  ids: {
    type: 'string',
    placeholder: 'FILE',
    description: 'file holding a JSON array of ids (- or none reads stdin)',
  },
  ...HELP_FLAG,
} as const satisfies Flags;

const SUBCOMMANDS: Record<string, [run: (argv: string[]) => Promise<void>, summary: string]> = {
  train: [trainTokenizer, 'train a character or byte-level BPE tokenizer on text'],
  encode: [encode, 'print the token ids of a text as a JSON array'],
  decode: [decode, 'print the text of a JSON array of token ids'],
};

const USAGE = `usage: primer-ez tokenizer <train|encode|decode> [flags]

${columns(Object.entries(SUBCOMMANDS).map(([name, [, summary]]) => [`  ${name}`, summary]))}
primer-ez tokenizer <subcommand> --help shows its flags. encode and decode read
stdin when no file is given, so they chain:

  primer-ez tokenizer encode --tokenizer tok.json --text a.txt |
    primer-ez tokenizer decode --tokenizer tok.json
`;

/** `primer-ez tokenizer train | encode | decode`. */
export async function tokenizer(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') return void process.stdout.write(USAGE);
  const entry = sub !== undefined && Object.hasOwn(SUBCOMMANDS, sub) ? SUBCOMMANDS[sub] : undefined;
  if (entry === undefined)
    throw new UsageError(
      `tokenizer: expected train, encode or decode, got ${JSON.stringify(sub ?? '')} (see primer-ez tokenizer --help).`,
    );
  return entry[0](rest);
}

async function trainTokenizer(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse('tokenizer train', argv, TRAIN);
  if (v.help)
    return void process.stdout.write(
      help(
        'primer-ez tokenizer train --type char|bpe --text FILE [--vocab-size N] [--out FILE]',
        TRAIN,
      ),
    );
  noPositionals('tokenizer train', positionals, '--text');
  if (!v.text)
    throw new UsageError('tokenizer train: --text FILE is required (--text - reads stdin).');
  const text = await readTextFiles(v.text);
  const specialTokens = v.special ?? [];
  let tok: ReturnType<typeof trainCharTokenizer> | ReturnType<typeof trainByteLevelBpe>;
  try {
    tok =
      v.type === 'bpe'
        ? trainByteLevelBpe(text, { vocabSize: v['vocab-size'], specialTokens })
        : trainCharTokenizer(text, { specialTokens });
  } catch (error) {
    throw new CliError(
      `tokenizer train: ${inFlagTerms((error as Error).message, { specialTokens: '--special', vocabSize: '--vocab-size' })}`,
    );
  }
  await saveTokenizer(tok, v.out).catch((error: Error) => {
    throw new CliError(`tokenizer train: cannot write --out ${v.out}: ${error.message}`);
  });
  process.stderr.write(`wrote ${v.out}: ${tok.kind} tokenizer, ${tok.vocabSize} tokens\n`);
}

async function encode(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse('tokenizer encode', argv, ENCODE);
  if (v.help)
    return void process.stdout.write(
      help('primer-ez tokenizer encode --tokenizer FILE [--text FILE|-]', ENCODE),
    );
  noPositionals('tokenizer encode', positionals, '--text');
  if (!v.tokenizer) throw new UsageError('tokenizer encode: --tokenizer FILE is required.');
  const files = v.text ?? [stdinOr('tokenizer encode', '--text')];
  const tok = await loadTokenizerFile(v.tokenizer, '--tokenizer');
  const text = await readTextFiles(files);
  let ids: number[];
  try {
    ids = tok.encode(text);
  } catch (error) {
    throw new CliError(
      `tokenizer encode: ${unknownCharacterFix((error as Error).message, `--tokenizer ${v.tokenizer} cannot encode it; train a tokenizer on text that has it, or a BPE one (primer-ez tokenizer train --type bpe) that encodes any text.`)}`,
    );
  }
  process.stdout.write(`${JSON.stringify(ids)}\n`);
}

async function decode(argv: string[]): Promise<void> {
  const { values: v, positionals } = parse('tokenizer decode', argv, DECODE);
  if (v.help)
    return void process.stdout.write(
      help('primer-ez tokenizer decode --tokenizer FILE [--ids FILE|-]', DECODE),
    );
  noPositionals('tokenizer decode', positionals, '--ids');
  if (!v.tokenizer) throw new UsageError('tokenizer decode: --tokenizer FILE is required.');
  const path = v.ids ?? stdinOr('tokenizer decode', '--ids');
  const tok = await loadTokenizerFile(v.tokenizer, '--tokenizer');
  const raw = path === '-' ? (await readStdin()).toString('utf8') : await readIds(path);
  let ids: unknown;
  try {
    ids = JSON.parse(raw);
  } catch {
    throw new CliError(
      `--ids ${path}: not JSON; expected an array of token ids like [12, 7, 40] (what tokenizer encode prints).`,
    );
  }
  if (
    !Array.isArray(ids) ||
    !ids.every((id) => Number.isInteger(id) && id >= 0 && id < tok.vocabSize)
  ) {
    throw new CliError(
      `--ids ${path}: expected a JSON array of integer ids in [0, ${tok.vocabSize}) for --tokenizer ${v.tokenizer}.`,
    );
  }
  process.stdout.write(tok.decode(ids as number[]));
}

/** `-` (stdin) when text is piped in; a usage error naming `flag` when stdin is a terminal. */
function stdinOr(command: string, flag: string): string {
  if (process.stdin.isTTY)
    throw new UsageError(`${command}: give ${flag} FILE, or pipe the input in (${flag} -).`);
  return '-';
}

function noPositionals(command: string, positionals: string[], flag: string): void {
  if (positionals.length > 0)
    throw new UsageError(
      `${command}: unexpected argument ${JSON.stringify(positionals[0])}; files go after ${flag}.`,
    );
}

async function readIds(path: string): Promise<string> {
  // One open, checked through the handle: a FIFO or a device fails at once instead of hanging.
  return readRegularTextFile(path, { maxBytes: 256 * 2 ** 20 }).catch((error: FileReadError) => {
    throw new CliError(
      error.code === 'ENOENT'
        ? `--ids ${path}: no such file; check the path.`
        : `--ids ${error.message}.`,
    );
  });
}
