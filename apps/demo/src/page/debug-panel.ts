// The debug panel: each worker's tf.memory() after every step (a flat tensor count over a long
// run means nothing leaks; on WebGL also the textures), refreshable on demand, the backend
// adapter's notes, and a button per worker that loses its WebGL context for real — to see (and
// test) what a GPU reset does to a race.
import { formatBytes } from '../shared/format.js';
import { type MemoryInfo, ROLE_LABEL, ROLES, type Role } from '../shared/protocol.js';
import { byId, run } from './dom.js';
import type { Lab } from './lab.js';

export class DebugPanel {
  constructor(private readonly lab: Lab) {
    lab.onEvent((event) => {
      if (event.type === 'step') this.show(event.role, event.memory, `after step ${event.step}`);
    });
    const note = (message: string) => {
      byId('backend-notes').append(
        Object.assign(document.createElement('li'), { textContent: message }),
      );
    };
    byId('refresh-memory').addEventListener('click', () => run(() => this.refreshMemory(), note));
    for (const role of ROLES) {
      byId(`lose-context-${role}`).addEventListener('click', () =>
        run(() => this.lab.worker(role).rpc.call('loseContext', {}), note),
      );
    }
  }

  async refreshMemory(): Promise<void> {
    await Promise.all(
      ROLES.map(async (role) => {
        const worker = this.lab.workers[role];
        if (worker) this.show(role, await worker.rpc.call('memory', {}), 'now');
      }),
    );
  }

  /** Shows the backend's description and the adapter's notes. */
  showBackend(): void {
    const info = this.lab.backend;
    const notes = byId('backend-notes');
    notes.replaceChildren();
    if (info === undefined) return;
    const lines = [
      `${ROLE_LABEL.primer} and ${ROLE_LABEL.vanilla} workers: tfjs backend '${info.backend}'${info.renderer ? `, renderer ${info.renderer}` : ''}${info.softwareRenderer ? ' (software)' : ''}.`,
      ...info.notes,
    ];
    for (const line of lines) {
      const item = document.createElement('li');
      item.textContent = line;
      notes.append(item);
    }
  }

  private show(role: Role, memory: MemoryInfo, when: string): void {
    const out = byId(`memory-${role}`);
    out.dataset.numTensors = String(memory.numTensors);
    const { gpu } = memory;
    const textures = gpu
      ? `; GPU: ${gpu.texturesInUse} textures in use (${formatBytes(gpu.bytesInUse)}), ${gpu.texturesFree} pooled, ${formatBytes(gpu.bytesAllocated)} allocated`
      : '';
    if (gpu) {
      out.dataset.bytesInGpu = String(gpu.bytesInUse);
      out.dataset.bytesAllocated = String(gpu.bytesAllocated);
    }
    out.textContent = `${memory.numTensors} tensors, ${memory.numDataBuffers} data buffers, ${formatBytes(memory.numBytes)}${textures} (${when})`;
  }
}
