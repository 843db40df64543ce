import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BackendInfo } from '@primer-ez/backend-node';
import { readRegularTextFile, writeFileAtomic } from '@primer-ez/node-io';
import { type PrimerConfig, PrimerModel, presetConfig } from '@primer-ez/primer-layers';
import { type Tokenizer, trainCharTokenizer } from '@primer-ez/tokenizer';
import { splitTokens, Trainer } from '@primer-ez/trainer';
import type { CorpusRecord } from '@primer-ez/trainer/node';
import type { WorkerThreadPool } from '@primer-ez/trainer/worker-threads';
import { type Flags, help, PRESET_SIZES, parse, type Values } from '../args.js';
import { BACKEND_FLAG, setupBackend } from '../common.js';
import { CORPUS_FLAG, type CorpusName, embeddedCorpus, readCorpus } from '../corpus.js';
import { CliError, UsageError } from '../errors.js';
import { formatDuration, ProgressBar } from '../progress.js';
import { corpusRecord } from '../run-guard.js';
import { lossChart, type Series } from '../svg.js';
import { resolveWorkers, startReplicas, WORKERS_FLAG } from '../workers.js';
import { ARMS, modelKey } from './experiment-arms.js';
import { openArm } from './experiment-resume.js';
import {
  type AggregateMeta,
  aggregateMarkdown,
  aggregateSeeds,
  parseSeeds,
  type SeedRun,
  seedSeries,
} from './experiment-seeds.js';
import { type Curve, resultsMarkdown, summarize } from './experiment-summary.js';
import { measureThroughput } from './experiment-throughput.js';

export { ARMS } from './experiment-arms.js';
export { type ArmResult, summarize } from './experiment-summary.js';

export const EXPERIMENT_FLAGS: Flags = {
  text: {
    type: 'string',
    multiple: true,
    description: 'text file(s); default: the embedded Moby-Dick (or --corpus)',
  },
  ...CORPUS_FLAG,
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
  seed: { type: 'int', min: 0, description: 'the same seed for every arm (default 0)' },
  seeds: {
    type: 'string',
    placeholder: 'LIST',
    description:
      'several seeds, comma-separated (0,1,2), instead of --seed: each seed trains (or reuses) the arms in OUT/seed-S/ as --seed S --out OUT/seed-S would, then OUT gets the table of all seeds (mean and spread of the final loss, step and time speed-ups paired by seed)',
  },
  'throughput-steps': {
    type: 'int',
    min: 0,
    description:
      'with --seeds: timed training steps per arm, after warm-up, arms taking turns, for tokens/s and the time speed-up (default 10; 0 skips)',
  },
  'report-only': {
    type: 'boolean',
    description:
      'train nothing: write the table from the arms already finished in --out with these settings',
  },
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
      'directory for the runs, results.json, results.md and loss.svg (with --seeds: OUT/seed-S/ per seed); arms that finished there with the same settings are reused, and arms killed part-way go on from their newest checkpoint',
  },
  fresh: {
    type: 'boolean',
    description:
      'retrain every listed arm from step 0, even one that finished or was started in --out with the same settings',
  },
  ...BACKEND_FLAG,
  ...WORKERS_FLAG,
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

const SYNOPSIS = 'primer-ez experiment primer-vs-vanilla [flags]';

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
  /** The model trained ({@link modelKey} of its config). */
  model: string;
  curve: Curve;
}

/** Written into an arm's run directory when (and only when) the arm has trained all its steps. */
const FINISHED = 'finished.json';

/** What every seed of one invocation shares. */
interface Context {
  v: Values;
  argv: string[];
  arms: string[];
  tokenizer: Tokenizer;
  data: ReturnType<typeof splitTokens>;
  /** The corpus as run.json records it (files hashed), to continue an arm only on the same text. */
  corpus: CorpusRecord;
  /** The settings of every arm but its seed. */
  settings: Omit<ArmSettings, 'seed'>;
  backend: BackendInfo;
  replicas: WorkerThreadPool | undefined;
}

