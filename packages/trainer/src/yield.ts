/**
 * Lets the event loop run timers and I/O callbacks (an abort signal's timeout, a SIGINT handler,
 * a worker's `postMessage`). tfjs's `data()` resolves as a microtask on the cpu and wasm backends,
 * so a loop that only awaits tensors would otherwise starve them until it ends.
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  if (typeof MessageChannel === 'function') {
    // setTimeout(0) is clamped to 4 ms after a few nested calls in browsers; a message is not.
    const channel = new MessageChannel();
    return new Promise((resolve) => {
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Calls {@link yieldToEventLoop} at most every `everyMs`, cheaply enough for a per-token loop. */
export function periodicYield(everyMs = 20): () => Promise<void> {
  let last = performance.now();
  return async () => {
    const now = performance.now();
    if (now - last < everyMs) return;
    await yieldToEventLoop();
    last = performance.now();
  };
}
