import path from 'node:path';
import { systemClock, type Clock, type Timer } from '../runtime/clock';
import { DEFAULT_TUNING, type Tuning } from '../tuning';
import { fileDisk, STATE_FILE, StateFileError, type PersistedState, type StateDisk } from './state-file';
import type { StateChange } from './state-log';

/** What the writer saves: the whole state, or what changed since it last asked. */
export interface StateSource {
  whole(): PersistedState;
  /** The changes since the last call; 'whole' when only the whole state says them; undefined: none. */
  changes(): StateChange | 'whole' | undefined;
}

/**
 * Writes the state off the event loop (fsync takes milliseconds, and a forming cluster changes its
 * member list dozens of times a second): saves asked for while a write is in flight, or in the same
 * turn of the event loop, share the next write, which takes the state as it is then. Each caller
 * learns when a write holding its change is on disk, so acknowledgements still mean persisted.
 *
 * A write appends the changes to the log (its cost is the change's), and writes a new snapshot when
 * the log has grown past the snapshot (tuning.store.compactMinBytes at least), when the changes
 * cannot be told apart (a move to another cluster), and after a failed write (whose log may end
 * in a torn line, and whose changes were taken).
 */
export class StateWriter {
  private waiting: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private writing = false;
  private soon?: Timer;
  private snapshotDue = false;

  constructor(
    private readonly dir: string,
    private readonly source: StateSource,
    private readonly onError: (e: Error) => void,
    private readonly tuning: Tuning['store'] = DEFAULT_TUNING.store,
    private readonly clock: Clock = systemClock,
    private readonly disk: StateDisk = fileDisk,
  ) {}

  save(): Promise<void> {
    // This write takes the state as it is then, so it holds whatever a pending saveSoon was for.
    this.clock.clearTimeout(this.soon);
    this.soon = undefined;
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.writing) {
      this.writing = true;
      void this.drain();
    }
    return done;
  }

  /**
   * A save nobody waits for (what was learned from other members, which they hold too and give
   * again at the next sync): made within tuning.store.saveSoonMs, or with any save asked for
   * sooner. While 100 nodes formed, writing after every such change was about 9 % of an agent's CPU.
   */
  saveSoon(): void {
    if (this.soon) return;
    this.soon = this.clock.setTimeout(() => {
      this.soon = undefined;
      this.save().catch(() => undefined);
    }, this.tuning.saveSoonMs);
    this.soon.unref();
  }

  private async drain(): Promise<void> {
    while (this.waiting.length) {
      // Let the rest of this turn's changes join the write.
      await new Promise<void>((r) => this.clock.setImmediate(r));
      const batch = this.waiting.splice(0);
      try {
        await this.writeChanges();
        for (const w of batch) w.resolve();
      } catch (e) {
        this.snapshotDue = true;
        const err = new StateFileError(`cannot write ${path.join(this.dir, STATE_FILE)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        this.onError(err);
        for (const w of batch) w.reject(err);
      }
    }
    this.writing = false;
  }

  private async writeChanges(): Promise<void> {
    const changes = this.source.changes();
    if (this.snapshotDue || changes === 'whole') {
      await this.disk.write(this.dir, this.source.whole());
      this.snapshotDue = false;
      return;
    }
    if (!changes) return;
    const sizes = await this.disk.append(this.dir, changes);
    // Replaying a log as long as the snapshot at start costs as much as reading the snapshot twice:
    // past that, the next write is a snapshot (about one in every `snapshot / change` writes).
    if (sizes.logBytes > Math.max(this.tuning.compactMinBytes, sizes.snapshotBytes)) this.snapshotDue = true;
  }
}
