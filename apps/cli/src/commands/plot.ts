import { writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { type FileReadError, MAX_BUFFER_BYTES, readRegularTextFile } from '@primer-ez/node-io';
import { type Flags, help, parse } from '../args.js';
import { CliError, UsageError } from '../errors.js';
import { lossChart, type Series } from '../svg.js';

export const PLOT_FLAGS = {
  out: {
    type: 'string',
    placeholder: 'FILE',
    description:
      'output SVG, - for stdout (default: RUN_DIR/loss.svg, or loss.svg for several runs)',
  },
  x: {
    type: 'enum',
    values: ['step', 'time'],
    default: 'step',
    description: 'x axis: steps or wall-clock seconds',
  },
  smooth: {
    type: 'float',
    min: 0,
    default: 0.9,
    description: 'EMA smoothing of the training loss (0: none)',
  },
  title: { type: 'string', placeholder: 'TEXT', default: 'Loss', description: 'chart title' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Flags;

/** `primer-ez plot RUN_DIR [RUN_DIR …]`: training and validation loss curves as an SVG image. */
export async function plot(argv: string[]): Promise<void> {
  const { values: v, positionals: runs } = parse('plot', argv, PLOT_FLAGS);
  if (v.help)
    return void process.stdout.write(
      help('primer-ez plot RUN_DIR [RUN_DIR …] [flags]: loss curves as SVG', PLOT_FLAGS),
    );
  if (runs.length === 0)
    throw new UsageError('plot: give one or more run directories (each holds metrics.jsonl).');
  const byTime = v.x === 'time';
  const series: Series[] = [];
  for (const run of runs) {
    const path = join(run, 'metrics.jsonl');
    const text = await readRegularTextFile(path, { maxBytes: MAX_BUFFER_BYTES }).catch(
      (error: FileReadError) => {
        throw new CliError(
          error.code === 'ENOENT'
            ? `plot: ${path} not found; is ${run} a run directory made by primer-ez train?`
            : `plot: ${error.message}.`,
        );
      },
    );
    const rows = text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l, i) => {
        try {
          return JSON.parse(l) as Record<string, number>;
        } catch {
          throw new CliError(`plot: ${path} line ${i + 1} is not JSON.`);
        }
      });
    const name = basename(resolve(run));
    const time = new Map<number, number>();
    for (const r of rows) if (r.elapsed_s !== undefined) time.set(r.step!, r.elapsed_s);
    const xOf = (r: Record<string, number>) =>
      byTime ? (time.get(r.step!) ?? Number.NaN) : r.step!;
    let ema: number | undefined;
    const train = rows
      .filter((r) => r.loss !== undefined)
      .map((r) => {
        ema = ema === undefined ? r.loss! : v.smooth * ema + (1 - v.smooth) * r.loss!;
        return [xOf(r), ema] as [number, number];
      });
    const val = rows
      .filter((r) => r.val_loss !== undefined)
      .map((r) => [xOf(r), r.val_loss!] as [number, number]);
    if (train.length + val.length === 0)
      throw new CliError(`plot: ${path} has no loss values yet.`);
    series.push({
      name: `${name} train`,
      points: train.filter(([x]) => Number.isFinite(x)),
      dashed: false,
      group: name,
    });
    if (val.length > 0)
      series.push({
        name: `${name} validation`,
        points: val.filter(([x]) => Number.isFinite(x)),
        dashed: true,
        group: name,
      });
  }
  const out = v.out ?? (runs.length === 1 ? join(runs[0]!, 'loss.svg') : 'loss.svg');
  const svg = lossChart(series, {
    title: v.title,
    xLabel: byTime ? 'seconds' : 'step',
    yLabel: 'loss (nats/token)',
  });
  if (out === '-') return void process.stdout.write(svg);
  await writeFile(out, svg).catch((error: Error) => {
    throw new CliError(`plot: cannot write --out ${out}: ${error.message}`);
  });
  process.stderr.write(`wrote ${out}\n`);
}
