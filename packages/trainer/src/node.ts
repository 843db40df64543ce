/**
 * Node-only run directories: checkpoints as directories of files, `latest.json` / `best.json`
 * pointers, and `metrics.jsonl`.
 *
 * ```
 * out/
 *   run.lock                    the one writer's pid, host and start time (while it runs)
 *   run.json                    what the run was started with (the corpus: paths, sizes, SHA-256)
 *   metrics.jsonl               one JSON object per line: step, loss | val_loss, lr, tokens_per_s, …
 *   latest.json                 {"checkpoint": "checkpoints/step-000500", "step": 500}
 *   best.json                   the same, for the best validation loss so far
 *   checkpoints/step-000500/    config.json, model.safetensors, tokenizer.json,
 *                               trainer_state.json, optimizer.safetensors
 * ```
 *
 * Every checkpoint directory is written under a temporary name, flushed, then renamed into place,
 * and the pointer files are replaced atomically, so an interrupted save never damages what was
 * already saved. Each checkpoint directory is also a plain model checkpoint (`loadCheckpoint`).
 * A run directory has one writer at a time (`run.lock`); every file is read through
 * `@primer-ez/node-io`'s bounded reads, so a FIFO or a device in place of a file fails at once.
 */

export {
  checkDatasetOut,
  DEFAULT_BPE_SAMPLE_BYTES,
  type PreparedDataset,
  type PrepareOptions,
  type PreparePhase,
  prepareTokenDataset,
  type StreamOptions,
  type TokenizerSpec,
  type TokenizeToFileOptions,
  tokenizeToFile,
  trainTokenizerOnFiles,
} from './prepare-tokens.js';
export {
  type CorpusRecord,
  findCheckpoint,
  metricsLine,
  type OpenMode,
  RunDirectory,
  RunDirectoryError,
  type RunInfo,
  restoreNewest,
  runFilesIn,
} from './run-directory.js';
export { FILES, readSnapshotDir, writeSnapshotDir } from './snapshot-files.js';
export {
  hashFiles,
  type TextProgress,
  TextSourceError,
  type TextSourceInfo,
  TextStream,
  type TextStreamOptions,
} from './text-stream.js';
export {
  dtypeBytes,
  encodeTokenBytes,
  FileTokenSource,
  openTokenDataset,
  readTokenDatasetMeta,
  TOKEN_DATASET_FILES,
  type TokenDataset,
  type TokenDatasetMeta,
  type TokenDtype,
  tokenDtype,
  trainTokenCount,
  validateTokenDatasetMeta,
} from './token-file.js';