/**
 * `primer-ez experiment primer-vs-vanilla`: trains each arm with the same seed, data, size and
 * optimiser, scoring the same validation windows every `--eval-every` steps, then writes the
 * table (validation loss at fixed steps; the step and wall-clock speed-up of each arm to reach
 * vanilla's final validation loss) and the curves. With `--seeds`, it does that for each seed in
 * `OUT/seed-S/` and writes the table of all seeds in `OUT`.
 */
export async function experiment(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name !== 'primer-vs-vanilla') {
    if (name === '--help' || name === '-h')
      return void process.stdout.write(help(SYNOPSIS, EXPERIMENT_FLAGS));
    throw new UsageError(
      `experiment: the experiment is 'primer-vs-vanilla', got ${JSON.stringify(name ?? '')}.`,
    );
  }
  const { values: v } = parse('experiment', rest, EXPERIMENT_FLAGS);
  if (v.help) return void process.stdout.write(help(SYNOPSIS, EXPERIMENT_FLAGS));
  const arms = (v.arms as string).split(',');
  for (const arm of arms)
    if (!(arm in ARMS))
      throw new UsageError(
        `experiment: unknown arm ${arm}; choose from ${Object.keys(ARMS).join(', ')}.`,
      );
  const seeds = v.seeds === undefined ? undefined : parseSeeds(v.seeds as string);
  if (seeds !== undefined && v.seed !== undefined)
    throw new UsageError(
      `experiment: --seed ${v.seed} and --seeds ${v.seeds} both choose the seeds; give one (--seeds ${v.seed} for one seed in OUT/seed-${v.seed}/).`,
    );
  if (seeds === undefined && v['throughput-steps'] !== undefined)
    throw new UsageError(
      'experiment: --throughput-steps times the arms of a --seeds run; add --seeds (e.g. --seeds 0,1,2), or drop it (one seed reports the time speed-up from its training time).',
    );
  if (v['report-only'] && v.fresh)
    throw new UsageError(
      'experiment: --report-only trains nothing, so --fresh has nothing to retrain; give one.',
    );
  const backend = await setupBackend(v.backend as string);
  const out = resolve(v.out as string);
  const corpus = await readCorpus(
    v.text as string[] | undefined,
    v.corpus as CorpusName | undefined,
  );
  const tokenizer = trainCharTokenizer(corpus.text);
  const data = splitTokens(tokenizer.encode(corpus.text));
  const throughputSteps =
    seeds === undefined ? 0 : ((v['throughput-steps'] as number | undefined) ?? 10);
  const workers = resolveWorkers(
    v.workers as number | undefined,
    backend,
    v['batch-size'] as number,
  );
  const reportOnly = v['report-only'] === true;
  const replicas =
    reportOnly && throughputSteps === 0 ? undefined : startReplicas(workers, backend);
  const ctx: Context = {
    v,
    argv: rest,
    arms,
    tokenizer,
    data,
    corpus: await experimentCorpus(v.text as string[] | undefined, corpus),
    backend,
    replicas,
    settings: {
      preset: v.preset as string,
      steps: v.steps as number,
      evalEvery: v['eval-every'] as number,
      batchSize: v['batch-size'] as number,
      seqLen: v['seq-len'] as number,
      lr: v.lr as number,
      warmup: v.warmup as number,
      evalWindows: v['eval-windows'] as number,
      corpus: corpus.source,
      backend: backend.device,
      workers,
    },
  };
  try {
    if (seeds === undefined) {
      const seed = (v.seed as number | undefined) ?? 0;
      const curves = reportOnly
        ? await finishedArms(ctx, out, seed)
        : await runSeed(ctx, out, seed);
      if (curves.length === 0)
        throw new CliError(
          `experiment --report-only: no arm has finished in ${out} with these settings; give the flags it was trained with.`,
        );
      await writeSeedReport(ctx, out, seed, curves, process.stdout);
      return;
    }
    const runs: SeedRun[] = [];
    for (const seed of seeds) {
      const dir = join(out, `seed-${seed}`);
      const curves = reportOnly
        ? await finishedArms(ctx, dir, seed)
        : await runSeed(ctx, dir, seed);
      // Each seed's own table in its directory, as the single-seed command writes it.
      if (!reportOnly) await writeSeedReport(ctx, dir, seed, curves, undefined);
      runs.push({ seed, curves });
    }
    const order = Object.keys(ARMS).filter((arm) =>
      runs.some((r) => r.curves.some((c) => c.arm === arm)),
    );
    if (order.length === 0)
      throw new CliError(
        `experiment --report-only: no arm has finished in ${out}/seed-{${seeds.join(',')}} with these settings; give the flags they were trained with.`,
      );
    let throughput: Record<string, number> | undefined;
    if (throughputSteps > 0) {
      process.stderr.write(
        `\nthroughput: ${throughputSteps} timed step${throughputSteps === 1 ? '' : 's'} per arm (${order.join(', ')}), arms taking turns\n`,
      );
      throughput = await measureThroughput(
        order,
        (arm) => {
          const { model, trainer } = makeArm(ctx, arm, seeds[0]!, { evalWindows: 1 });
          const dispose = () => {
            trainer.dispose();
            model.dispose();
          };
          return { arm, trainer, dispose };
        },
        throughputSteps,
        replicas,
      );
    }
    await writeAggregate(ctx, out, seeds, runs, order, throughputSteps, throughput);
  } finally {
    await replicas?.close();
  }
}

