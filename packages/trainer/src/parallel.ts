// Validation spread over a replica pool: the validation batches go round-robin to this thread and
// the replicas; each batch sums to the same number wherever it is scored, and the sums are added
// in batch order, so the result is the one-thread result exactly.
import type { PrimerModel } from '@primer-ez/primer-layers';
import { type TokenSource, windowStarts } from './data.js';
import { ReplicaError } from './errors.js';
import type { EvalResult } from './evaluate.js';
import type { TrainerOptions } from './options.js';
import { type ReplicaPool, shareCrossEntropy, type WindowShare } from './replicas.js';

/** {@link evaluate} of the trainer's validation windows, with batch k scored by participant k mod workers. */
export async function validateOnReplicas(
  model: PrimerModel,
  tokens: TokenSource,
  o: TrainerOptions,
  replicas: ReplicaPool,
  step: number,
): Promise<EvalResult> {
  const starts = windowStarts(tokens.length, o.seqLen, o.evalWindows);
  const batches: WindowShare[] = [];
  for (let i = 0; i < starts.length; i += o.evalBatchSize) {
    const part = starts.slice(i, i + o.evalBatchSize);
    const ids = new Int32Array(part.length * o.seqLen);
    const targets = new Int32Array(part.length * o.seqLen);
    part.forEach((s, j) => {
      ids.set(tokens.subarray(s, s + o.seqLen), j * o.seqLen);
      targets.set(tokens.subarray(s + 1, s + o.seqLen + 1), j * o.seqLen);
    });
    batches.push({ ids, targets, batch: part.length, seqLen: o.seqLen });
  }
  const sums: number[] = [];
  for (let round = 0; round < batches.length; round += o.workers) {
    const group = batches.slice(round, round + o.workers);
    // NOTE: the replicas start first and score alongside this thread.
    const remote = replicas.crossEntropy(group.slice(1)).then(
      (values) => ({ values, failure: undefined }),
      (failure: unknown) => ({ values: [] as number[], failure }),
    );
    const own = await shareCrossEntropy(model, group[0]!);
    const { values, failure } = await remote;
    if (failure !== undefined)
      throw new ReplicaError(
        `a worker failed validating at step ${step}: ${(failure as Error).message ?? failure}`,
      );
    sums.push(own, ...values);
  }
  const loss = sums.reduce((a, b) => a + b, 0) / (starts.length * o.seqLen);
  return {
    loss,
    perplexity: Math.exp(loss),
    bitsPerToken: loss / Math.LN2,
    tokens: starts.length * o.seqLen,
    windows: starts.length,
  };
}
