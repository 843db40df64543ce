// The one backend conformance suite (tfjs's ALL_ENVS pattern): every backend's tests call
// describeConformance with a way to run the procedure there — cpu, wasm, webgpu and tfjs-node in
// Node, webgl, wasm and webgpu in headless Chromium — and get the same checks against the Node
// cpu reference and PyTorch's numbers, with one NaN-aware comparison.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CASES,
  type CaseLibrary,
  type CaseName,
  type ConformanceCase,
  loadCases,
} from './cases.js';
import { firstNonFinite, maxAbs, maxAbsDiff } from './compare.js';
import { type ConformanceResult, runConformance } from './procedure.js';

/** How close a backend must come to the Node cpu reference. */
export interface Tolerances {
  /** max |Δ logits| (also cached-decoding logits, and against PyTorch). */
  logits: number;
  /** |Δ loss| (every step's, evaluation's, and against PyTorch). */
  loss: number;
  /** Gradients: |Δ| ≤ gradAtol + gradRtol·(largest entry of that parameter's gradient). */
  gradAtol: number;
  gradRtol: number;
}

/**
 * WebGL's tolerances, the loosest any backend gets (webgpu is held to the same). The absolute
 * part of the gradients' is for gradients that are zero in exact arithmetic and float noise here
 * (vanilla attention's key bias: softmax ignores a constant added to every score of a row).
 */
export const TOLERANCES: Tolerances = { logits: 1e-4, loss: 1e-4, gradAtol: 1e-6, gradRtol: 1e-4 };

/** One environment the suite runs in. */
export interface ConformanceEnvironment {
  /** e.g. `wasm (Node)`, `webgpu (Chromium)`. */
  name: string;
  /** Runs {@link runConformance} for the case there. */
  run(c: ConformanceCase): Promise<ConformanceResult>;
  /** Prepares the environment (a browser page, say); runs once before the cases. */
  setup?(cases: readonly ConformanceCase[]): Promise<void>;
  teardown?(): Promise<void>;
  /** Stricter tolerances where a backend earns them; never looser than {@link TOLERANCES}. */
  tolerances?: Partial<Tolerances>;
  /** Cases to run (default all): keep slow software backends lean. */
  cases?: readonly CaseName[];
}

/** The reference side: the cases, and the Node cpu backend's result for each. */
export interface ConformanceReference {
  lib: CaseLibrary;
  /** Switches to the Node cpu backend. */
  useCpu(): Promise<void>;
}

let referenceCache:
  | Promise<{ cases: ConformanceCase[]; results: Map<string, ConformanceResult> }>
  | undefined;

/** The cases and their cpu results, computed once per process. */
export function reference({ lib, useCpu }: ConformanceReference) {
  referenceCache ??= (async () => {
    await useCpu();
    const cases = await loadCases(lib);
    const results = new Map<string, ConformanceResult>();
    for (const c of cases) results.set(c.name, await runConformance(lib, c.files, c.batch));
    return { cases, results };
  })();
  return referenceCache;
}

/** The differences between a result and the reference, and what broke the tolerances. */
export function compareResults(
  ref: ConformanceResult,
  got: ConformanceResult,
  tolerances: Tolerances = TOLERANCES,
): { logits: number; loss: number; grads: number; gradsRel: number; bad: string[] } {
  const bad: string[] = [];
  const check = (what: string, diff: number, tol: number) => {
    if (!(diff <= tol)) bad.push(`${what}: max |diff| ${diff} > ${tol}`);
    return diff;
  };
  const logits = check('logits', maxAbsDiff(ref.logits, got.logits), tolerances.logits);
  let loss = check('loss', Math.abs(ref.loss - got.loss), tolerances.loss);
  let grads = 0;
  let gradsRel = 0;
  ref.steps.forEach((step, s) => {
    const other = got.steps[s];
    if (other === undefined) {
      bad.push(`SGD step ${s + 1}: missing`);
      return;
    }
    loss = Math.max(
      loss,
      check(`SGD step ${s + 1} loss`, Math.abs(step.loss - other.loss), tolerances.loss),
    );
    const names = Object.keys(step.grads).sort();
    if (JSON.stringify(names) !== JSON.stringify(Object.keys(other.grads).sort()))
      bad.push(`SGD step ${s + 1}: gradients of different parameters`);
    for (const name of names) {
      const g = step.grads[name]!;
      const diff = maxAbsDiff(g, other.grads[name] ?? new Float32Array(g.length).fill(Number.NaN));
      const scale = maxAbs(g);
      grads = Math.max(grads, diff);
      if (scale > 1e-6) gradsRel = Math.max(gradsRel, diff / scale);
      if (!(diff <= tolerances.gradAtol + tolerances.gradRtol * scale))
        bad.push(
          `SGD step ${s + 1} gradient of ${name}: max |diff| ${diff} with max |grad| ${scale}`,
        );
    }
  });
  ref.adamw.forEach((step, s) => {
    const other = got.adamw[s];
    if (other === undefined) {
      bad.push(`AdamW step ${s + 1}: missing`);
      return;
    }
    loss = Math.max(
      loss,
      check(`AdamW step ${s + 1} loss`, Math.abs(step.loss - other.loss), tolerances.loss),
    );
    check(
      `AdamW step ${s + 1} gradient norm (relative)`,
      Math.abs(step.norm - other.norm) / step.norm,
      tolerances.gradRtol,
    );
  });
  loss = Math.max(
    loss,
    check('evaluation loss', Math.abs(ref.evalLoss - got.evalLoss), tolerances.loss),
  );
  check(
    'cached decoding logits',
    maxAbsDiff(ref.decodeLogits, got.decodeLogits),
    tolerances.logits,
  );
  return { logits, loss, grads, gradsRel, bad };
}

