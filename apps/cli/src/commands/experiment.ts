import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readRegularTextFile } from '@primer-ez/node-io';
import { type PrimerConfig, PrimerModel, presetConfig } from '@primer-ez/primer-layers';
import { trainCharTokenizer } from '@primer-ez/tokenizer';
import { splitTokens, Trainer } from '@primer-ez/trainer';
import { RunDirectory } from '@primer-ez/trainer/node';
import { type Flags, help, PRESET_SIZES, parse } from '../args.js';
import { BACKEND_FLAG, setupBackend } from '../common.js';
import { readCorpus } from '../corpus.js';
import { UsageError } from '../errors.js';
import { formatDuration, ProgressBar } from '../progress.js';
import { lossChart, type Series } from '../svg.js';
import { resolveWorkers, startReplicas, WORKERS_FLAG } from '../workers.js';

/** The arms of the primer-vs-vanilla experiment: what each changes from vanilla. */
export const ARMS: Record<string, Partial<PrimerConfig>> = {
  vanilla: { attention: 'mha', ffn_activation: 'relu' },
  'primer-ez': { attention: 'mdha', ffn_activation: 'squared_relu', dconv: 'per_channel' },
  'primer-ez-shared': { attention: 'mdha', ffn_activation: 'squared_relu', dconv: 'shared' },
  /** The paper's per-channel MDHA started from PyTorch's Conv1d init, with a bias (issue 16). */
  'primer-ez-uniform': {
    attention: 'mdha',
    ffn_activation: 'squared_relu',
    dconv: 'per_channel',
    dconv_init: 'uniform',
    dconv_bias: true,
  },
  'squared-relu-only': { attention: 'mha', ffn_activation: 'squared_relu' },
  'mdha-only': { attention: 'mdha', ffn_activation: 'relu', dconv: 'per_channel' },
};

