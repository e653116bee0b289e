import type { DataEntry } from '../domain/state';
import { PeerError } from '../errors';
import type { ClusterNode } from './cluster';

export interface WriteResult {
  /** Running members that acknowledged the write. */
  acked: string[];
  /** Running members that did not in time: the write is kept here and reaches them at their next sync. */
  failed: string[];
}

/**
 * `muster ctl data put | get | del | list`: a write is on this node's disk before it spreads (one
 * that failed here is undone and never leaves the node), and answers with who acknowledged it.
 */
export class DataApi {
  constructor(private readonly n: ClusterNode) {}

  put(key: string, value: string): Promise<WriteResult> {
    return this.write(key, value);
  }

  async del(key: string): Promise<WriteResult> {
    if (this.get(key) === undefined) throw new PeerError('not_found', `no key '${key}'`);
    return this.write(key, null);
  }

  get(key: string): string | undefined {
    return this.n.replica.data.get(key)?.value ?? undefined;
  }

  list(): Record<string, string> {
    // No prototype: a key is data, never an object property ('__proto__' is a key like any other).
    const out: Record<string, string> = Object.create(null);
    for (const e of this.n.replica.data.values()) if (e.value !== null) out[e.key] = e.value;
    return out;
  }

  private async write(key: string, value: string | null): Promise<WriteResult> {
    const { replica, merges, tombstones } = this.n;
    const entry: DataEntry = { key, value, ts: replica.clock.now() };
    const previous = replica.data.get(key);
    const wasFresh = replica.fresh;
    replica.fresh = false;
    merges.mergeData([entry]);
    try {
      await this.n.persist();
    } catch (e) {
      // Not on this node's disk, so not acknowledged to anyone: it must not be read here, nor
      // leave this node with a sync. Undone unless a newer write to the key came meanwhile.
      if (replica.data.get(key) === entry) {
        replica.data.delete(key);
        if (previous) merges.mergeData([previous]);
        else tombstones.forget(key);
        replica.fresh = wasFresh;
      }
      throw e;
    }
    const result = await this.n.gossip.broadcast({ data: [entry] });
    if (result.failed.length) this.n.stats.writesNotAcked++;
    else this.n.stats.writesAcked++;
    if (value === null) for (const m of result.acked) tombstones.heldBy(key, m);
    return result;
  }
}