/** The checks a result must pass on its own, on any backend. */
export function checkResult(
  c: ConformanceCase,
  got: ConformanceResult,
  tolerances: Tolerances,
): string[] {
  const bad: string[] = [];
  for (const [what, values] of [
    ['logits', got.logits],
    ['cached decoding logits', got.decodeLogits],
  ] as const) {
    const at = firstNonFinite(values);
    if (at >= 0) bad.push(`${what}[${at}] is ${values[at]}`);
  }
  if (!(got.decodeVsForward <= tolerances.logits))
    bad.push(`cached decoding differs from the full forward pass by ${got.decodeVsForward}`);
  if (got.roundTrip !== 0)
    bad.push(`logits changed by ${got.roundTrip} after a checkpoint round trip`);
  if (!(got.steps[1]!.loss < got.steps[0]!.loss)) bad.push('SGD steps did not lower the loss');
  if (new Set(got.tensors).size !== 1)
    bad.push(`tensor count over training steps: ${got.tensors.join(', ')}`);
  if (new Set(got.gpuBytes).size > 1)
    bad.push(`GPU bytes over training steps: ${got.gpuBytes.join(', ')}`);
  if (c.torch) {
    const d = maxAbsDiff(c.torch.logits, got.logits);
    if (!(d <= tolerances.logits)) bad.push(`logits differ from PyTorch's by ${d}`);
    const l = Math.abs(c.torch.loss - got.loss);
    if (!(l <= tolerances.loss)) bad.push(`loss differs from PyTorch's by ${l}`);
  }
  return bad;
}

/**
 * The conformance suite for one environment: for every case, the same logits, loss, gradients,
 * AdamW steps, evaluation and cached decoding as the Node cpu reference; PyTorch's logits and loss
 * for its fixtures; exact checkpoint round trips; flat tensor and GPU-buffer counts.
 */
export function describeConformance(ref: ConformanceReference, env: ConformanceEnvironment): void {
  const tolerances = { ...TOLERANCES, ...env.tolerances };
  for (const key of Object.keys(tolerances) as (keyof Tolerances)[]) {
    if (tolerances[key] > TOLERANCES[key])
      throw new Error(
        `${env.name}: tolerance ${key} ${tolerances[key]} is looser than ${TOLERANCES[key]}`,
      );
  }
  describe(`conformance: ${env.name}`, () => {
    const summary: string[] = [];
    let references: Awaited<ReturnType<typeof reference>>;
    beforeAll(async () => {
      references = await reference(ref);
      await env.setup?.(references.cases);
    }, 600_000);
    afterAll(async () => {
      if (summary.length > 0)
        console.log(
          `[conformance] ${env.name}, max |diff| against Node cpu:\n${summary.join('\n')}`,
        );
      await env.teardown?.();
    });
    it.each([...(env.cases ?? CASES)])(
      '%s',
      async (name) => {
        const c = references.cases.find((k) => k.name === name)!;
        const got = await env.run(c);
        const d = compareResults(references.results.get(name)!, got, tolerances);
        summary.push(
          `  ${name.padEnd(16)} logits ${d.logits.toExponential(1)}  loss ${d.loss.toExponential(1)}  grads ${d.grads.toExponential(1)} (${d.gradsRel.toExponential(1)} of the largest)  tensors ${got.tensors[0]}${got.gpuBytes.length > 0 ? `  GPU bytes ${got.gpuBytes[0]}` : ''}  ${got.ms.toFixed(0)} ms`,
        );
        expect([...d.bad, ...checkResult(c, got, tolerances)]).toEqual([]);
      },
      300_000,
    );
  });
}