/**
 * The corpus as an arm's run.json records it: each text file hashed, or, for standard input (no
 * file to name), the hash of the text read.
 */
async function experimentCorpus(
  paths: string[] | undefined,
  corpus: { text: string; source: string },
): Promise<CorpusRecord> {
  if (!paths?.includes('-')) return corpusRecord(paths, corpus.source);
  const sha256 = createHash('sha256').update(corpus.text).digest('hex');
  return {
    source: corpus.source,
    files: [{ path: '-', size: Buffer.byteLength(corpus.text), sha256 }],
  };
}

/** The config `arm` trains with these settings. */
function armConfig(ctx: Context, arm: string): PrimerConfig {
  return presetConfig(ctx.v.preset as 'small', ctx.tokenizer.vocabSize, {
    ...ARMS[arm],
    max_seq_len: Math.max(ctx.settings.seqLen, 1),
  });
}

/** A fresh model and trainer for `arm`, as every arm is trained. */
function makeArm(
  ctx: Context,
  arm: string,
  seed: number,
  overrides: { evalWindows?: number } = {},
): { model: PrimerModel; trainer: Trainer } {
  const { settings } = ctx;
  const model = PrimerModel.create(armConfig(ctx, arm), { seed });
  const trainer = new Trainer(
    model,
    ctx.data,
    {
      batchSize: settings.batchSize,
      seqLen: settings.seqLen,
      lr: settings.lr,
      beta1: 0.9,
      beta2: 0.98,
      weightDecay: 0.01,
      warmup: settings.warmup,
      schedule: 'cosine',
      minLrRatio: 0.1,
      totalSteps: settings.steps,
      gradClip: 1,
      seed,
      evalWindows: overrides.evalWindows ?? settings.evalWindows,
      workers: settings.workers,
    },
    ctx.tokenizer,
  );
  return { model, trainer };
}

/**
 * One seed in `out`: trains each listed arm (or reuses it, finished there with the same
 * settings), then returns every arm finished there with these settings, in table order.
 */
