// Scoring spread over a replica pool: batches of windows go round-robin to this thread and the
// replicas; each batch sums to the same number wherever it is scored, and the sums are added in
// batch order, so the result is the one-thread result exactly.
import type { PrimerModel } from '@primer-ez/primer-layers';
import { type TokenSource, windowShare, windowStarts } from './data.js';
import { ReplicaError } from './errors.js';
import type { EvalResult } from './evaluate.js';
import type { TrainerOptions } from './options.js';
import {
  flatWeights,
  parameterLayout,
  type ReplicaPool,
  shareCrossEntropy,
  type WindowShare,
} from './replicas.js';

/**
 * The summed cross-entropy (nats) of windows `starts` of `tokens`, `batchSize` windows a batch,
 * with batch k scored by participant k mod (1 + helpers): this thread is participant 0, and
 * replicas 1 … `helpers` (default: all of the pool's; none without a pool) the others.
 * `during` names the work in a replica's failure (e.g. `validating at step 40`).
 */
export async function crossEntropyOnReplicas(
  model: PrimerModel,
  tokens: TokenSource,
  starts: readonly number[],
  { seqLen, batchSize }: { seqLen: number; batchSize: number },
  replicas: ReplicaPool | undefined,
  during: string,
  helpers = replicas?.size ?? 0,
): Promise<number> {
  const participants = 1 + helpers;
  let total = 0;
  for (let round = 0; round < starts.length; round += participants * batchSize) {
    const group: WindowShare[] = [];
    for (
      let at = round;
      at < Math.min(starts.length, round + participants * batchSize);
      at += batchSize
    )
      group.push(windowShare(tokens, starts.slice(at, at + batchSize), seqLen));
    // NOTE: the replicas start first and score alongside this thread.
    const remote = (
      replicas && group.length > 1 ? replicas.crossEntropy(group.slice(1)) : Promise.resolve([])
    ).then(
      (values) => ({ values, failure: undefined }),
      (failure: unknown) => ({ values: [] as number[], failure }),
    );
    const own = await shareCrossEntropy(model, group[0]!);
    const { values, failure } = await remote;
    if (failure !== undefined)
      throw new ReplicaError(`a worker failed ${during}: ${(failure as Error).message ?? failure}`);
    for (const sum of [own, ...values]) total += sum;
  }
  return total;
}

/** {@link evaluate} of the trainer's validation windows, spread over `workers` participants. */
export async function validateOnReplicas(
  model: PrimerModel,
  tokens: TokenSource,
  o: TrainerOptions,
  replicas: ReplicaPool,
  step: number,
): Promise<EvalResult> {
  const starts = windowStarts(tokens.length, o.seqLen, o.evalWindows);
  const sum = await crossEntropyOnReplicas(
    model,
    tokens,
    starts,
    { seqLen: o.seqLen, batchSize: o.evalBatchSize },
    replicas,
    `validating at step ${step}`,
    o.workers - 1,
  );
  const loss = sum / (starts.length * o.seqLen);
  return {
    loss,
    perplexity: Math.exp(loss),
    bitsPerToken: loss / Math.LN2,
    tokens: starts.length * o.seqLen,
    windows: starts.length,
  };
}

/**
 * Gives every replica of `replicas` a copy of `model` (its config and its current weights), for
 * {@link evaluate}'s `replicas` option. Call again after the model's weights change.
 */
export async function shareModel(replicas: ReplicaPool, model: PrimerModel): Promise<void> {
  const layout = parameterLayout(model);
  const total = layout.reduce((n, slot) => n + slot.size, 0);
  try {
    await replicas.prepare(model.config, total);
  } catch (error) {
    throw new ReplicaError(
      `the replicas could not be set up: ${(error as Error).message ?? error}`,
    );
  }
  const weights = new Float32Array(total);
  await flatWeights(model, layout, weights);
  replicas.setWeights(weights);
}
