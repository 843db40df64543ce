/**
 * `@primer-ez/node-io`: the Node file helpers every primer-ez package shares — bounded reads of
 * regular files only, atomic writes, and one-writer directory locks. Node only; no dependencies.
 */
export {
  DirectoryLock,
  isStale,
  LOCK_FILE,
  LockedError,
  type LockHolder,
  readLock,
} from './lock.js';
export { isProcessAlive, processStartTime } from './process.js';
export {
  FileReadError,
  hashRegularFile,
  MAX_BUFFER_BYTES,
  openRegularFile,
  type ReadOptions,
  readRegularFile,
  readRegularTextFile,
} from './read.js';
export { syncDirectory, tempIsAbandoned, tempName, tempOwner, writeFileAtomic } from './write.js';
