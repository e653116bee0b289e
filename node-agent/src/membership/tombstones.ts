import { collectableTombstones } from './failure-policy';

/**
 * Deleted keys' tombstones and which members are known to hold each. A tombstone is dropped only
 * once every other member holds it and it is old enough (failure-policy.ts), so no member that was
 * away can bring the deleted value back.
 */
export class Tombstones {
  private readonly held = new Map<string, { arrived: number; seenBy: Set<string> }>();

  /** A delete of `key` arrived here (or was restored from disk): nobody is known to hold it yet. */
  arrived(key: string, now = Date.now()): void {
    this.held.set(key, { arrived: now, seenBy: new Set() });
  }

  /** `key` was written again: its tombstone is gone. */
  forget(key: string): void {
    this.held.delete(key);
  }

  /** `member` is known to hold the tombstone of `key` (it sent it, or acknowledged it). */
  heldBy(key: string, member: string): void {
    this.held.get(key)?.seenBy.add(member);
  }

  /** After a full state exchange, `member` holds every tombstone held here. */
  allHeldBy(member: string): void {
    for (const t of this.held.values()) t.seenBy.add(member);
  }

  /** Keys whose tombstones may go now; they are forgotten here. */
  collect(others: readonly string[], now: number, minAgeMs: number): string[] {
    const keys = collectableTombstones(this.held, others, now, minAgeMs);
    for (const k of keys) this.held.delete(k);
    return keys;
  }

  clear(): void {
    this.held.clear();
  }
}
