// The work kept in this browser (IndexedDB): each model as its checkpoint files (with the trainer's
// state when it comes from a race), the race's history for the chart, and the corpus when it is
// the person's own text. Survives a reload.
//
// Every save is one readwrite transaction over both stores, and IndexedDB commits a transaction
// whole or not at all: a save that fails part-way (the quota is full, a value cannot be stored,
// the tab closes) leaves everything as the previous save left it. The one way to break that is
// to leave a transaction running after a request threw, so keep() aborts it.
import type { ExportedCheckpoint, Role } from '../shared/protocol.js';
import type { RaceRecord } from './race-record.js';

const DB_NAME = 'primer-ez-demo';
const VERSION = 1;
const MODELS = 'models';
const STATE = 'state';

/** What else is kept besides the models. */
export interface KeptState {
  /** The race history (`RaceHistory.toJSON()`). */
  history?: unknown;
  /** The person's own corpus (Moby-Dick is not stored: it is always served); undefined deletes it. */
  corpus?: { name: string; text: string } | undefined;
  /** The settings form's values. */
  form?: Record<string, string>;
  /** The race the models belong to, and how it stood at this save (a reload offers to go on). */
  race?: RaceRecord;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB request failed'));
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    // A failing request's error reaches the transaction first (tx.error is still null then); a
    // transaction aborted as it commits (a full quota) fires only abort, with tx.error set.
    tx.onerror = (event) =>
      reject(
        (event.target as IDBRequest | null)?.error ??
          tx.error ??
          new Error('IndexedDB transaction failed'),
      );
    tx.onabort = () => reject(tx.error ?? new DOMException('the save was aborted', 'AbortError'));
  });
}

let opening: Promise<IDBDatabase> | undefined;

function open(): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    if (typeof indexedDB === 'undefined') {
      reject(new Error('this browser has no IndexedDB (private mode?); models cannot be kept.'));
      return;
    }
    const r = indexedDB.open(DB_NAME, VERSION);
    r.onupgradeneeded = () => {
      const db = r.result;
      if (!db.objectStoreNames.contains(MODELS)) db.createObjectStore(MODELS);
      if (!db.objectStoreNames.contains(STATE)) db.createObjectStore(STATE);
    };
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error ?? new Error('IndexedDB cannot be opened'));
    r.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of this page.'));
  });
  opening.catch(() => {
    opening = undefined;
  });
  return opening;
}

/**
 * Keeps models (replacing those of the same role) and, in the same transaction, the state: all
 * of it, or — when it fails — none of it, the previous save staying as it was.
 */
export async function keep(
  models: Partial<Record<Role, ExportedCheckpoint>>,
  state: KeptState,
): Promise<void> {
  const db = await open();
  const tx = db.transaction([MODELS, STATE], 'readwrite');
  const finished = done(tx);
  try {
    for (const [role, model] of Object.entries(models)) tx.objectStore(MODELS).put(model, role);
    for (const [key, value] of Object.entries(state)) {
      if (value === undefined) tx.objectStore(STATE).delete(key);
      else tx.objectStore(STATE).put(value, key);
    }
  } catch (error) {
    // NOTE: a request that throws (DataCloneError, QuotaExceededError…) does not abort the
    // transaction by itself: the requests made before it would still commit — half a save.
    finished.catch(() => {});
    try {
      tx.abort();
    } catch {
      // Already aborted by the failing request: nothing was committed either way.
    }
    throw error;
  }
  await finished;
}

/** Everything kept: the models by role, and the state. */
export async function restore(): Promise<{
  models: Partial<Record<Role, ExportedCheckpoint>>;
  state: KeptState;
}> {
  const db = await open();
  const tx = db.transaction([MODELS, STATE], 'readonly');
  const [modelKeys, modelValues, stateKeys, stateValues] = await Promise.all([
    request(tx.objectStore(MODELS).getAllKeys()),
    request(tx.objectStore(MODELS).getAll()),
    request(tx.objectStore(STATE).getAllKeys()),
    request(tx.objectStore(STATE).getAll()),
  ]);
  const models: Partial<Record<Role, ExportedCheckpoint>> = {};
  modelKeys.forEach((key, i) => {
    if (key === 'primer' || key === 'vanilla') models[key] = modelValues[i] as ExportedCheckpoint;
  });
  const state: Record<string, unknown> = {};
  stateKeys.forEach((key, i) => {
    state[String(key)] = stateValues[i];
  });
  return { models, state: state as KeptState };
}

/** The model kept for `role`, if any. */
export async function restoreModel(role: Role): Promise<ExportedCheckpoint | undefined> {
  const db = await open();
  const tx = db.transaction(MODELS, 'readonly');
  return (await request(tx.objectStore(MODELS).get(role))) as ExportedCheckpoint | undefined;
}

/** Why a save failed, in words for the page (IndexedDB's own messages are terse). */
export function saveProblem(error: unknown): string {
  const e = error instanceof Error ? error : new Error(String(error));
  if (e.name === 'QuotaExceededError')
    return `this browser's storage for the page is full (${e.message || e.name}). Free some space (“Forget saved work”, or the browser's site data settings) or download the models.`;
  return `${e.name === 'Error' ? '' : `${e.name}: `}${e.message || 'IndexedDB refused the write'}`;
}

/** Forgets everything kept. */
export async function forget(): Promise<void> {
  const db = await open();
  const tx = db.transaction([MODELS, STATE], 'readwrite');
  tx.objectStore(MODELS).clear();
  tx.objectStore(STATE).clear();
  await done(tx);
}
