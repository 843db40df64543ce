// How many cores one racing model trains on: on wasm and cpu, where the page is cross-origin
// isolated (so workers can share memory), a share of the machine's cores — two models race, so
// half each — as replicas in Web Workers (@primer-ez/trainer/web-workers); elsewhere one.

/** Backends that compute on this CPU, one core each, and so gain from replicas. */
const CPU_BACKENDS = new Set(['wasm', 'cpu']);

export interface CorePlan {
  /** The trainer's `workers`: the model's own worker and `workers − 1` replicas. */
  workers: number;
  /** A line for the backend details, or none. */
  note: string | undefined;
}

/**
 * @param backend the model worker's tfjs backend.
 * @param isolated whether the worker can share memory (`crossOriginIsolated`).
 * @param cores `navigator.hardwareConcurrency`.
 * @param asked a number of workers asked for (the page's `?workers=N`), else half the cores.
 */
export function corePlan(
  backend: string,
  isolated: boolean,
  cores: number,
  asked?: number,
): CorePlan {
  if (!CPU_BACKENDS.has(backend)) return { workers: 1, note: undefined };
  if (!isolated)
    return {
      workers: 1,
      note: 'One core per model: the page is not cross-origin isolated (its host sends no COOP/COEP headers), so no workers can share its training.',
    };
  const workers = asked ?? Math.max(1, Math.floor((Number.isFinite(cores) ? cores : 1) / 2));
  return {
    workers,
    note:
      workers === 1
        ? asked === undefined
          ? `One core per model: the ${cores} cores here are shared by the two racers.`
          : 'One core per model, as asked (?workers=1).'
        : `${workers} cores per model: each batch is split over ${workers} workers sharing memory (the page is cross-origin isolated).`,
  };
}

/** `?workers=N` of a page URL's query: a positive integer, else undefined (the default). */
export function askedWorkers(search: string): number | undefined {
  const value = new URLSearchParams(search).get('workers');
  if (value === null || !/^[1-9]\d{0,2}$/.test(value)) return undefined;
  return Number(value);
}
