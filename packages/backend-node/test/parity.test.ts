// Cross-backend parity in Node: the same checkpoint gives the same logits (≤ 1e-4), the same
// loss and the same gradients over two SGD steps on cpu and on wasm. Backends are switched with
// initBackend, the adapter under test.
import { expectClose } from '@primer-ez/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import {
  maxAbs,
  maxAbsDiff,
  type ParityCase,
  type ParityResult,
  runCase,
  seededCase,
  TORCH_CASES,
  torchCase,
} from './checkpoints.js';

const LOGITS_TOL = 1e-4;
const LOSS_TOL = 1e-5;
/**
 * Gradients: |diff| ≤ 1e-6 + 1e-4·(largest entry of that parameter's gradient). The absolute
 * part is for gradients that are zero in exact arithmetic and float noise here (vanilla
 * attention's key bias: softmax ignores a constant added to every score of a row).
 */
const GRAD_ATOL = 1e-6;
const GRAD_RTOL = 1e-4;

const summary: string[] = [];

describe('cpu ↔ wasm parity (Node)', () => {
  const cases: ParityCase[] = TORCH_CASES.map(torchCase);
  beforeAll(async () => {
    await initBackend('cpu');
    cases.push(await seededCase());
  });
  afterAll(() => {
    console.log(`[backend-node] cpu ↔ wasm max |diff|:\n${summary.join('\n')}`);
  });

  it.each<string>([...TORCH_CASES, 'small (seeded)'])(
    '%s: logits, loss and two steps of gradients agree',
    async (name) => {
      const c = cases.find((k) => k.name === name)!;
      await initBackend('cpu');
      const cpu = runCase(c);
      await initBackend('wasm');
      const wasm = runCase(c);
      const d = compare(cpu, wasm);
      summary.push(
        `  ${name.padEnd(16)} logits ${d.logits.toExponential(1)}  loss ${d.loss.toExponential(1)}  grads ${d.grads.toExponential(1)} (${d.gradsRel.toExponential(1)} of the largest)`,
      );
      expect(d.logits, 'logits').toBeLessThanOrEqual(LOGITS_TOL);
      expect(d.loss, 'loss').toBeLessThanOrEqual(LOSS_TOL);
      expect(d.worstGrad, 'gradients').toBe('');
      // The steps did something: the loss went down on both backends.
      expect(cpu.steps[1]!.loss).toBeLessThan(cpu.steps[0]!.loss);
      if (c.torch) {
        // And both are PyTorch's numbers (float64 there).
        expectClose(cpu.logits, c.torch.logits, { atol: LOGITS_TOL, rtol: 0 });
        expectClose([cpu.loss], [c.torch.loss], { atol: LOGITS_TOL, rtol: 0 });
      }
    },
  );
});

/** Worst differences between two backends' results. */
function compare(a: ParityResult, b: ParityResult) {
  let grads = 0;
  let gradsRel = 0;
  let worstGrad = '';
  a.steps.forEach((step, s) => {
    const other = b.steps[s]!;
    expect(Object.keys(other.grads).sort()).toEqual(Object.keys(step.grads).sort());
    for (const [name, g] of Object.entries(step.grads)) {
      const diff = maxAbsDiff(g, other.grads[name]!);
      const scale = maxAbs(g);
      grads = Math.max(grads, diff);
      if (scale > 1e-6) gradsRel = Math.max(gradsRel, diff / scale);
      if (!(diff <= GRAD_ATOL + GRAD_RTOL * scale) && worstGrad === '') {
        worstGrad = `step ${s + 1} ${name}: max |diff| ${diff} with max |grad| ${scale}`;
      }
    }
  });
  const loss = Math.max(
    Math.abs(a.loss - b.loss),
    ...a.steps.map((s, i) => Math.abs(s.loss - b.steps[i]!.loss)),
  );
  return { logits: maxAbsDiff(a.logits, b.logits), loss, grads, gradsRel, worstGrad };
}
