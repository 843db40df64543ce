// tfjs-core registers no kernel gradients by itself, and its registration module cannot be
// imported by plain Node ESM. Importing this package must fix that outside vitest too.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('./plain-esm-gradients.mjs', import.meta.url));
const run = (mode: 'with' | 'without') =>
  JSON.parse(
    execFileSync(process.execPath, [script, mode], { encoding: 'utf8' }).trim().split('\n').at(-1)!,
  );

describe('gradient registration in plain Node ESM', () => {
  it('is missing with tfjs-core alone (the control)', () => {
    const out = run('without');
    expect(out.ok).toBe(false);
    expect(out.error).toMatch(/gradient/i);
  });

  it('is complete after importing @primer-ez/tensor-ops', () => {
    // f(a) = Σ (a + 1) ⊙ aᵀ, so ∂f/∂a = aᵀ + (a + 1)ᵀ
    expect(run('with')).toEqual({ ok: true, grad: [3, 7, 5, 9] });
  });
});
