import { persistedStateSchema, type PersistedState, type StateDisk } from '../../node-agent/src/store/state-file';
import { changeLine, replay } from '../../node-agent/src/store/state-log';
import type { Process, Scheduler } from './scheduler';

/**
 * A node's disk, kept across its process's crashes and restarts: a snapshot and a log of changes,
 * replayed by the agent's own code (store/state-log.ts). A snapshot lands whole when its write
 * completes (the agent writes a temp file, fsyncs and renames it), and starts an empty log; an
 * append lands when its fsync completes. A process that crashes before then leaves what was there.
 * Faults: a slow disk (each write takes `writeMs`) and a failing one (writes fail with ENOSPC, as a
 * full disk; a failed append leaves half its line, as a short write does).
 */
export class SimDiskStore {
  private readonly files = new Map<string, string>();
  private readonly logs = new Map<string, string>();
  writeMs = 2;
  failing = false;
  saves = 0;
  failedSaves = 0;

  /** The disk replaced by an empty one (a container recreated without its volume). */
  wipe(): void {
    this.files.clear();
    this.logs.clear();
  }

  read(dir: string): PersistedState | undefined {
    const text = this.files.get(dir);
    if (text === undefined) return undefined;
    const log = this.logs.get(dir) ?? '';
    const { state, keptBytes } = replay(persistedStateSchema.parse(JSON.parse(text)), log);
    this.logs.set(dir, Buffer.from(log).subarray(0, keptBytes).toString());
    return state;
  }

  /** The disk as one process run uses it: its writes complete as events of that process. */
  forProcess(sched: Scheduler, process: Process): StateDisk {
    return {
      read: (dir) => this.read(dir),
      writeNow: (dir, state) => {
        if (this.failing) throw Object.assign(new Error(`ENOSPC: no space left on device, open '${dir}/state.json.tmp'`), { code: 'ENOSPC' });
        this.files.set(dir, JSON.stringify(state));
        this.logs.set(dir, '');
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
              this.logs.set(dir, '');
              resolve();
            },
            process,
          );
        });
      },
      append: (dir, change) => {
        const line = changeLine(change);
        return new Promise((resolve, reject) => {
          sched.after(
            this.writeMs,
            () => {
              const log = this.logs.get(dir) ?? '';
              if (this.failing) {
                this.failedSaves++;
                this.logs.set(dir, log + line.slice(0, Math.floor(line.length / 2)));
                return reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
              }
              this.saves++;
              this.logs.set(dir, log + line);
              resolve({ logBytes: Buffer.byteLength(log + line), snapshotBytes: Buffer.byteLength(this.files.get(dir) ?? '') });
            },
            process,
          );
        });
      },
    };
  }
}
