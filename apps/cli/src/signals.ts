/**
 * Ctrl-C (SIGINT) and SIGTERM for commands that stop cleanly (generate): the first signal aborts
 * the returned signal and sets the exit status to 130 (143 for SIGTERM); the command finishes the
 * line it was writing and returns. A second signal exits at once.
 *
 * Commands with nothing to finish (eval, info, tokenizer, plot) install no handler: they die by
 * the signal at once, even in the middle of synchronous work a JavaScript handler would wait for,
 * and the shell reports 130 (143), the same status. `train` handles its own signals: it saves.
 */
export function stopOnSignals(): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const handlers = (
    [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const
  ).map(([name, code]) => {
    const handler = () => {
      if (controller.signal.aborted) process.exit(code);
      process.exitCode = code;
      controller.abort();
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    release: () => {
      for (const [name, handler] of handlers) process.removeListener(name, handler);
    },
  };
}
