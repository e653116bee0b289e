import type { Alive, DataEntry, MemberEntry } from '../domain/state';
import type { ClusterNode } from './cluster';
import type { Transition } from './liveness';
import { NodeLog } from './node-log';
import { bucketOf } from '../store/lww-map';

/**
 * What a node learns, from a peer or of its own, merged into its state: member and data entries
 * (last writer wins), liveness records and this node's own down claims, with the consequences
 * (tombstones noted, partitions and autoheal told, a claim against this node refuted, each change
 * logged once). It works on its node's state through the node (`n`).
 */
export class Merges {
  /** Members added and seen running, logged together at the end of each turn. */
  private readonly nodeLog: NodeLog;

  constructor(private readonly n: ClusterNode) {
    this.nodeLog = new NodeLog(n.log, n.tuning.log.bulkNodes, n.rt.clock);
  }

  /** Entries' timestamps move this node's hybrid logical clock forward. */
  observeAll(entries: { ts: MemberEntry['ts'] }[]): void {
    for (const e of entries) this.n.replica.clock.observe(e.ts);
  }

  /** Merges member entries from a peer and reacts to what changed; returns the changes. */
  mergeMembers(entries: MemberEntry[]): MemberEntry[] {
    this.observeAll(entries);
    const changed = this.n.replica.members.mergeAll(entries);
    const added = changed.filter((e) => e.state === 'member' && e.key !== this.n.name).map((e) => e.key);
    this.nodeLog.note(added, []);
    for (const m of added) this.n.stats.event('added', m);
    for (const e of changed) {
      if (e.state === 'removed' && e.key !== this.n.name) {
        const why = e.reason === 'leave' ? 'it left' : `${e.reason} by ${e.by ?? 'unknown'}`;
        this.n.stats.event('removed', e.key, why);
        this.nodeLog.flush();
        this.n.log.info({ peer: e.key, reason: e.reason, by: e.by }, `${e.key} was removed from the cluster: ${why}`);
      }
    }
    return changed;
  }

  /** Merges data entries; `from` (a peer) evidently holds the tombstones among them. Returns the changes. */
  mergeData(entries: DataEntry[], from?: string): DataEntry[] {
    this.observeAll(entries);
    const changed = this.n.replica.data.mergeAll(entries);
    const now = this.n.rt.clock.now();
    for (const e of changed) {
      if (e.value === null) this.n.tombstones.arrived(e.key, now);
      else this.n.tombstones.forget(e.key);
    }
    if (from) for (const e of entries) if (e.value === null) this.n.tombstones.heldBy(e.key, from);
    return changed;
  }

  /**
   * On a replicant: a core's data (a sync's: all of it, or the buckets `partial` names, each whole),
   * merged; the tombstones of those buckets the core no longer holds are dropped (the cores collect
   * one once every member holds it, this replicant too). A value is never dropped: a key the core
   * lacks may be one it has not heard of yet. Returns how many entries changed or went.
   */
  takeData(entries: DataEntry[], from: string, partial?: number[]): number {
    const held = new Set(entries.map((e) => e.key));
    const buckets = partial && new Set(partial);
    let dropped = 0;
    for (const e of [...this.n.replica.data.values()]) {
      if (e.value === null && !held.has(e.key) && (!buckets || buckets.has(bucketOf(e.key)))) {
        this.n.replica.data.delete(e.key);
        this.n.tombstones.forget(e.key);
        dropped++;
      }
    }
    return this.mergeData(entries, from).length + dropped;
  }

  /**
   * Merges liveness records and acts on what changed; returns the records that changed this
   * node's view. A claim that this node is down (it runs: the claim came from a lost link, a
   * missed probe, or the other side of a partition) is answered with a higher incarnation, spread
   * to every member.
   */
  applyAlive(records: Alive[], reason?: string): Alive[] {
    const changed: Alive[] = [];
    const running: string[] = [];
    let refuted = false;
    for (const r of records) {
      const t = this.n.liveness.merge(r);
      if (!t) continue;
      if (r.node === this.n.name) {
        refuted = true;
        this.n.stats.downClaimsRefuted++;
        this.n.stats.event('refuted', this.n.name, `${r.by ?? 'a member'} reported this node down`);
        this.n.log.info({ by: r.by, inc: t.record.inc }, `${r.by ?? 'a member'} reported this node down: telling the cluster it runs`);
        continue;
      }
      changed.push(r);
      if (this.n.isMember(r.node) && this.onTransition(t, reason)) running.push(r.node);
    }
    this.nodeLog.note([], running);
    if (refuted) this.n.gossip.announce({ alive: [this.n.liveness.ownRecord] });
    return changed;
  }

  /** This node saw a member go down: its view changes, and every member hears it. */
  claimDown(peer: string, boot: string, orderly: boolean, reason: string): void {
    if (!this.n.isMember(peer)) return;
    const claim = this.n.liveness.downClaim(peer, boot, orderly, this.n.name);
    if (!claim) return;
    this.n.stats.downClaimsMade++;
    this.applyAlive([claim], reason);
    this.n.gossip.announce({ alive: [claim] });
    // The running members changed: the probe planned for this slot may be of another member now.
    this.n.queueReconcile();
  }

  /** A member went down or came back, in this node's view; true when it came back (the caller logs that). */
  private onTransition({ record, previous }: Transition, reason?: string): boolean {
    const node = record.node;
    const wasUp = previous?.up === true;
    if (!record.up) {
      if (!wasUp) return false;
      // Only a core's own loss of a core can make a partition: replicants make no partition
      // decisions, and a replicant's silence is not a partition of the cluster.
      this.n.partitions.wentDown(node, record.boot, !!record.orderly, record.by === this.n.name && this.n.role === 'core' && !this.n.isReplicant(node));
      const why = reason ?? (record.orderly ? `it stopped (seen by ${record.by ?? 'a member'})` : `lost by ${record.by ?? 'a member'}`);
      this.nodeLog.flush();
      this.n.log.warn({ peer: node, reason: why, by: record.by }, `${node} is stopped: ${why}`);
      this.n.stats.event('stopped', node, why);
      return false;
    }
    if (wasUp) return false;
    this.n.partitions.cameBack(node, record.boot);
    this.n.stats.event('running', node);
    return true;
  }
}
