// The model against the PyTorch module of interop/pytorch on the committed fixtures: logits and
// loss to 1e-4, weight gradients to 1e-3 of their largest entry, for every variant.
import { describeEachBackend, expectClose, values } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { CASES, checkpointFiles, expected } from '../test/fixtures.js';
import { deserializeCheckpoint, readSafetensors, toDiskLayout } from './index.js';

describeEachBackend('PyTorch reference', () => {
  it.each(CASES)('%s: logits, loss and gradients match PyTorch', (name) => {
    const model = deserializeCheckpoint(checkpointFiles(name));
    const want = expected(name);
    const logits = model.forward(want.ids);
    const ref = want.tensors.get('logits')!;
    expect(logits.shape).toEqual(ref.shape);
    expectClose(logits, ref.data, { atol: 1e-4, rtol: 0 });

    const { value, grads } = tf.variableGrads(() => model.loss(want.ids, want.targets));
    expectClose(value, [want.loss], { atol: 1e-4, rtol: 0 });
    expect(want.grads.length).toBeGreaterThanOrEqual(4);
    for (const param of want.grads) {
      const variable = model.params.get(param)!;
      const spec = model.specs.find((s) => s.name === param)!;
      const got = toDiskLayout(spec, grads[variable.name]!);
      const refGrad = want.tensors.get(`grad.${param}`)!;
      expect(got.shape, param).toEqual(refGrad.shape);
      const scale = Math.max(...refGrad.data.map(Math.abs));
      expect(scale, param).toBeGreaterThan(0);
      expectClose(got, refGrad.data, { atol: 1e-3 * scale, rtol: 0 });
    }
    tf.dispose([logits, value, ...Object.values(grads)]);
    model.dispose();
  });

  it('loads F16 and BF16 checkpoints, upcasting to the F32 weights rounded', () => {
    const f32 = deserializeCheckpoint(checkpointFiles('per_channel'));
    for (const [name, bits] of [
      ['fp16', 10],
      ['bf16', 7],
    ] as const) {
      const low = deserializeCheckpoint(checkpointFiles(name));
      for (const [param, v] of f32.params) {
        const a = values(v);
        const b = values(low.params.get(param)!);
        // Rounding to `bits` mantissa bits moves a value by at most 2^-(bits+1) of itself.
        for (const [i, x] of a.entries()) {
          expect(Math.abs((b[i] as number) - x)).toBeLessThanOrEqual(
            Math.abs(x) * 2 ** -bits + 1e-7,
          );
        }
        expect(
          b.some((x, i) => x !== a[i]),
          `${name} ${param} is really low precision`,
        ).toBe(true);
      }
      low.dispose();
    }
    const stored = readSafetensors(checkpointFiles('fp16').weights);
    expect(stored.tensors.size).toBe(f32.specs.length);
    f32.dispose();
  });
});
