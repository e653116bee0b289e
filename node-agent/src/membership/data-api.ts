import type { DataEntry } from '../domain/state';
import { PeerError } from '../errors';
import { writeReplySchema, type OpBody } from '../transport/messages';
import type { ClusterNode } from './cluster';
import { parseReply } from './replies';

export interface WriteResult {
  /** Running members that acknowledged the write (on a replicant: the core it went through first). */
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
    return this.n.role === 'replicant' ? this.forward(key, value) : this.write(key, value);
  }

  async del(key: string): Promise<WriteResult> {
    if (this.n.role === 'replicant') return this.forward(key, null);
    if (this.get(key) === undefined) throw new PeerError('not_found', `no key '${key}'`);
    return this.write(key, null);
  }

  /** On a core: a replicant's write, made as this node's own; the answer carries the entry as stored. */
  async writeFor(replicant: string, w: OpBody<'write'>): Promise<{ acked: string[]; failed: string[]; entry: DataEntry }> {
    if (!this.n.isReplicant(replicant)) throw new PeerError('refused', `${this.n.name} takes writes from its replicants only; ${replicant} is not one`);
    const result = w.value === null ? await this.del(w.key) : await this.put(w.key, w.value);
    return { ...result, entry: this.n.replica.data.get(w.key)! };
  }

  /**
   * On a replicant: the write goes to one of its cores, whose answer is the result; the entry it
   * stored is taken here at once, so this node reads its own write. No core linked: refused, and
   * nothing is written anywhere (reads go on from this node's copy).
   */
  private async forward(key: string, value: string | null): Promise<WriteResult> {
    const n = this.n;
    const conn = n.peers.upLinks().find((c) => !n.isReplicant(c.peerName));
    if (!conn) {
      const cores = n.coreNames();
      throw new PeerError('no_core', `no core node is linked to this replicant (cores: ${cores.join(', ') || 'none known'}): writes go through a core; reads go on from this node's copy`);
    }
    let reply: { acked: string[]; failed: string[]; entry: DataEntry };
    try {
      // The core waits up to the gossip's own budget for its members; this waits a little longer.
      reply = parseReply(writeReplySchema, await conn.request('write', { key, value }, n.tuning.gossip.ackTimeoutMs * 2), 'write', conn.peerName);
    } catch (e) {
      const err = e as PeerError;
      if (err.code === 'timeout' || err.code === 'closed') {
        throw new PeerError(err.code, `the write went to core ${conn.peerName}, which did not answer (${err.message}): it may or may not have been made; read the key on a core to see`);
      }
      throw e;
    }
    if (n.merges.mergeData([reply.entry], conn.peerName).length) n.persistSoon();
    return { acked: [conn.peerName, ...reply.acked.filter((m) => m !== conn.peerName && m !== n.name)], failed: reply.failed.filter((m) => m !== n.name) };
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
