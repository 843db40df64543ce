// Tokens/s of each experiment arm, measured side by side in one process (the time speed-up's other half).
import type { ReplicaPool, Trainer } from '@primer-ez/trainer';

/** Timed steps per arm in one turn; arms take turns, so a burst of noise hits them alike. */
const TURN_STEPS = 5;
/** Untimed steps before an arm's first turn (allocation, first kernels) and before each later one. */
const FIRST_WARMUP = 2;
const LATER_WARMUP = 1;

/** A trainer for one arm, and how to free it. */
export interface ThroughputArm {
  arm: string;
  trainer: Trainer;
  dispose: () => void;
}

/**
 * Training tokens per second of each arm: `steps` timed steps each (only the steps: their
 * gradients and updates), in turns of up to {@link TURN_STEPS} steps per arm (the order reversed
 * every other turn), every turn after an untimed warm-up step (the replicas are given the arm's model when it changes). Each arm is
 * made just before its first turn and freed at the end.
 *
 * @returns tokens/s by arm.
 */
export async function measureThroughput(
  arms: readonly string[],
  make: (arm: string) => ThroughputArm,
  steps: number,
  replicas: ReplicaPool | undefined,
): Promise<Record<string, number>> {
  const state = new Map<
    string,
    { made: ThroughputArm; ms: number; tokens: number; timed: number }
  >();
  try {
    for (let turn = 0; turn < Math.ceil(steps / TURN_STEPS); turn++) {
      // Every other turn in reverse order, so no arm always follows the same one.
      for (const arm of turn % 2 === 0 ? arms : [...arms].reverse()) {
        let s = state.get(arm);
        if (s === undefined) {
          s = { made: make(arm), ms: 0, tokens: 0, timed: 0 };
          state.set(arm, s);
        }
        const n = Math.min(TURN_STEPS, steps - s.timed);
        if (n <= 0) continue;
        const { trainer } = s.made;
        const o = trainer.options;
        await trainer.run({
          steps: trainer.step + (turn === 0 ? FIRST_WARMUP : LATER_WARMUP),
          ...(replicas ? { replicas } : {}),
        });
        const timed = s;
        await trainer.run({
          steps: trainer.step + n,
          ...(replicas ? { replicas } : {}),
          onEvent: (e) => {
            if (e.type !== 'step') return;
            timed.ms += e.stepMs;
            timed.tokens += o.batchSize * o.seqLen * o.accumulate;
          },
        });
        s.timed += n;
      }
    }
  } finally {
    for (const s of state.values()) s.made.dispose();
  }
  return Object.fromEntries([...state].map(([arm, s]) => [arm, s.tokens / (s.ms / 1000)]));
}
