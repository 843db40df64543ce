// What a race is, as the page keeps and shows it: its states, the record kept in IndexedDB with
// every save, the memory log's entries, and how a failure is put in words.
import type { MemoryInfo } from '../shared/protocol.js';
import type { RaceSettings } from '../shared/settings.js';

export type RaceState =
  | 'idle'
  | 'preparing'
  | 'running'
  | 'paused'
  | 'interrupted'
  | 'finished'
  | 'failed'
  /** Restored after a reload in the middle of a race: it can be continued from its checkpoints. */
  | 'reloaded';

/**
 * The race as kept in IndexedDB with every save: which race the kept models belong to, its
 * settings and text, and how it stood — `running` when saved mid-race (a checkpoint), so that a
 * reload can offer to continue it.
 */
export interface RaceRecord {
  id: string;
  state: 'running' | 'finished' | 'failed';
  settings: RaceSettings;
  corpusName: string;
  error?: string;
}

/** One entry of the memory log: `tf.memory()` of a worker right after a step. */
export interface MemoryLogEntry extends MemoryInfo {
  step: number;
}

/** A fresh race id (tells a checkpoint of this race from an older one kept in IndexedDB). */
export function newRaceId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

/** A failure's message, with what it means when tfjs's own words do not say (out of memory). */
export function explainFailure(message: string): string {
  const text = /[.!?)]$/.test(message) ? message : `${message}.`;
  if (
    /out of bounds|out of memory|\bOOM\b|Array buffer allocation failed|allocation failed/i.test(
      message,
    )
  )
    return `${text} The backend ran out of memory: use a smaller batch size, sequence length or model.`;
  return text;
}
