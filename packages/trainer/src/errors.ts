/** Thrown when training cannot go on (a non-finite loss, a failed worker); the message says why and what to do. */
export class TrainingError extends Error {
  override name = 'TrainingError';
}
