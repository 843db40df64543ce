import { readFileSync } from 'node:fs';
import { describeEachBackend, expectClose, expectNoLeak, values } from '@primer-ez/test-utils';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { AdamW, clipByGlobalNorm } from './optim.js';

interface TorchCase {
  kind: 'adamw' | 'adam';
  weight_decay: number;
  betas: [number, number];
  eps: number;
  clip: number | null;
  lrs: number[];
  init: number[][];
  grads: number[][][];
  norms: number[];
  final: number[][];
  exp_avg: number[][];
  exp_avg_sq: number[][];
}
const { cases } = JSON.parse(
  readFileSync(new URL('../fixtures/torch-optim.json', import.meta.url), 'utf8'),
) as {
  cases: Record<string, TorchCase>;
};

describeEachBackend('AdamW', () => {
  it.each(Object.keys(cases))('%s: matches PyTorch step for step (weights and moments)', (name) => {
    const c = cases[name]!;
    const w = tf.variable(tf.tensor2d(c.init[0]!, [3, 4]));
    const b = tf.variable(tf.tensor1d(c.init[1]!));
    const opt = new AdamW(
      [
        { name: 'w', variable: w, decay: true },
        { name: 'b', variable: b, decay: false },
      ],
      { beta1: c.betas[0], beta2: c.betas[1], eps: c.eps, weightDecay: c.weight_decay },
    );
    c.grads.forEach(([gw, gb], step) => {
      let grads = new Map<string, tf.Tensor>([
        ['w', tf.tensor2d(gw!, [3, 4])],
        ['b', tf.tensor1d(gb!)],
      ]);
      if (c.clip !== null) {
        const clipped = clipByGlobalNorm(grads, c.clip);
        expectClose(clipped.norm, [c.norms[step]!], { rtol: 1e-5 });
        grads = clipped.grads;
      }
      opt.apply(grads, c.lrs[step]!);
    });
    expect(opt.step).toBe(c.grads.length);
    expectClose(w, c.final[0]!, { atol: 1e-6, rtol: 1e-5 });
    expectClose(b, c.final[1]!, { atol: 1e-6, rtol: 1e-5 });
    const moments = opt.moments();
    expectClose(moments.get('m.w')!, c.exp_avg[0]!, { atol: 1e-6, rtol: 1e-5 });
    expectClose(moments.get('v.b')!, c.exp_avg_sq[1]!, { atol: 1e-6, rtol: 1e-5 });
    opt.dispose();
  });

  it('decays only the parameters marked for decay', () => {
    const [w, b] = [tf.variable(tf.ones([2])), tf.variable(tf.ones([2]))];
    const opt = new AdamW(
      [
        { name: 'w', variable: w, decay: true },
        { name: 'b', variable: b, decay: false },
      ],
      { weightDecay: 0.5 },
    );
    opt.apply(
      new Map([
        ['w', tf.zeros([2])],
        ['b', tf.zeros([2])],
      ]),
      0.1,
    );
    expectClose(w, [0.95, 0.95]);
    expectClose(b, [1, 1]);
  });

  it('saves and restores its moments exactly, checking names and shapes', () => {
    const make = () => {
      const v = tf.variable(tf.tensor1d([1, 2, 3]));
      return { v, opt: new AdamW([{ name: 'p', variable: v, decay: true }]) };
    };
    const a = make();
    a.opt.apply(new Map([['p', tf.tensor1d([0.1, -0.2, 0.3])]]), 0.01);
    const saved = new Map(
      [...a.opt.moments()].map(([k, t]) => [
        k,
        { shape: t.shape, data: t.dataSync() as Float32Array },
      ]),
    );
    const b = make();
    b.v.assign(a.v); // the weights come from the model checkpoint
    b.opt.load(saved, a.opt.step);
    const g = new Map([['p', tf.tensor1d([0.3, 0.1, -0.5])]]);
    a.opt.apply(g, 0.01);
    b.opt.apply(g, 0.01);
    expect(values(b.v)).toEqual(values(a.v));
    expect(() => b.opt.load(new Map(), 1)).toThrow("optimizer state: missing 'm.p'.");
    expect(() =>
      b.opt.load(
        new Map([...saved].map(([k]) => [k, { shape: [2], data: new Float32Array(2) }])),
        1,
      ),
    ).toThrow("optimizer state: 'm.p' has shape [2]; the model needs [3].");
  });

  it('leaks no tensors per step', () => {
    const v = tf.variable(tf.ones([4, 4]));
    const opt = new AdamW([{ name: 'p', variable: v, decay: true }]);
    const g = tf.ones([4, 4]);
    expectNoLeak(() => {
      opt.apply(new Map([['p', g]]), 0.01);
      return [];
    });
    expect(() => new AdamW([], { beta2: 1 })).toThrow('AdamW: beta2 = 1 is out of range');
    expect(() => opt.apply(new Map([['p', g]]), Number.NaN)).toThrow(
      'AdamW: learning rate NaN must be a finite number ≥ 0.',
    );
  });
});