async function runSeed(ctx: Context, out: string, seed: number): Promise<Curve[]> {
  const { v } = ctx;
  const settings: ArmSettings = { ...ctx.settings, seed };
  const steps = settings.steps;
  await mkdir(out, { recursive: true });
  const curves = new Map<string, Curve>();
  for (const arm of ctx.arms) {
    const fingerprint = modelKey(armConfig(ctx, arm));
    const finished = v.fresh ? null : await readFinishedArm(out, arm, settings, fingerprint);
    if (finished) {
      process.stderr.write(`\n${arm}: finished earlier in ${join(out, arm)}; reusing it\n`);
      curves.set(arm, finished);
      continue;
    }
    // An arm that did not finish goes on from its newest checkpoint if it was started with these
    // settings; otherwise (or with --fresh) it starts over, no stale metrics or checkpoints mixed in.
    const opened = await openArm(
      join(out, arm),
      arm,
      { experiment: 'primer-vs-vanilla', arm, model: fingerprint, ...settings },
      ctx.corpus,
      ctx.data,
      ctx.tokenizer,
      { fresh: v.fresh === true, finishedFile: FINISHED },
    );
    const { run } = opened;
    const { model, trainer } = opened.resumed
      ? { model: opened.resumed.trainer.model, trainer: opened.resumed.trainer }
      : makeArm(ctx, arm, seed);
    if (!opened.resumed)
      process.stderr.write(`\n${arm}: ${model.parameterCount.toLocaleString('en')} parameters\n`);
    const bar = new ProgressBar(process.stderr, 50);
    const curve: Curve = opened.resumed?.curve ?? {
      arm,
      evals: [],
      seconds: 0,
      tokensPerSecond: 0,
    };
    await trainer.run({
      steps,
      evalEvery: settings.evalEvery,
      evalAtStart: trainer.step === 0,
      sink: run,
      ...(ctx.replicas ? { replicas: ctx.replicas } : {}),
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
    await writeFileAtomic(
      join(out, arm, FINISHED),
      `${JSON.stringify({ settings, model: fingerprint, curve } satisfies FinishedArm, null, 2)}\n`,
    );
    trainer.dispose();
    model.dispose();
  }
  // Arms finished earlier in --out with the same settings (e.g. by another process) join the table.
  for (const curve of await finishedArms(ctx, out, seed, curves))
    if (!curves.has(curve.arm)) curves.set(curve.arm, curve);
  return Object.keys(ARMS).flatMap((arm) => curves.get(arm) ?? []);
}

/** Every arm finished in `out` with this seed and the run's settings, in table order (none trained). */
async function finishedArms(
  ctx: Context,
  out: string,
  seed: number,
  known: ReadonlyMap<string, Curve> = new Map(),
): Promise<Curve[]> {
  const settings: ArmSettings = { ...ctx.settings, seed };
  const curves: Curve[] = [];
  for (const arm of Object.keys(ARMS)) {
    const curve =
      known.get(arm) ?? (await readFinishedArm(out, arm, settings, modelKey(armConfig(ctx, arm))));
    if (curve) curves.push(curve);
  }
  return curves;
}

/** The single-seed report in `out`: results.json, results.md and loss.svg (and the table on `stdout`). */
async function writeSeedReport(
  ctx: Context,
  out: string,
  seed: number,
  ordered: Curve[],
  stdout: NodeJS.WritableStream | undefined,
): Promise<void> {
  const { steps } = ctx.settings;
  if (!ordered.some((c) => c.arm === 'vanilla'))
    process.stderr.write(
      `vanilla has not finished in ${out} with these settings: the table has no speed-ups yet. Run vanilla (--arms vanilla, same flags and --out); the finished arms are reused.\n`,
    );
  const results = summarize(ordered, steps);
  const settings: ArmSettings = { ...ctx.settings, seed };
  const meta = {
    command: `primer-ez experiment primer-vs-vanilla ${ctx.argv.join(' ')}`.trim(),
    backend: ctx.backend.device,
    preset: settings.preset,
    steps,
    corpus: settings.corpus,
    ...(ctx.v.seeds === undefined ? {} : { seed }),
    date: new Date().toISOString(),
  };
  const table = resultsMarkdown(meta, results, steps);
  await writeFileAtomic(
    join(out, 'results.json'),
    `${JSON.stringify({ meta, settings, curves: ordered, results }, null, 2)}\n`,
  );
  await writeFileAtomic(join(out, 'results.md'), table);
  const series: Series[] = ordered.map((c) => ({
    name: c.arm,
    points: c.evals.map((e) => [e.step, e.loss]),
    dashed: false,
    group: c.arm,
  }));
  await writeFileAtomic(
    join(out, 'loss.svg'),
    lossChart(series, {
      title: `Validation loss, ${settings.preset} preset, ${corpusTitle(settings.corpus)}${ctx.v.seeds === undefined ? '' : `, seed ${seed}`}`,
      xLabel: 'step',
      yLabel: 'validation loss (nats/char)',
    }),
  );
  stdout?.write(table);
  process.stderr.write(
    `wrote ${join(out, 'results.md')}, results.json and loss.svg (${formatDuration(ordered.reduce((a, c) => a + c.seconds, 0) * 1000)} of training)\n`,
  );
}

/** The table of all seeds in `out`: results.json, results.md, loss.svg, and the table on stdout. */
async function writeAggregate(
  ctx: Context,
  out: string,
  seeds: number[],
  runs: SeedRun[],
  order: string[],
  throughputSteps: number,
  throughput: Record<string, number> | undefined,
): Promise<void> {
  const { settings } = ctx;
  const missing = runs.filter((r) => !r.curves.some((c) => c.arm === 'vanilla')).map((r) => r.seed);
  if (missing.length > 0)
    process.stderr.write(
      `vanilla has not finished for seed${missing.length === 1 ? '' : 's'} ${missing.join(', ')} in ${out}: ${missing.length === 1 ? 'that seed has' : 'those seeds have'} no speed-ups yet (run --arms vanilla with the same flags; finished arms are reused).\n`,
    );
  const rows = aggregateSeeds(runs, settings.steps, order, throughput);
  const meta: AggregateMeta = {
    command: `primer-ez experiment primer-vs-vanilla ${ctx.argv.join(' ')}`.trim(),
    seeds,
    steps: settings.steps,
    backend: settings.backend,
    workers: settings.workers,
    corpus: settings.corpus,
    date: new Date().toISOString(),
    throughputSteps: throughput ? throughputSteps : 0,
  };
  const table = aggregateMarkdown(meta, rows);
  await mkdir(out, { recursive: true });
  await writeFileAtomic(
    join(out, 'results.json'),
    `${JSON.stringify({ meta, settings, throughput: throughput ?? null, results: rows, runs }, null, 2)}\n`,
  );
  await writeFileAtomic(join(out, 'results.md'), table);
  await writeFileAtomic(
    join(out, 'loss.svg'),
    lossChart(seedSeries(runs, order), {
      title: `Validation loss, ${settings.preset} preset, ${corpusTitle(settings.corpus)}, seeds ${seeds.join(', ')}`,
      xLabel: 'step',
      yLabel: 'validation loss (nats/char)',
    }),
  );
  process.stdout.write(table);
  process.stderr.write(`wrote ${join(out, 'results.md')}, results.json and loss.svg\n`);
}

/** The corpus in a chart title: the embedded ones by name, other text as given. */
function corpusTitle(source: string): string {
  const name = embeddedCorpus(source);
  return name === 'sotu'
    ? 'State of the Union (char)'
    : name === 'moby-dick'
      ? 'Moby-Dick (char)'
      : source;
}

/** The curve of `arm` if it finished in `out` with exactly `settings` and `model`; null otherwise. */
async function readFinishedArm(
  out: string,
  arm: string,
  settings: ArmSettings,
  model: string,
): Promise<Curve | null> {
  let parsed: FinishedArm;
  try {
    parsed = JSON.parse(
      await readRegularTextFile(join(out, arm, FINISHED), { maxBytes: 16 * 2 ** 20 }),
    ) as FinishedArm;
  } catch {
    return null;
  }
  const differ = Object.entries(settings)
    .filter(([k, value]) => parsed.settings?.[k as keyof ArmSettings] !== value)
    .map(
      ([k, value]) =>
        `${k} ${JSON.stringify(parsed.settings[k as keyof ArmSettings])}, not ${JSON.stringify(value)}`,
    );
  if (parsed.settings && parsed.model !== model)
    differ.push(
      typeof parsed.model === 'string'
        ? `model ${modelDifference(parsed.model, model)}`
        : 'no model recorded (written by an older primer-ez)',
    );
  if (differ.length > 0 && parsed.settings)
    process.stderr.write(
      `${join(out, arm)}: finished with other settings (${differ.join('; ')}); not reused\n`,
    );
  return differ.length === 0 && parsed.curve?.arm === arm ? parsed.curve : null;
}

/** How the model `was` differs from `now` ({@link modelKey} strings), key by key. */
function modelDifference(was: string, now: string): string {
  const [a, b] = [JSON.parse(was), JSON.parse(now)] as Record<string, unknown>[];
  const keys = [...new Set([...Object.keys(a!), ...Object.keys(b!)])];
  return keys
    .filter((k) => a![k] !== b![k])
    .map((k) => `${k} ${JSON.stringify(a![k])}, not ${JSON.stringify(b![k])}`)
    .join(', ');
}