export const EXPERIMENT_FLAGS: Flags = {
  text: {
    type: 'string',
    multiple: true,
    description: 'text file(s); default: the embedded Moby-Dick',
  },
  preset: {
    type: 'enum',
    values: PRESET_SIZES,
    default: 'small',
    description: 'model size',
  },
  arms: {
    type: 'string',
    default: 'vanilla,primer-ez,primer-ez-shared,squared-relu-only,mdha-only',
    description: `comma-separated arms (${Object.keys(ARMS).join(', ')})`,
  },
  steps: { type: 'int', min: 1, default: 2000, description: 'steps per arm' },
  'eval-every': { type: 'int', min: 1, default: 100, description: 'validate every N steps' },
  'batch-size': { type: 'int', min: 1, default: 32, description: 'windows per step' },
  'seq-len': { type: 'int', min: 1, default: 128, description: 'window length' },
  lr: { type: 'float', min: 0, default: 1e-3, description: 'AdamW peak learning rate' },
  warmup: {
    type: 'int',
    min: 0,
    default: 100,
    description: 'warmup steps (then cosine to 0.1×lr)',
  },
  seed: { type: 'int', min: 0, default: 0, description: 'the same seed for every arm' },
  'eval-windows': {
    type: 'int',
    min: 1,
    default: 64,
    description: 'validation windows (the same for every arm)',
  },
  out: {
    type: 'string',
    default: 'runs/experiment',
    description:
      'directory for the runs, results.json, results.md and loss.svg; arms that finished there with the same settings are reused',
  },
  fresh: {
    type: 'boolean',
    description: 'retrain every listed arm even if it finished in --out with the same settings',
  },
  ...BACKEND_FLAG,
  ...WORKERS_FLAG,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

interface Curve {
  arm: string;
  evals: { step: number; seconds: number; loss: number }[];
  seconds: number;
  tokensPerSecond: number;
}

/**
 * `primer-ez experiment primer-vs-vanilla`: trains each arm with the same seed, data, size and
 * optimiser, scoring the same validation windows every `--eval-every` steps, then writes the
 * table (validation loss at fixed steps; the step and wall-clock speed-up of each arm to reach
 * vanilla's final validation loss) and the curves.
 */
export async function experiment(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name !== 'primer-vs-vanilla') {
    if (name === '--help' || name === '-h')
      return void process.stdout.write(
        help('primer-ez experiment primer-vs-vanilla [flags]', EXPERIMENT_FLAGS),
      );
    throw new UsageError(
      `experiment: the experiment is 'primer-vs-vanilla', got ${JSON.stringify(name ?? '')}.`,
    );
  }
  const { values: v } = parse('experiment', rest, EXPERIMENT_FLAGS);
  if (v.help)
    return void process.stdout.write(
      help('primer-ez experiment primer-vs-vanilla [flags]', EXPERIMENT_FLAGS),
    );
  const arms = (v.arms as string).split(',');
  for (const arm of arms)
    if (!(arm in ARMS))
      throw new UsageError(
        `experiment: unknown arm ${arm}; choose from ${Object.keys(ARMS).join(', ')}.`,
      );
  const backend = await setupBackend(v.backend as string);
  const out = resolve(v.out as string);
  await mkdir(out, { recursive: true });
  const corpus = await readCorpus(v.text as string[] | undefined);
  const tokenizer = trainCharTokenizer(corpus.text);
  const data = splitTokens(tokenizer.encode(corpus.text));
  const steps = v.steps as number;
  // What must match for a finished arm in --out to be reused or compared with this run's.
  const settings: ArmSettings = {
    preset: v.preset as string,
    steps,
    evalEvery: v['eval-every'] as number,
    batchSize: v['batch-size'] as number,
    seqLen: v['seq-len'] as number,
    lr: v.lr as number,
    warmup: v.warmup as number,
    seed: v.seed as number,
    evalWindows: v['eval-windows'] as number,
    corpus: corpus.source,
    backend: backend.device,
    workers: resolveWorkers(v.workers as number | undefined, backend, v['batch-size'] as number),
  };
  const curves = new Map<string, Curve>();
  const replicas = startReplicas(settings.workers, backend);
  try {
    for (const arm of arms) {
      const finished = v.fresh ? null : await readFinishedArm(out, arm, settings);
      if (finished) {
        process.stderr.write(`\n${arm}: finished earlier in ${join(out, arm)}; reusing it\n`);
        curves.set(arm, finished);
        continue;
      }
      const config = presetConfig(v.preset as 'small', tokenizer.vocabSize, {
        ...ARMS[arm],
        max_seq_len: Math.max(v['seq-len'] as number, 1),
      });
      const model = PrimerModel.create(config, { seed: v.seed as number });
      const trainer = new Trainer(
        model,
        data,
        {
          batchSize: v['batch-size'] as number,
          seqLen: v['seq-len'] as number,
          lr: v.lr as number,
          beta1: 0.9,
          beta2: 0.98,
          weightDecay: 0.01,
          warmup: v.warmup as number,
          schedule: 'cosine',
          minLrRatio: 0.1,
          totalSteps: steps,
          gradClip: 1,
          seed: v.seed as number,
          evalWindows: v['eval-windows'] as number,
          workers: settings.workers,
        },
        tokenizer,
      );
      // An arm that did not finish (or --fresh) starts over: no stale metrics or checkpoints mixed in.
      await rm(join(out, arm), { recursive: true, force: true });
      const run = await RunDirectory.open(join(out, arm));
      process.stderr.write(`\n${arm}: ${model.parameterCount.toLocaleString('en')} parameters\n`);
      const bar = new ProgressBar(process.stderr, 50);
      const curve: Curve = { arm, evals: [], seconds: 0, tokensPerSecond: 0 };
      await trainer.run({
        steps,
        evalEvery: v['eval-every'] as number,
        evalAtStart: true,
        sink: run,
        ...(replicas ? { replicas } : {}),
        onEvent: async (e) => {
          await run.log(e);
          if (e.type === 'step') {
            bar.update(e);
            curve.tokensPerSecond = e.tokensPerSecond;
          }
          if (e.type === 'eval') {
            // The validation at step 0 counts no training time.
            const seconds = e.step === 0 ? 0 : trainer.elapsedMs / 1000;
            curve.evals.push({ step: e.step, seconds, loss: e.loss });
            if (e.step > 0) bar.log(`${arm} step ${e.step}: validation loss ${e.loss.toFixed(4)}`);
          }
        },
      });
      bar.done();
      await run.close();
      curve.seconds = trainer.elapsedMs / 1000;
      curves.set(arm, curve);
      await writeFile(
        join(out, arm, FINISHED),
        `${JSON.stringify({ settings, curve } satisfies FinishedArm, null, 2)}\n`,
      );
      trainer.dispose();
      model.dispose();
    }
  } finally {
    await replicas?.close();
  }
  // Arms finished earlier in --out with the same settings (e.g. by another process) join the table.
  for (const arm of Object.keys(ARMS))
    if (!curves.has(arm)) {
      const finished = await readFinishedArm(out, arm, settings);
      if (finished) curves.set(arm, finished);
    }
  const ordered = Object.keys(ARMS).flatMap((arm) => curves.get(arm) ?? []);
  if (!curves.has('vanilla'))
    process.stderr.write(
      `vanilla has not finished in ${out} with these settings: the table has no speed-ups yet. Run vanilla (--arms vanilla, same flags and --out); the finished arms are reused.\n`,
    );
  const results = summarize(ordered, steps);
  const meta = {
    command: `primer-ez experiment primer-vs-vanilla ${rest.join(' ')}`.trim(),
    backend: backend.device,
    preset: v.preset,
    steps,
    corpus: corpus.source,
    date: new Date().toISOString(),
  };
  await writeFile(
    join(out, 'results.json'),
    `${JSON.stringify({ meta, settings, curves: ordered, results }, null, 2)}\n`,
  );
  await writeFile(join(out, 'results.md'), resultsMarkdown(meta, results, steps));
  const series: Series[] = ordered.map((c) => ({
    name: c.arm,
    points: c.evals.map((e) => [e.step, e.loss]),
    dashed: false,
    group: c.arm,
  }));
  await writeFile(
    join(out, 'loss.svg'),
    lossChart(series, {
      title: `Validation loss, ${v.preset} preset, Moby-Dick (char)`,
      xLabel: 'step',
      yLabel: 'validation loss (nats/char)',
    }),
  );
  process.stdout.write(resultsMarkdown(meta, results, steps));
  process.stderr.write(
    `wrote ${join(out, 'results.md')}, results.json and loss.svg (${formatDuration(ordered.reduce((a, c) => a + c.seconds, 0) * 1000)} of training)\n`,
  );
}

