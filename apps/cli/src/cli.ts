/**
 * `primer-ez`: train Primer EZ (or its vanilla baseline) on text, then generate, evaluate,
 * inspect, benchmark and plot. Errors the user can fix print one line and exit non-zero.
 */
import { bench } from './commands/bench.js';
import { data } from './commands/data.js';
import { evaluate } from './commands/evaluate.js';
import { experiment } from './commands/experiment.js';
import { generate } from './commands/generate.js';
import { info } from './commands/info.js';
import { plot } from './commands/plot.js';
import { tokenizer } from './commands/tokenizer.js';
import { train } from './commands/train.js';
import { CliError } from './errors.js';

const COMMANDS: Record<string, [run: (argv: string[]) => Promise<void>, summary: string]> = {
  train: [
    train,
    'train a model on text files or the embedded Moby-Dick; checkpoints go to a run directory',
  ],
  generate: [
    generate,
    'stream text from a checkpoint (temperature, top-k, top-p, repetition penalty, stop strings)',
  ],
  data: [data, 'data prepare: tokenize text once into a token dataset (train --data, torchrun)'],
  eval: [evaluate, 'cross-entropy, perplexity and bits per token of a checkpoint on a text'],
  tokenizer: [tokenizer, 'tokenizer train | encode | decode'],
  info: [info, "a checkpoint's config, parameter count and size"],
  bench: [bench, 'training, forward and generation throughput on each available backend'],
  plot: [plot, 'loss curves of one or more runs as an SVG image'],
  experiment: [
    experiment,
    'primer-vs-vanilla: train each arm the same way and compare (BENCHMARKS.md)',
  ],
};

const USAGE = `usage: primer-ez <command> [flags]   (primer-ez <command> --help for its flags)

${Object.entries(COMMANDS)
  .map(([name, [, summary]]) => `  ${name.padEnd(10)} ${summary}`)
  .join('\n')}
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  const entry = COMMANDS[command];
  if (entry === undefined) {
    process.stderr.write(`primer-ez: unknown command ${JSON.stringify(command)}\n${USAGE}`);
    return 2;
  }
  try {
    await entry[0](rest);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CliError) {
      process.stderr.write(`primer-ez: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(
      `primer-ez: unexpected error: ${(error as Error).stack ?? String(error)}\n`,
    );
    return 1;
  }
}

process.exit(await main(process.argv.slice(2)));
