// The debug panel: each worker's tf.memory() after every step (a flat tensor count over a long
// run means nothing leaks), refreshable on demand, and the backend adapter's notes.
import { formatBytes } from '../shared/format.js';
import { type MemoryInfo, ROLE_LABEL, ROLES, type Role } from '../shared/protocol.js';
import { byId, run } from './dom.js';
import type { Lab } from './lab.js';

export class DebugPanel {
  constructor(private readonly lab: Lab) {
    lab.onEvent((event) => {
      if (event.type === 'step') this.show(event.role, event.memory, `after step ${event.step}`);
    });
    byId('refresh-memory').addEventListener('click', () =>
      run(
        () => this.refreshMemory(),
        (message) => {
          byId('backend-notes').append(
            Object.assign(document.createElement('li'), { textContent: message }),
          );
        },
      ),
    );
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
    out.textContent = `${memory.numTensors} tensors, ${memory.numDataBuffers} data buffers, ${formatBytes(memory.numBytes)} (${when})`;
  }
}
