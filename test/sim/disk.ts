import { persistedStateSchema, type PersistedState, type StateDisk } from '../../node-agent/src/store/state-file';
import type { Process, Scheduler } from './scheduler';

/**
 * A node's disk, kept across its process's crashes and restarts. A save lands whole when its write
 * completes (the agent writes a temp file, fsyncs and renames it); a process that crashes before
 * then leaves the previous state. Faults: a slow disk (each save takes `writeMs`) and a failing one
 * (saves fail with ENOSPC, as a full disk).
 */
export class SimDiskStore {
  private readonly files = new Map<string, string>();
  writeMs = 2;
  failing = false;
  saves = 0;
  failedSaves = 0;

  read(dir: string): PersistedState | undefined {
    const text = this.files.get(dir);
    return text === undefined ? undefined : persistedStateSchema.parse(JSON.parse(text));
  }

  /** The disk as one process run uses it: its writes complete as events of that process. */
  forProcess(sched: Scheduler, process: Process): StateDisk {
    return {
      read: (dir) => this.read(dir),
      writeNow: (dir, state) => {
        if (this.failing) throw Object.assign(new Error(`ENOSPC: no space left on device, open '${dir}/state.json.tmp'`), { code: 'ENOSPC' });
        this.files.set(dir, JSON.stringify(state));
      },
      write: (dir, state) => {
        // The state is taken now (the agent serialises it before its first await).
        const text = JSON.stringify(state);
        return new Promise((resolve, reject) => {
          sched.after(
            this.writeMs,
            () => {
              if (this.failing) {
                this.failedSaves++;
                return reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
              }
              this.saves++;
              this.files.set(dir, text);
              resolve();
            },
            process,
          );
        });
      },
    };
  }
}
