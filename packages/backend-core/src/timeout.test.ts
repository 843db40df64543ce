import { describe, expect, it } from 'vitest';
import { TimeoutError, withTimeout } from './index.js';

describe('withTimeout', () => {
  it('passes a result through', async () => {
    await expect(withTimeout(Promise.resolve(7), 1000, 'x')).resolves.toBe(7);
  });

  it('passes a rejection through', async () => {
    await expect(withTimeout(Promise.reject(new Error('boom')), 1000, 'x')).rejects.toThrow('boom');
  });

  it('gives up on a promise that never settles, naming it', async () => {
    const never = new Promise<never>(() => {});
    const error = await withTimeout(never, 20, "tf.setBackend('wasm')").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe("tf.setBackend('wasm') did not finish within 20 ms.");
  });
});
