/**
 * `primer-ez`: train Primer EZ (or its vanilla baseline) on text, then generate, evaluate,
 * inspect, benchmark and plot. Errors the user can fix print one line and exit non-zero; the exit
 * waits for stdout to drain, so a pipe gets all of the output.
 */
import { createRequire } from 'node:module';
import { columns } from './args.js';
import { bench } from './commands/bench.js';
import { data } from './commands/data.js';
import { evaluate } from './commands/evaluate.js';
import { experiment } from './commands/experiment.js';
import { generate } from './commands/generate.js';
import { info } from './commands/info.js';
import { plot } from './commands/plot.js';
import { tokenizer } from './commands/tokenizer.js';
import { train } from './commands/train.js';
import { CliError, libraryErrorMessage } from './errors.js';
import { exitQuietlyWhenTheReaderGoes, exitWhenFlushed } from './stdio.js';

const COMMANDS: Record<string, [run: (argv: string[]) => Promise<void>, summary: string]> = {
  train: [train, 'train a model on text (or the embedded Moby-Dick) into a run directory'],
  generate: [generate, 'stream text from a checkpoint'],
  data: [data, 'data prepare: tokenize text once into a token dataset'],
  eval: [evaluate, 'loss, perplexity and bits per token of a checkpoint on a text'],
  tokenizer: [tokenizer, 'train a tokenizer; encode or decode text with one'],
  info: [info, "a checkpoint's config, parameter count and size"],
  bench: [bench, 'training, forward and generation speed on each backend'],
  plot: [plot, 'loss curves of one or more runs as an SVG image'],
  experiment: [experiment, 'primer-vs-vanilla: train each arm alike and compare'],
};

const USAGE = `usage: primer-ez <command> [flags]

${columns(Object.entries(COMMANDS).map(([name, [, summary]]) => [`  ${name}`, summary]))}
primer-ez <command> --help (or primer-ez help <command>) shows its flags.
primer-ez --version prints the version.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (command === '--help' || command === '-h' || (command === 'help' && rest.length === 0)) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === '--version' || command === '-V') {
    const { version } = createRequire(import.meta.url)('../package.json') as { version: string };
    process.stdout.write(`primer-ez ${version}\n`);
    return 0;
  }
  // `primer-ez help tokenizer encode` is `primer-ez tokenizer encode --help`.
  const [name, args] =
    command === 'help' ? [rest[0]!, [...rest.slice(1), '--help']] : [command, rest];
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (entry === undefined) {
    process.stderr.write(
      `primer-ez: unknown command ${JSON.stringify(name)}; the commands are ${Object.keys(COMMANDS).join(', ')} (see primer-ez --help).\n`,
    );
    return 2;
  }
  try {
    await entry[0](args);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`primer-ez: ${error.message}\n`);
      return error.exitCode;
    }
    const message = libraryErrorMessage(name, error);
    if (message !== undefined) {
      process.stderr.write(`primer-ez: ${message}\n`);
      return 1;
    }
    process.stderr.write(
      `primer-ez: unexpected error: ${(error as Error).stack ?? String(error)}\n`,
    );
    return 1;
  }
}

exitQuietlyWhenTheReaderGoes();
await exitWhenFlushed(await main(process.argv.slice(2)));