/** Everything that must be equal for two arms' curves to be compared. */
interface ArmSettings {
  preset: string;
  steps: number;
  evalEvery: number;
  batchSize: number;
  seqLen: number;
  lr: number;
  warmup: number;
  seed: number;
  evalWindows: number;
  corpus: string;
  backend: string;
  /** Data-parallel workers: the same training up to summation order, at another speed. */
  workers: number;
}

interface FinishedArm {
  settings: ArmSettings;
  curve: Curve;
}

/** Written into an arm's run directory when (and only when) the arm has trained all its steps. */
const FINISHED = 'finished.json';

/** The curve of `arm` if it finished in `out` with exactly `settings`; null otherwise. */
async function readFinishedArm(
  out: string,
  arm: string,
  settings: ArmSettings,
): Promise<Curve | null> {
  let parsed: FinishedArm;
  try {
    parsed = JSON.parse(
      await readRegularTextFile(join(out, arm, FINISHED), { maxBytes: 16 * 2 ** 20 }),
    ) as FinishedArm;
  } catch {
    return null;
  }
  const same = Object.entries(settings).every(
    ([k, value]) => parsed.settings?.[k as keyof ArmSettings] === value,
  );
  return same && parsed.curve?.arm === arm ? parsed.curve : null;
}

/** One row of the results table. */
export interface ArmResult {
  arm: string;
  lossAt: Record<number, number | null>;
  final: number;
  /** First evaluated step whose validation loss is ≤ vanilla's final loss, or null. */
  stepToVanillaFinal: number | null;
  stepSpeedup: number | null;
  timeSpeedup: number | null;
  tokensPerSecond: number;
}

/** The table: loss at fixed steps, and speed-ups to vanilla's final validation loss. */
export function summarize(curves: Curve[], steps: number): ArmResult[] {
  const vanilla = curves.find((c) => c.arm === 'vanilla');
  const target = vanilla?.evals.at(-1)?.loss ?? Number.NEGATIVE_INFINITY;
  const marks = [250, 500, 1000, 1500, 2000].filter((s) => s <= steps);
  return curves.map((c) => {
    const reach = c.evals.find((e) => e.step > 0 && e.loss <= target);
    const lossAt = Object.fromEntries(
      marks.map((m) => [m, c.evals.find((e) => e.step === m)?.loss ?? null]),
    );
    return {
      arm: c.arm,
      lossAt,
      final: c.evals.at(-1)!.loss,
      stepToVanillaFinal: reach?.step ?? null,
      stepSpeedup: reach ? steps / reach.step : null,
      timeSpeedup: reach && vanilla ? vanilla.seconds / reach.seconds : null,
      tokensPerSecond: c.tokensPerSecond,
    };
  });
}

function resultsMarkdown(
  meta: Record<string, unknown>,
  results: ArmResult[],
  steps: number,
): string {
  const marks = Object.keys(results[0]?.lossAt ?? {});
  const f = (x: number | null, d = 4) => (x === null ? '–' : x.toFixed(d));
  const cells = (xs: string[]) => xs.map((x) => ` ${x} |`).join('');
  const head = `| arm |${cells(marks.map((m) => `val loss @${m}`))} final | step reaching vanilla's final | step speed-up | time speed-up | tokens/s |`;
  const rule = `|---|${marks.map(() => '---:|').join('')}---:|---:|---:|---:|---:|`;
  const rows = results.map(
    (r) =>
      `| ${r.arm} |${cells(marks.map((m) => f(r.lossAt[Number(m)] ?? null)))} ${f(r.final)} | ${r.stepToVanillaFinal ?? '–'} | ${r.stepSpeedup === null ? '–' : `${r.stepSpeedup.toFixed(2)}×`} | ${r.timeSpeedup === null ? '–' : `${r.timeSpeedup.toFixed(2)}×`} | ${Math.round(r.tokensPerSecond)} |`,
  );
  return `${[`Command: \`${meta.command}\` (${steps} steps per arm, backend ${meta.backend}, ${meta.date})`, '', head, rule, ...rows].join('\n')}\n`;
}
