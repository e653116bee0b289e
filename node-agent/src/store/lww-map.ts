import { createHash } from 'node:crypto';
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
  /** Sorted entries and digest, computed once per change: members and data are read far more than written. */
  private sorted?: E[];
  private hash?: string;
  private buckets?: string[];
  /** Told each key that changed after construction (the state writer's log: store/state-log.ts). */
  private readonly onChange?: (key: string) => void;

  constructor(initial: Iterable<E> = [], onChange?: (key: string) => void) {
    for (const e of initial) this.merge(e);
    this.onChange = onChange;
  }

  get(key: string): E | undefined {
    return this.entries.get(key);
  }

  /** Keeps `entry` if it is newer than what is held; returns whether anything changed. */
  merge(entry: E): boolean {
    const cur = this.entries.get(entry.key);
    if (cur && compareTs(cur.ts, entry.ts) >= 0) return false;
    this.entries.set(entry.key, entry);
    this.changed(entry.key);
    return true;
  }

  /** Entries that changed this map. */
  mergeAll(entries: Iterable<E>): E[] {
    const changed: E[] = [];
    for (const e of entries) if (this.merge(e)) changed.push(e);
    return changed;
  }

  delete(key: string): void {
    if (this.entries.delete(key)) this.changed(key);
  }

  /** The entries in key order (a shared array: callers must not modify it). */
  values(): readonly E[] {
    this.sorted ??= [...this.entries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return this.sorted;
  }

  /**
   * A digest of the content: two maps with the same digest hold the same entries. A timestamp is
   * issued once, by one node, for one change, so key and timestamp identify an entry.
   */
  digest(): string {
    if (this.hash === undefined) {
      const h = createHash('sha256');
      for (const e of this.values()) h.update(`${e.key}\u0000${e.ts.p}.${e.ts.l}.${e.ts.n}\n`);
      this.hash = h.digest('hex').slice(0, 32);
    }
    return this.hash;
  }

  /**
   * A digest per bucket of keys (`bucketOf`): two maps whose digests differ in a few buckets differ
   * only in the entries of those, so a sync after a gap sends them and not the whole map.
   */
  bucketDigests(): string[] {
    if (this.buckets === undefined) {
      const hashes = Array.from({ length: BUCKETS }, () => createHash('sha256'));
      for (const e of this.values()) hashes[bucketOf(e.key)].update(`${e.key}\u0000${e.ts.p}.${e.ts.l}.${e.ts.n}\n`);
      this.buckets = hashes.map((h) => h.digest('hex').slice(0, 16));
    }
    return this.buckets;
  }

  clear(): void {
    const keys = [...this.entries.keys()];
    this.entries.clear();
    this.sorted = undefined;
    this.hash = undefined;
    this.buckets = undefined;
    for (const k of keys) this.onChange?.(k);
  }

  private changed(key: string): void {
    this.sorted = undefined;
    this.hash = undefined;
    this.buckets = undefined;
    this.onChange?.(key);
  }
}

/** How many buckets `bucketDigests` splits a map into: a gap of a few changes costs a few 64ths of the data. */
export const BUCKETS = 64;

/** The bucket of a key: FNV-1a of its UTF-16 code units, modulo BUCKETS. */
export function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % BUCKETS;
}
