/** Thrown when training cannot go on (a non-finite loss, a failed worker); the message says why and what to do. */
export class TrainingError extends Error {
  override name = 'TrainingError';
}

/**
 * Thrown when a replica (a worker thread) fails: the trainer's own state is whole — the step was
 * not applied — so the loop saves an 'interrupt' checkpoint before it stops.
 */
export class ReplicaError extends TrainingError {
  override name = 'ReplicaError';
}
