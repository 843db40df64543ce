// Which optional native packages are installed, and the one-time message for tests that need
// them (the project's rule: no skipped test without a printed reason).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

function resolvable(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** Whether each native package resolves from this package. */
export const installed = {
  cuda: resolvable('@tensorflow/tfjs-node-gpu'),
  tensorflow: resolvable('@tensorflow/tfjs-node'),
} as const;

const printed = new Set<string>();

/** Prints, once per reason, which tests are not run and why. */
export function reportNotRun(tests: string, reason: string): void {
  const line = `[backend-node] NOT RUN: ${tests} — ${reason}`;
  if (printed.has(line)) return;
  printed.add(line);
  console.warn(line);
}
