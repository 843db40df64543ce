// The work kept in this browser (IndexedDB): each model as its checkpoint files, the race's
// history for the chart, and the corpus when it is the person's own text. Survives a reload.
import type { ExportedCheckpoint, Role } from '../shared/protocol.js';

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
    tx.onabort = tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
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

/** Keeps models (replacing those of the same role) and, in the same transaction, the state. */
export async function keep(
  models: Partial<Record<Role, ExportedCheckpoint>>,
  state: KeptState,
): Promise<void> {
  const db = await open();
  const tx = db.transaction([MODELS, STATE], 'readwrite');
  for (const [role, model] of Object.entries(models)) tx.objectStore(MODELS).put(model, role);
  for (const [key, value] of Object.entries(state)) {
    if (value === undefined) tx.objectStore(STATE).delete(key);
    else tx.objectStore(STATE).put(value, key);
  }
  await done(tx);
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

/** Forgets everything kept. */
export async function forget(): Promise<void> {
  const db = await open();
  const tx = db.transaction([MODELS, STATE], 'readwrite');
  tx.objectStore(MODELS).clear();
  tx.objectStore(STATE).clear();
  await done(tx);
}
