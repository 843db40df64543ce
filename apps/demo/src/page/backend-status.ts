// The backend in words for people: one line about what trains the models, the adapter's notes
// without their advice to developers, and the memory budget the page holds the settings to
// (a race too big for it is refused before it starts).
import type { BackendInfo, BrowserDevice } from '@primer-ez/backend-browser';
import { memoryBudget, memoryProblem } from '../shared/memory-estimate.js';
import type { RaceSettings } from '../shared/settings.js';

/** One line: what trains the models, and whether the page chose it. */
export function describeBackend(info: BackendInfo, device: BrowserDevice): string {
  const what =
    info.device === 'webgpu'
      ? `WebGPU${info.softwareRenderer ? ' on a software adapter (slower than WebAssembly)' : ' on the GPU'}`
      : info.device === 'webgl'
        ? `WebGL ${info.webglVersion ?? ''}${info.softwareRenderer ? ' on a software renderer (slower than WebAssembly)' : ' on the GPU'}`
        : info.device === 'wasm'
          ? `WebAssembly${info.simd ? ' with SIMD' : ''}, ${info.threads} thread${info.threads === 1 ? '' : 's'} per model`
          : 'plain JavaScript (the slowest)';
  return `Training on ${what}${device === 'auto' ? ', chosen automatically' : ''}.`;
}

/** The details (why this backend, what was skipped, the memory budget) behind a disclosure. */
export function showBackendDetails(details: HTMLElement, info: BackendInfo | undefined): void {
  const list = document.createElement('ul');
  for (const note of info?.notes ?? []) {
    const item = document.createElement('li');
    // The adapter's notes speak to developers; the page says what they mean to a person.
    item.textContent = forPeople(note);
    list.append(item);
  }
  const budget = info ? memoryBudget(info.device, deviceHints()) : undefined;
  const memory = document.createElement('p');
  memory.textContent = budget
    ? `Memory: each model may use about ${Math.round(budget.bytes / 1024 ** 3)} GiB here (${budget.why}); bigger settings are refused before the race starts.`
    : '';
  details.replaceChildren(list, memory);
}

/** An adapter note without its advice to developers (option names the page does not offer). */
function forPeople(note: string): string {
  return note
    .replace(/;? ?pass allowSoftwareWebgl: true to use it anyway\.?/, '.')
    .replace(
      /\(threads off: wasmThreads is false\)/,
      '(more cores come from workers of its own, where the page allows)',
    )
    .replace(/\.\.$/, '.');
}

/** Why a race with `settings` on `text` would not fit in this backend's memory, or undefined. */
export function memoryRefusal(
  info: BackendInfo,
  settings: RaceSettings,
  text: string,
): string | undefined {
  // The character tokenizer's vocabulary: the text's distinct characters (and a few more).
  const vocabSize = new Set(text).size + 4;
  return memoryProblem(
    settings.sizes,
    settings.training.batchSize,
    settings.training.seqLen,
    vocabSize,
    memoryBudget(info.device, deviceHints()),
    describeDevice(info.device),
  );
}

/** What the browser says about this device, for the memory budget. */
function deviceHints(): { deviceMemoryGiB?: number } {
  const memory = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  return memory !== undefined ? { deviceMemoryGiB: memory } : {};
}

/** A device as the page names it in messages. */
function describeDevice(device: string): string {
  return (
    { wasm: 'WebAssembly', webgl: 'WebGL', webgpu: 'WebGPU', cpu: 'plain JavaScript' }[device] ??
    device
  );
}
