import { compareTs, type Timestamp } from '../clock/hlc';

/** An entry of a last-writer-wins map: the newest timestamp wins, everywhere, in any order. */
export interface LwwEntry {
  readonly key: string;
  readonly ts: Timestamp;
}

/**
 * A last-writer-wins map: the one merge rule behind both the member list and the replicated data.
 * Merging is commutative, associative and idempotent, so sides that diverged during a partition
 * converge by exchanging entries, whatever the order.
 */
export class LwwMap<E extends LwwEntry> {
  private readonly entries = new Map<string, E>();

  constructor(initial: Iterable<E> = []) {
    for (const e of initial) this.merge(e);
  }

  get(key: string): E | undefined {
    return this.entries.get(key);
  }

  /** Keeps `entry` if it is newer than what is held; returns whether anything changed. */
  merge(entry: E): boolean {
    const cur = this.entries.get(entry.key);
    if (cur && compareTs(cur.ts, entry.ts) >= 0) return false;
    this.entries.set(entry.key, entry);
    return true;
  }

  /** Entries that changed this map. */
  mergeAll(entries: Iterable<E>): E[] {
    const changed: E[] = [];
    for (const e of entries) if (this.merge(e)) changed.push(e);
    return changed;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  values(): E[] {
    return [...this.entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  clear(): void {
    this.entries.clear();
  }
}
