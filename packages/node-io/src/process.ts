/** Whether a process is alive on this host, and when it started (to see through pid reuse). */
import { readFileSync } from 'node:fs';

/** Whether process `pid` exists on this host (one owned by another user counts). */
export function isProcessAlive(pid: number): boolean {
  if (!(Number.isSafeInteger(pid) && pid > 0)) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * When process `pid` started, in clock ticks since boot (Linux's `/proc/<pid>/stat`, field 22),
 * or undefined where that cannot be read. Two processes with the same pid and different start
 * times are different processes: a lock of a dead process whose pid was reused is still stale.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    // procfs reports size 0, so this trusted path is read directly.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}
